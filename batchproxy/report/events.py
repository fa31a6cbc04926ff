"""``--events PATH|-``: the run as newline-delimited JSON, one object per event (docs/reference.md §11).

A consumer tails the stream while the run goes on, so every event is one line written and flushed in a
single call. The sink has one method per event type and accepts only typed fields: there is no way to
hand it a free-form mapping, so a secret or a FallBackPhoneNumber cannot reach it by accident, and error
messages (which may quote the request) are left out — ``error_code`` says what went wrong.
``docs/events.schema.json`` is the contract for the lines; the tests validate every event against it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from batchproxy.errors import UsageError
from batchproxy.journal.files import PRIVATE_MODE, write_all
from batchproxy.report.domain import Domain, redact

__all__ = ["SCHEMA_VERSION", "EventSink", "iso_ms"]

SCHEMA_VERSION = 1
# A stop reason is ours (signal name, threshold hit…), but one may quote a service message: keep it short.
_REASON_LIMIT = 200


def iso_ms(epoch: float) -> str:
    """``2026-11-27T12:00:00.123Z`` from seconds since the epoch."""
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((epoch - whole) * 1000):03d}Z"


class EventSink:
    """Writes events to one file descriptor or stream; ``EventSink.null()`` writes nothing.

    Callers never check whether events were asked for: they always hold a sink.
    """

    def __init__(self, write: Callable[[bytes], None] | None, clock: Callable[[], float] = time.time) -> None:
        self._write = write
        self._clock = clock
        self._close: Callable[[], None] = lambda: None

    @classmethod
    def null(cls) -> EventSink:
        return cls(None)

    @classmethod
    def open(cls, target: str | None, *, overwrite: bool = False, append: bool = False) -> EventSink:
        """The sink for ``--events``: None → null, ``-`` → stdout, else a new 0600 file.

        An existing path is refused unless ``overwrite`` (replaced) or ``append`` (``--resume``: the
        same command run again goes on in the same file); a symlink is refused always (never followed).
        """
        if target is None:
            return cls.null()
        if target == "-":
            return cls(_stream_writer(sys.stdout.buffer))
        fd = _create(Path(target), overwrite=overwrite, append=append)
        sink = cls(lambda data: write_all(fd, data))
        sink._close = lambda: os.close(fd)
        return sink

    @property
    def enabled(self) -> bool:
        return self._write is not None

    def close(self) -> None:
        self._write = None
        self._close()

    def run_started(
        self,
        *,
        command: str,
        setting: str,
        input: str,
        total_rows: int,
        rate: float,
        concurrency: int,
        max_attempts: int,
    ) -> None:
        """The first event: what runs, on what, under which ceilings."""
        options = {"rate": rate, "concurrency": concurrency, "max_attempts": max_attempts}
        self._emit(
            "run_started", None, command=command, setting=setting, input=input, total_rows=total_rows,
            options=options,
        )  # fmt: skip

    def row_finished(
        self,
        *,
        row: int,
        status: str,
        attempts: int,
        http_status: int | None,
        error_code: str,
        duration_ms: int,
        domain: Domain,
    ) -> None:
        """A row reached its outcome (the line is in the results file, or about to be)."""
        self._emit(
            "row_finished", domain, row=row, status=status, attempts=attempts, http_status=http_status,
            error_code=error_code or None, duration_ms=duration_ms,
        )  # fmt: skip

    def throttled(self, *, domain: Domain, request_id: str) -> None:
        """One per 429 answer."""
        self._emit("throttled", domain, request_id=request_id or None)

    def rate_changed(self, *, domain: Domain, rate: float) -> None:
        """The domain's limiter now allows ``rate`` requests/s (0 = no ceiling)."""
        self._emit("rate_changed", domain, rate=round(rate, 3))

    def wave_finished(self, *, wave: int, counts: Mapping[str, int]) -> None:
        """Rollout wave ``wave`` (1-based) is done; ``counts`` per status so far."""
        self._emit("wave_finished", None, wave=wave, counts=dict(counts))

    def stopping(self, *, reason: str) -> None:
        """No new rows start from now on."""
        self._emit("stopping", None, reason=redact(reason)[:_REASON_LIMIT])

    def run_finished(self, *, counts: Mapping[str, int], exit_code: int) -> None:
        """The last event; the sink is closed after it."""
        self._emit("run_finished", None, counts=dict(counts), exit_code=exit_code)
        self.close()

    def _emit(self, kind: str, domain: Domain | None, **fields: Any) -> None:
        if self._write is None:
            return
        event: dict[str, Any] = {"v": SCHEMA_VERSION, "type": kind, "t": iso_ms(self._clock())}
        if domain is not None:
            event[domain.kind] = domain.name
            event["region"] = domain.region
        event.update(fields)
        self._write(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")


def _stream_writer(stream: BinaryIO) -> Callable[[bytes], None]:
    def write(data: bytes) -> None:
        stream.write(data)
        stream.flush()  # a consumer tails the stream: each event is visible when it happens

    return write


def _create(path: Path, *, overwrite: bool, append: bool = False) -> int:
    """Open ``path`` for the events, 0600 from the first byte, without following a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    if append:
        flags |= os.O_APPEND
    else:
        flags |= os.O_TRUNC if overwrite else os.O_EXCL
    try:
        fd = os.open(path, flags, PRIVATE_MODE)
    except FileExistsError:
        raise UsageError(f"events file {path} exists; move it away or pass --force") from None
    except OSError as exc:
        if path.is_symlink():
            raise UsageError(f"events file {path} is a symbolic link; refusing to follow it") from None
        raise UsageError(f"cannot write events file {path}: {exc.strerror}") from None
    os.fchmod(fd, PRIVATE_MODE)
    return fd
