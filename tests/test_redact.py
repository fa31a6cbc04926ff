"""Credentials never survive into any text we write (issue 10 item 5): logs, results, failure report.

The realistic case is AWS refusing a signature: its message quotes the canonical request it expected,
``x-amz-security-token`` line included, and session tokens are hundreds of characters long.
"""

from __future__ import annotations

import io
import json
import logging
import string
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchproxy.errors import CallFailed
from batchproxy.journal import Journal, OpenMode
from batchproxy.logs import REDACTED, Redact, RedactingFormatter, configure, get_logger, register_secret
from batchproxy.redact import MIN_SECRET_LENGTH, forget_secrets, redact_secrets, registered_count
from batchproxy.rows import FailureKind, Outcome, Status
from tests.test_journal import HEADER, make_row, record

# Shaped like an STS session token: a known prefix, then ~400 base64 characters.
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEHYaCXVzLWVhc3QtMSJHMEUCIQD" + ("k3Zq9/Lm+Xw2Rt7YbVn0PsA1" * 16) + "=="
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"


def signature_refusal(token: str = SESSION_TOKEN) -> str:
    """The message AWS sends with InvalidSignatureException, canonical request and all."""
    return (
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method. Consult the service documentation for details.\n\n"
        "The Canonical String for this request should have been\n'PUT\n"
        "/voice-connectors/abcdef1ghij2klmnop3qrs/programmable-numbers/proxy\n\n"
        "content-type:application/json\nhost:voice-chime.us-east-1.amazonaws.com\n"
        f"x-amz-date:20261127T120000Z\nx-amz-security-token:{token}\n\n"
        "content-type;host;x-amz-date;x-amz-security-token\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n\n"
        "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261127T120000Z\n"
        "20261127/us-east-1/chime/aws4_request\n7d2f3c0b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060f5e'\n"
    )


def leaked_fragments(secret: str, text: str, width: int = 12) -> list[str]:
    """Every ``width``-character piece of ``secret`` that ``text`` still contains."""
    return [secret[i : i + width] for i in range(len(secret) - width + 1) if secret[i : i + width] in text]


@pytest.fixture(autouse=True)
def no_registered_secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


# --- the function ---------------------------------------------------------------------------------


def test_a_refused_signature_loses_its_session_token_by_context() -> None:
    """No secret registered: the ``x-amz-security-token:`` line alone is enough to remove the token."""
    cleaned = redact_secrets(signature_refusal())
    assert leaked_fragments(SESSION_TOKEN, cleaned) == []
    assert f"x-amz-security-token:{REDACTED}" in cleaned
    assert "does not match the signature you provided" in cleaned  # the explanation stays readable


@pytest.mark.parametrize(
    "template",
    [
        "X-Amz-Security-Token={}&X-Amz-Date=20261127T120000Z",
        "x-amz-security-token: {}",
        '{{"SessionToken": "{}"}}',
        "aws_session_token = {}",
        "<SessionToken>{}</SessionToken>",
        "session_token='{}'",
    ],
)
def test_a_short_token_is_removed_by_its_name_whatever_the_syntax(template: str) -> None:
    """Context, not length: a token of 24 characters right after its name is removed too."""
    token = "AQoDYXdzEJr1K2short0tok"
    assert token not in redact_secrets(template.format(token))


def test_an_authorization_header_loses_every_secret_it_carries() -> None:
    header = (
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/chime/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={SIGNATURE}"
    )
    cleaned = redact_secrets(header)
    assert SIGNATURE not in cleaned
    assert "AKIDEXAMPLE" not in cleaned
    assert cleaned.startswith("Authorization: ")


def test_signature_and_credential_parameters_are_removed_in_free_text() -> None:
    text = f"presigned ...&X-Amz-Credential=AKIDEXAMPLE%2F20261127&X-Amz-Signature={SIGNATURE}&x=1"
    cleaned = redact_secrets(text)
    assert SIGNATURE not in cleaned
    assert "AKIDEXAMPLE" not in cleaned
    assert cleaned.endswith("&x=1")


def test_secret_keys_and_long_tokens_are_removed_by_shape() -> None:
    """Standalone: a 40-character secret key, any 100+ base64 run, a token's known prefix."""
    text = f"key {SECRET_KEY} then {SESSION_TOKEN[20:]} and FwoGZXIvYXdzEabc123"
    cleaned = redact_secrets(text)
    assert SECRET_KEY not in cleaned
    assert leaked_fragments(SESSION_TOKEN[20:], cleaned) == []
    assert "FwoGZXIvYXdzE" not in cleaned


def test_ordinary_text_survives() -> None:
    """Paths, ids, request ids and words of 40 letters are not secrets: messages stay useful."""
    text = (
        "row 3, column VoiceConnectorId: not found (/work/data/inputs/connectorsbatchnumberone/in.csv) "
        "request 1f2e3d4c-0000-4abc-8def-0123456789ab; abcdefghijklmnopqrstuvwxyzabcdefghijklmn; "
        "Check your AWS Secret Access Key and signing method. +12065550100"
    )
    assert redact_secrets(text) == text


def test_registered_secrets_are_removed_anywhere_and_percent_encoded() -> None:
    """The run knows its credentials: those exact strings go, whatever surrounds them."""
    secret = "plain-looking secret/with+odd=chars"
    register_secret(secret)
    text = f"a{secret}b and url {quote(secret, safe='')} end"
    cleaned = redact_secrets(text)
    assert secret not in cleaned
    assert quote(secret, safe="") not in cleaned
    assert cleaned.startswith("a[redacted]b")


def test_too_short_or_empty_values_are_not_registered() -> None:
    for value in (None, "", "x" * (MIN_SECRET_LENGTH - 1)):
        register_secret(value)
    assert registered_count() == 0
    assert redact_secrets("xxxxxxx") == "xxxxxxx"


# Enough registered secrets that lookup switches from one regex to the dict scan (hundreds of roles).
FILLER_SECRETS = tuple(f"filler-{n:04d}-secret-of-another-account" for n in range(40))
_SECRET_ALPHABET = string.ascii_letters + string.digits + "/+=-_.~%:@!"


@settings(max_examples=300, deadline=None)
@given(
    secrets=st.lists(
        st.text(_SECRET_ALPHABET, min_size=MIN_SECRET_LENGTH, max_size=600), min_size=1, max_size=4
    ),
    pieces=st.lists(st.text(max_size=80), min_size=1, max_size=6),
    encode=st.booleans(),
    many=st.booleans(),
)
def test_registered_secrets_of_any_length_never_survive(
    secrets: list[str], pieces: list[str], encode: bool, many: bool
) -> None:
    """Property: however long the secrets and whatever text surrounds them, none survives redaction."""
    forget_secrets()
    for filler in FILLER_SECRETS if many else ():  # many: the dict scan instead of the regex
        register_secret(filler)
    for secret in secrets:
        register_secret(secret)
    forms = [quote(s, safe="") if encode else s for s in secrets]
    text = "".join(piece + forms[i % len(forms)] for i, piece in enumerate(pieces))
    cleaned = redact_secrets(text)
    for secret in secrets:
        assert secret not in cleaned


@settings(max_examples=200, deadline=None)
@given(
    token=st.text(string.ascii_letters + string.digits + "/+", min_size=1, max_size=900),
    before=st.text(max_size=60),
    after=st.text(string.whitespace + "&,;'\"", min_size=1, max_size=3).map(lambda s: s + "tail"),
)
def test_unregistered_tokens_of_any_length_are_removed_by_context(
    token: str, before: str, after: str
) -> None:
    """Property: a token after ``x-amz-security-token:`` goes whatever its length; nothing registered."""
    cleaned = redact_secrets(f"{before}\nx-amz-security-token:{token}{after}")
    assert cleaned.endswith(f"\nx-amz-security-token:{REDACTED}{after}")


# --- where it is applied --------------------------------------------------------------------------


def test_call_failed_redacts_the_service_message_where_it_enters() -> None:
    failure = CallFailed(FailureKind.PERMANENT, "InvalidSignatureException", signature_refusal(), 403)
    assert leaked_fragments(SESSION_TOKEN, failure.message) == []
    assert leaked_fragments(SESSION_TOKEN, str(failure)) == []


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_logs_in_both_formats_carry_no_part_of_the_token(fmt: str) -> None:
    """Through the processor chain the CLI configures; also nested, in a list, and as an exception."""
    stream = io.StringIO()
    configure(fmt, stream=stream)  # type: ignore[arg-type]
    register_secret(SECRET_KEY)
    log = get_logger("test")
    log.warning("row failed", row=1, error_message=signature_refusal(), detail={"why": [signature_refusal()]})
    log.warning("call failed", error=ValueError(f"secret {SECRET_KEY} in an exception"))
    try:
        raise RuntimeError(signature_refusal())
    except RuntimeError:
        log.exception("crashed")
    output = stream.getvalue()
    assert "row failed" in output
    assert "crashed" in output
    assert leaked_fragments(SESSION_TOKEN, output) == []
    assert leaked_fragments(SECRET_KEY, output) == []
    if fmt == "json":
        assert all(json.loads(line) for line in output.splitlines())


def test_stdlib_records_from_botocore_are_redacted_too() -> None:
    formatter = RedactingFormatter("%(message)s")
    record = logging.LogRecord(
        "botocore", logging.WARNING, __file__, 1, "body: %s", (signature_refusal(),), None
    )
    assert leaked_fragments(SESSION_TOKEN, formatter.format(record)) == []


def test_redact_processor_still_blanks_phone_numbers_in_logs() -> None:
    event = Redact()(None, "info", {"error": "bad FallBackPhoneNumber +12065550100"})
    assert "2065550100" not in event["error"]


def test_results_file_and_failure_report_carry_no_part_of_the_token(tmp_path: Path) -> None:
    """The journal writes the service's message redacted; the failure report copies that."""
    results, report = tmp_path / "in.results.csv", tmp_path / "in.failed.csv"
    refused = Outcome(
        status=Status.FAILED,
        attempts=1,
        http_status=403,
        error_code="InvalidSignatureException",
        error_message=signature_refusal(),
        failure_kind=FailureKind.PERMANENT,
    )
    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        record(journal, make_row(1), refused)
        journal.finalize(range(1, 2))
        assert journal.write_failure_report(report) == 1
    for written in (results, report):
        text = written.read_text(encoding="utf-8")
        assert "InvalidSignatureException" in text
        assert "x-amz-security-token:" in text
        assert leaked_fragments(SESSION_TOKEN, text) == []
