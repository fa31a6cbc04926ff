"""batchproxy's own errors, and the one place where botocore/aiohttp errors become ours.

    BatchproxyError
    ├── UsageError            bad options or arguments; nothing was sent (exit 2)
    │   └── InputError        the input file failed validation (exit 2)
    ├── CredentialsError      no credentials could be found; nothing was sent (exit 2)
    ├── CredentialsRefused    one domain's credentials cannot be had (AssumeRole refused): skip its rows
    ├── JournalWriteError     one of our files could not be written (disk full, file too large, EIO)
    └── CallFailed            one attempt of one API call failed; carries its FailureKind

The retry policy and the engine only ever see ``CallFailed`` and its ``kind``; ``translate`` is the
boundary where a library exception is classified, so no other module imports botocore's or aiohttp's
exception types.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import botocore.exceptions
import botocore.parsers

from batchproxy.redact import redact_secrets
from batchproxy.rows import FailureKind

__all__ = [
    "BatchproxyError",
    "CallFailed",
    "CredentialsError",
    "CredentialsRefused",
    "InputError",
    "JournalWriteError",
    "UsageError",
    "translate",
    "unexpected",
]


class BatchproxyError(Exception):
    """Base of every error batchproxy raises on purpose."""


class UsageError(BatchproxyError):
    """The command line or its files cannot be used as given."""


class InputError(UsageError):
    """The input file has invalid rows (the message says how many and where they are listed)."""


class CredentialsError(BatchproxyError):
    """No AWS credentials were found for a (profile, region) the input needs."""


class CredentialsRefused(BatchproxyError):
    """A domain's credentials cannot be had (STS refused the role): its rows are skipped, the run goes
    on. ``code`` is the service's (``AccessDenied``), ``reason`` the sentence the results file and the
    summary show."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class JournalWriteError(BatchproxyError):
    """Writing one of our files failed: the results journal, a report, a side file.

    Raised by ``journal.files`` (the one place where OS errors on our files are translated), so that a
    full disk or a lowered file-size limit stops the run with a message naming the file and the reason
    instead of a traceback. What was recorded before the failure is intact (the journal is cut back to
    its last complete line), so the run is resumable once the cause is gone.
    """

    def __init__(self, path: Path, doing: str, cause: OSError) -> None:
        self.path = path
        self.errno = cause.errno
        self.reason = cause.strerror or str(cause)
        name = errno.errorcode.get(cause.errno or 0, "")
        super().__init__(
            f"cannot {doing} {path}: {self.reason}" + (f" ({name})" if name else "") + _hint(cause.errno)
        )


def _hint(number: int | None) -> str:
    """What to do, in a few words; ``--resume`` continues a run from what it recorded."""
    again = "run the same command again (a run continues with --resume)"
    if number in (errno.ENOSPC, errno.EDQUOT):
        return f"; free some space, then {again}"
    if number == errno.EFBIG:
        return f"; the file-size limit (ulimit -f) was reached: raise it, then {again}"
    if number in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "; make the location writable or choose another path"
    return f"; once the cause is fixed, {again}"


# Statuses that are retried although AWS does not model them as throttling (docs/reference.md §4).
_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
_AUTH_STATUSES = frozenset({401, 403})


@dataclass(eq=False)
class CallFailed(BatchproxyError):
    """One attempt failed. ``code`` is the AWS exception name or a local one (``ConnectTimeout``)."""

    kind: FailureKind
    code: str
    message: str
    http_status: int | None = None
    request_id: str = ""
    retry_after: float | None = None  # seconds, from Retry-After / x-amz-retry-after
    # The endpoint itself could not be reached (DNS, TLS, refused, connect timeout): nothing was sent,
    # and every row of the same endpoint is likely to fail alike (the engine's endpoint breaker).
    unreachable: bool = False

    def __post_init__(self) -> None:
        # The service's text may quote our credentials (a refused signature quotes the canonical
        # request, session token included): they are removed here, where the text enters.
        self.message = redact_secrets(self.message)
        super().__init__(f"{self.code}: {self.message}")

    @property
    def is_auth(self) -> bool:
        """401/403: the credentials or their permissions are wrong, for every row alike."""
        return self.http_status in _AUTH_STATUSES


def translate(exc: BaseException) -> CallFailed | None:
    """Classify a library exception from one attempt; None when it is not an API-call failure."""
    if isinstance(exc, CallFailed):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        return _from_client_error(exc)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return None  # not per-row: the CLI turns it into CredentialsError before anything is sent
    if isinstance(exc, UnicodeDecodeError):
        # botocore decodes a body as UTF-8 before parsing it: a garbled answer (a proxy's, a broken
        # front end's) raises here. It was answered, so the change may have been applied.
        return CallFailed(kind=FailureKind.UNKNOWN_OUTCOME, code="MalformedResponse", message=_describe(exc))
    return _from_transport_error(exc)


def unexpected(exc: Exception) -> CallFailed:
    """A failure of the SDK nobody classified: one row's failure with its type named, not a crash.

    Permanent, so it is not retried (the same request most likely fails the same way) and the row is
    recorded ``failed``, sent again by ``--resume --retry-failed``.
    """
    return CallFailed(
        kind=FailureKind.PERMANENT, code="UnexpectedError", message=f"{type(exc).__name__}: {_describe(exc)}"
    )


def _from_client_error(exc: botocore.exceptions.ClientError) -> CallFailed:
    response: dict[str, Any] = exc.response
    metadata = response.get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode")
    error = response.get("Error", {})
    return CallFailed(
        kind=_kind_for_status(status),
        code=str(error.get("Code") or f"HTTP{status}"),
        message=str(error.get("Message", "")),
        http_status=status,
        request_id=str(metadata.get("RequestId", "")),
        retry_after=_retry_after(metadata.get("HTTPHeaders", {})),
    )


def _kind_for_status(status: int | None) -> FailureKind:
    if status == 429:
        return FailureKind.THROTTLED
    if status in _TRANSIENT_STATUSES:
        return FailureKind.TRANSIENT
    return FailureKind.PERMANENT


def _retry_after(headers: dict[str, str]) -> float | None:
    """Seconds to wait, from ``x-amz-retry-after`` (milliseconds) or ``Retry-After`` (seconds)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("x-amz-retry-after", 0.001), ("retry-after", 1.0)):
        raw = lowered.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw) * scale
        except ValueError:
            continue  # an HTTP-date Retry-After: rare from AWS; our own backoff still applies
        if seconds >= 0:
            return seconds
    return None


# Errors raised before the request could have reached the service: safe to retry, known not applied.
_NOT_SENT = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    aiohttp.ClientConnectorError,
)
# Errors after the request may have arrived: the put may or may not have been applied.
_MAYBE_SENT = (
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.HTTPClientError,
    botocore.parsers.ResponseParserError,
    aiohttp.ClientError,
    TimeoutError,
    OSError,
)
# getaddrinfo's answers that mean "this name does not exist", as opposed to "the resolver did not
# answer" (EAI_AGAIN), which can clear up by itself and is retried like any connection error.
_NO_SUCH_NAME = frozenset(
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code
)


def _from_transport_error(exc: BaseException) -> CallFailed | None:
    if (refused := _from_connect_error(_connect_cause(exc))) is not None:
        return refused
    if (dropped := _dropped_after_connecting(exc)) is not None:
        return CallFailed(
            kind=FailureKind.UNKNOWN_OUTCOME, code="ConnectionReset", message=_describe(dropped)
        )
    if isinstance(exc, _NOT_SENT):
        code = "ConnectTimeout" if "timeout" in type(exc).__name__.lower() else "ConnectionError"
        return CallFailed(kind=FailureKind.TRANSIENT, code=code, message=_describe(exc), unreachable=True)
    if isinstance(exc, _MAYBE_SENT):
        code = "ReadTimeout" if "timeout" in type(exc).__name__.lower() else "ConnectionReset"
        return CallFailed(kind=FailureKind.UNKNOWN_OUTCOME, code=code, message=_describe(exc))
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        # Raised by the SDK before sending (e.g. a parameter it refuses): the same request fails the
        # same way again, and it is one row's problem, not a reason to crash the run.
        return CallFailed(kind=FailureKind.PERMANENT, code=type(exc).__name__, message=_describe(exc))
    return None


def _connect_cause(exc: BaseException) -> BaseException:
    """The aiohttp connector error behind botocore's wrapper (``EndpointConnectionError``, ``SSLError``)."""
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        cause = getattr(exc, "kwargs", {}).get("error")
        if isinstance(cause, BaseException):
            return cause
    return exc


def _from_connect_error(cause: BaseException) -> CallFailed | None:
    """DNS, TLS and refused connections: the endpoint cannot be reached from here (``unreachable``).

    A name that does not exist and a TLS failure are permanent: every request to that endpoint fails
    the same way until someone changes the endpoint, the certificate or the trust store.
    """
    if isinstance(cause, aiohttp.ClientConnectorDNSError):
        error = cause.os_error
        gone = isinstance(error, socket.gaierror) and error.errno in _NO_SUCH_NAME
        return _unreachable(
            FailureKind.PERMANENT if gone else FailureKind.TRANSIENT,
            "DnsLookupFailed",
            f"cannot resolve {cause.host}: {error.strerror or error}",
        )
    if isinstance(cause, aiohttp.ClientConnectorCertificateError):
        return _unreachable(
            FailureKind.PERMANENT,
            "TlsCertificateRejected",
            f"the TLS certificate of {cause.host}:{cause.port} was rejected: {cause.certificate_error}",
        )
    if isinstance(cause, aiohttp.ClientConnectorSSLError):
        hint = _tls_hint(cause)
        return _unreachable(
            FailureKind.PERMANENT,
            "TlsHandshakeFailed",
            f"TLS handshake with {cause.host}:{cause.port} failed: {cause.os_error}{hint}",
        )
    if isinstance(cause, aiohttp.ClientConnectorError) and isinstance(cause.os_error, ConnectionRefusedError):
        return _unreachable(
            FailureKind.TRANSIENT, "ConnectionRefused", f"{cause.host}:{cause.port} refused the connection"
        )
    return None


def _tls_hint(cause: aiohttp.ClientConnectorSSLError) -> str:
    if "WRONG_VERSION_NUMBER" in str(cause.os_error):
        return " (the endpoint speaks plain HTTP: use an http:// URL, or the right port)"
    return ""


def _unreachable(kind: FailureKind, code: str, message: str) -> CallFailed:
    return CallFailed(kind=kind, code=code, message=message[:300], unreachable=True)


def _dropped_after_connecting(exc: BaseException) -> BaseException | None:
    """The aiohttp error inside an ``EndpointConnectionError`` that came after the connection was up.

    aiobotocore wraps every aiohttp connection error in ``EndpointConnectionError``, also a reset of a
    connection that had already carried the request; only ``ClientConnectorError`` (the connection
    never opened) means the request was not sent.
    """
    if not isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return None
    cause = getattr(exc, "kwargs", {}).get("error")
    if isinstance(cause, aiohttp.ClientOSError) and not isinstance(cause, aiohttp.ClientConnectorError):
        return cause
    return None


def _describe(exc: BaseException) -> str:
    # One line, whole: a multi-line SDK message keeps its detail (the first line alone often says only
    # "Parameter validation failed:"), and a results file wants one line per cell.
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
