"""The outcome a row ends with, built from what its ``RowCaller`` saw on the wire."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from batchproxy.engine.caller import RowCaller
from batchproxy.errors import CallFailed
from batchproxy.rows import FailureKind, Outcome, Status

__all__ = ["failed", "ok", "skipped"]


def _now() -> datetime:
    return datetime.now(UTC)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def ok(extra: dict[str, str], caller: RowCaller, started: float) -> Outcome:
    return Outcome(
        status=Status.OK,
        attempts=caller.attempts,
        http_status=caller.http_status,
        request_id=caller.request_id,
        duration_ms=_elapsed_ms(started),
        finished_at=_now(),
        extra=extra,
    )


def failed(failure: CallFailed, caller: RowCaller, started: float) -> Outcome:
    return Outcome(
        status=Status.FAILED,
        attempts=caller.attempts,
        http_status=failure.http_status,
        error_code=failure.code,
        error_message=failure.message,
        failure_kind=failure.kind,
        request_id=failure.request_id or caller.request_id,
        duration_ms=_elapsed_ms(started),
        finished_at=_now(),
    )


def skipped(
    reason: str,
    attempts: int,
    started: float | None = None,
    caller: RowCaller | None = None,
    kind: FailureKind | None = None,
    *,
    code: str | None = None,
) -> Outcome:
    """``code``: the error code to record (an AssumeRole refusal's); else Cancelled or NotAttempted."""
    return Outcome(
        status=Status.SKIPPED,
        attempts=attempts,
        http_status=caller.http_status if caller else None,
        error_code=code or ("Cancelled" if reason == "Cancelled" else "NotAttempted"),
        error_message=reason,
        failure_kind=kind,
        request_id=caller.request_id if caller else "",
        duration_ms=_elapsed_ms(started) if started is not None else 0,
        finished_at=_now(),
    )
