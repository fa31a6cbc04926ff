"""Library errors become our classification at one boundary, over real botocore error objects."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import aioboto3
import aiohttp
import aiohttp.client_reqrep
import botocore.exceptions
import pytest
from aiobotocore.config import AioConfig

from batchproxy.errors import CallFailed, translate, unexpected
from batchproxy.rows import FailureKind
from tests.loopback import listening


def _client_error(status: int, code: str, headers: dict[str, str] | None = None) -> Exception:
    response = {
        "Error": {"Code": code, "Message": f"{code} says no"},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "req-1", "HTTPHeaders": headers or {}},
    }
    error: Exception = botocore.exceptions.ClientError(response, "PutVoiceConnectorProxy")
    return error


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "ThrottledClientException", FailureKind.THROTTLED),
        (503, "ServiceUnavailableException", FailureKind.TRANSIENT),
        (500, "ServiceFailureException", FailureKind.TRANSIENT),
        (502, "HTTP502", FailureKind.TRANSIENT),
        (504, "HTTP504", FailureKind.TRANSIENT),
        (400, "BadRequestException", FailureKind.PERMANENT),
        (401, "UnauthorizedClientException", FailureKind.PERMANENT),
        (403, "AccessDeniedException", FailureKind.PERMANENT),
        (404, "NotFoundException", FailureKind.PERMANENT),
    ],
)
def test_http_statuses_map_to_the_contract_classification(status: int, code: str, kind: FailureKind) -> None:
    """429 throttles, 5xx are transient, other 4xx are permanent (docs/reference.md §4); code and id are
    kept."""
    failure = translate(_client_error(status, code))
    assert failure is not None
    assert (failure.kind, failure.code, failure.http_status, failure.request_id) == (
        kind,
        code,
        status,
        "req-1",
    )
    assert failure.is_auth == (status in (401, 403))


def test_retry_after_headers_are_read_in_their_units() -> None:
    """``x-amz-retry-after`` is milliseconds and wins; ``Retry-After`` is seconds; dates are ignored."""
    both = translate(_client_error(429, "T", {"x-amz-retry-after": "1500", "Retry-After": "9"}))
    seconds = translate(_client_error(429, "T", {"Retry-After": "2"}))
    dated = translate(_client_error(429, "T", {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}))
    assert both is not None
    assert both.retry_after == 1.5
    assert seconds is not None
    assert seconds.retry_after == 2.0
    assert dated is not None
    assert dated.retry_after is None


def test_connection_failures_before_sending_are_transient() -> None:
    """A refused connection never reached AWS: safe to retry, and known not to be applied."""
    failure = translate(botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert failure is not None
    assert failure.kind is FailureKind.TRANSIENT


def test_failures_after_sending_are_unknown_outcomes() -> None:
    """A read timeout or reset may have been applied: the outcome is unknown (resume sends it again)."""
    for exc in (
        botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
        aiohttp.ServerDisconnectedError(),
        TimeoutError(),
    ):
        failure = translate(exc)
        assert failure is not None
        assert failure.kind is FailureKind.UNKNOWN_OUTCOME


def test_other_exceptions_are_not_ours_to_classify() -> None:
    """A bug (KeyError) must surface, not be retried as if the network had failed."""
    assert translate(KeyError("x")) is None
    own = CallFailed(kind=FailureKind.PERMANENT, code="ReadBackMismatch", message="m")
    assert translate(own) is own


# -- the endpoint cannot be reached: real aioboto3 calls against real sockets on 127.0.0.1 ------------


async def _failure_of_a_real_call(url: str) -> CallFailed:
    """What one real aioboto3 request to ``url`` fails with, through our one boundary."""
    session = aioboto3.Session(aws_access_key_id="AKIDTEST", aws_secret_access_key="s")
    config = AioConfig(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=2)
    async with session.client(
        "chime-sdk-voice", region_name="us-east-1", endpoint_url=url, config=config
    ) as client:
        try:
            await client.get_voice_connector(VoiceConnectorId="abc")
        except Exception as exc:  # whatever the SDK raises is exactly what is under test
            raised: Exception = exc
        else:
            raise AssertionError("the call was expected to fail")
    failure = translate(raised)
    assert failure is not None, f"unclassified: {raised!r}"
    return failure


async def test_a_certificate_the_client_does_not_trust_is_permanent(self_signed: ssl.SSLContext) -> None:
    """Retrying cannot fix a certificate: the failure says so, and marks the endpoint unreachable."""

    def handshake(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self_signed.wrap_socket(conn, server_side=True).close()

    with listening(handshake) as port:
        failure = await _failure_of_a_real_call(f"https://127.0.0.1:{port}")
    assert (failure.kind, failure.code, failure.unreachable) == (
        FailureKind.PERMANENT,
        "TlsCertificateRejected",
        True,
    )
    assert "self-signed" in failure.message


async def test_https_to_a_plain_http_port_says_what_is_wrong() -> None:
    """The classic mix-up gets a permanent failure whose message names the likely fix."""

    def plain_http(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with listening(plain_http) as port:
        failure = await _failure_of_a_real_call(f"https://127.0.0.1:{port}")
    assert (failure.kind, failure.code, failure.unreachable) == (
        FailureKind.PERMANENT,
        "TlsHandshakeFailed",
        True,
    )
    assert "plain HTTP" in failure.message


async def test_a_refused_connection_is_transient_and_unreachable() -> None:
    """Nothing listens: retried (a restarting endpoint comes back), but counted against the endpoint."""
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    failure = await _failure_of_a_real_call(f"http://127.0.0.1:{port}")
    assert (failure.kind, failure.code, failure.unreachable) == (
        FailureKind.TRANSIENT,
        "ConnectionRefused",
        True,
    )


_DNS_PROBE = """
import asyncio, json, sys
sys.path[:0] = [sys.argv[1]]
from tests.test_errors import _failure_of_a_real_call
failure = asyncio.run(_failure_of_a_real_call("https://chime.batchproxy-test.invalid"))
print(json.dumps([failure.kind.value, failure.code, failure.message, failure.unreachable]))
"""


def test_a_name_that_does_not_resolve_names_the_host_and_the_cause() -> None:
    """Inside an empty network namespace (no lookup leaves the machine), DNS fails; we keep its reason."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", _DNS_PROBE, root],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 and "Operation not permitted" in done.stderr:
        pytest.skip("this machine does not allow network namespaces")
    assert done.returncode == 0, done.stderr
    kind, code, message, unreachable = json.loads(done.stdout)
    assert (code, unreachable) == ("DnsLookupFailed", True)
    assert "chime.batchproxy-test.invalid" in message
    # No resolver is reachable in the namespace: "temporary", so retried within the budget.
    assert kind == FailureKind.TRANSIENT.value


def test_a_name_the_resolver_says_does_not_exist_is_permanent() -> None:
    """NXDOMAIN (EAI_NONAME) will not change on retry, unlike a resolver that did not answer."""
    key = aiohttp.client_reqrep.ConnectionKey("nowhere.invalid", 443, True, True, None, None, None, None)
    gone = aiohttp.ClientConnectorDNSError(
        key, socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    )
    wrapped = botocore.exceptions.EndpointConnectionError(endpoint_url="https://nowhere.invalid", error=gone)
    failure = translate(wrapped)
    assert failure is not None
    assert (failure.kind, failure.code, failure.unreachable) == (
        FailureKind.PERMANENT,
        "DnsLookupFailed",
        True,
    )
    assert "nowhere.invalid" in failure.message
    assert "Name or service not known" in failure.message


def test_other_sdk_errors_are_permanent_row_failures_not_crashes() -> None:
    """An SDK error we have no special rule for fails that row, with its class name as the code."""
    failure = translate(botocore.exceptions.ParamValidationError(report="Invalid length for parameter X"))
    assert failure is not None
    assert (failure.kind, failure.code) == (FailureKind.PERMANENT, "ParamValidationError")
    assert "Invalid length" in failure.message


def test_a_body_that_is_not_utf8_is_a_malformed_answer_of_unknown_outcome() -> None:
    """botocore decodes before it parses: a garbled 200 may follow an applied change, so it is retried."""
    garbled = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    failure = translate(garbled)
    assert failure is not None
    assert (failure.kind, failure.code) == (FailureKind.UNKNOWN_OUTCOME, "MalformedResponse")


def test_an_unclassified_sdk_error_becomes_a_named_permanent_row_failure() -> None:
    """Not a crash: the row fails, its message names the exception type."""
    failure = unexpected(KeyError("Proxy"))
    assert (failure.kind, failure.code) == (FailureKind.PERMANENT, "UnexpectedError")
    assert failure.message.startswith("KeyError: ")
