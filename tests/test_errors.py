"""Library errors become our classification at one boundary, over real botocore error objects."""

from __future__ import annotations

import aiohttp
import botocore.exceptions
import pytest

from batchproxy.errors import CallFailed, translate
from batchproxy.rows import FailureKind


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
    """429 throttles, 5xx are transient, other 4xx are permanent (CONTRACT §4); code and id are kept."""
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
