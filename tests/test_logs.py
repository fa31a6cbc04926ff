"""Logging never carries a credential or a value the API model marks sensitive."""

from __future__ import annotations

import io
import json

from batchproxy.logs import REDACTED, Redact, configure, get_logger


def test_redact_blanks_sensitive_members_by_key_in_any_spelling() -> None:
    """FallBackPhoneNumber is blanked whether the event names it in API or snake_case spelling."""
    event = Redact()(None, "info", {"FallBackPhoneNumber": "+12065550100", "fall_back_phone_number": "+1"})
    assert event == {"FallBackPhoneNumber": REDACTED, "fall_back_phone_number": REDACTED}


def test_redact_reaches_into_nested_mappings() -> None:
    """A request dict logged whole is cleaned member by member; other members stay readable."""
    event = Redact()(
        None, "info", {"request": {"VoiceConnectorId": "vc1", "FallBackPhoneNumber": "+12065550100"}}
    )
    assert event["request"] == {"VoiceConnectorId": "vc1", "FallBackPhoneNumber": REDACTED}


def test_redact_blanks_credentials_and_signatures_in_free_text() -> None:
    """A secret key or SigV4 signature pasted into a message does not survive."""
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    event = Redact()(
        None,
        "warning",
        {
            "aws_secret_access_key": secret,
            "error": f"auth header Signature=0123456789abcdef0123456789abcdef secret {secret}",
        },
    )
    assert event["aws_secret_access_key"] == REDACTED
    assert secret not in event["error"]
    assert "0123456789abcdef0123456789abcdef" not in event["error"]
    assert "Signature=" in event["error"]


def test_configured_json_logging_applies_redaction() -> None:
    """The processor is in the chain the CLI configures: what reaches the stream is redacted JSON."""
    stream = io.StringIO()
    configure("json", stream=stream)
    get_logger("test").warning("row failed", row=3, FallBackPhoneNumber="+12065550100")
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["event"] == "row failed"
    assert line["row"] == 3
    assert line["FallBackPhoneNumber"] == REDACTED
    assert "+12065550100" not in stream.getvalue()


def test_redact_blanks_phone_numbers_quoted_in_free_text() -> None:
    """A service message that echoes the fallback number loses it; short numbers and ids stay."""
    message = "Invalid FallBackPhoneNumber +12065550100 (also 12065550100) on row 17, request 1f2e-33"
    event = Redact()(None, "warning", {"error": message})
    assert "2065550100" not in event["error"]
    assert "row 17" in event["error"]
    assert "1f2e-33" in event["error"]
