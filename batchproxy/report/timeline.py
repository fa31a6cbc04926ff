"""The run's timeline: per domain, per second, what was sent and how it was answered.

Kept beside the results file as ``<results>.timeline.jsonl`` so ``batchproxy report`` can draw the run
long after it ended. Its size follows the run's length and its domains, never its row count: one line
per active (domain, second) holding counters and the latency quantiles of that second, which come from
a small log-bucket histogram rather than from a list of every request. A second's line is appended when
the second closes, in one ``write``, so a killed run keeps all it had but the last second; a resumed run
appends a new ``segment`` record and goes on in the same file.

Lines (``"v": 1``):
- ``{"type": "segment", "t": epoch, "command": …, "resume": bool, "input": path}``
  — a run (or a resumed run) began;
- ``{"type": "domain", "id": n, "kind": "profile"|"account", "name": …, "region": …}`` — names an id,
  once per segment, before its first second;
- ``{"type": "second", "s": epoch second, "d": id, "n": attempts, "ok": accepted, "thr": 429s,
  "err": other failures, "rate": limiter rate at the end of the second or null, "p50": ms, "p95": ms}``;
- ``{"type": "end", "t": epoch, "exit_code": 0|1|2|130, "reason": … or null}`` — the segment's end.

The engine calls ``on_attempt``/``on_answer`` from its event loop for every request, so both are a
dictionary lookup and a few integer additions; ``flush`` (about once a second) closes elapsed seconds.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from batchproxy.errors import UsageError
from batchproxy.journal.files import open_private, write_all
from batchproxy.report.domain import Domain

__all__ = ["BUCKETS", "Timeline", "bucket_of", "bucket_value", "timeline_path"]

VERSION = 1
# Latency buckets: each power of two of milliseconds split in 4 (≤ 19% apart), 1 ms to ~65 s.
_SPLIT = 4
BUCKETS = 17 * _SPLIT


def timeline_path(results: Path) -> Path:
    return results.with_name(results.name + ".timeline.jsonl")


def bucket_of(ms: float) -> int:
    """The histogram bucket of a latency; ``frexp`` is far cheaper than a logarithm per request."""
    if ms < 1.0:
        return 0
    mantissa, exponent = math.frexp(ms)  # ms = mantissa * 2**exponent, mantissa in [0.5, 1)
    return min(exponent * _SPLIT - _SPLIT + int((mantissa - 0.5) * 2 * _SPLIT), BUCKETS - 1)


def bucket_value(index: int) -> float:
    """The middle of a bucket, in ms: what a quantile falling into it is reported as."""
    octave, step = divmod(index, _SPLIT)
    return 2.0**octave * (1 + (step + 0.5) / _SPLIT)


class _Second:
    """One domain's counters for the second being filled."""

    __slots__ = ("accepted", "attempts", "errors", "hist", "rate", "second", "throttled")

    def __init__(self, second: int, rate: float | None) -> None:
        self.second = second
        self.attempts = self.accepted = self.throttled = self.errors = 0
        self.hist: dict[int, int] = {}
        self.rate = rate


def _quantile(hist: dict[int, int], fraction: float) -> float | None:
    total = sum(hist.values())
    if not total:
        return None
    rank = math.ceil(total * fraction)
    seen = 0
    for index in sorted(hist):
        seen += hist[index]
        if seen >= rank:
            return round(bucket_value(index), 1)
    return None  # unreachable: the counts add up to total


class Timeline:
    """Collects per-second counters and appends them to the timeline file as seconds close."""

    def __init__(self, write: Callable[[bytes], None] | None, clock: Callable[[], float] = time.time) -> None:
        self._write = write
        self._clock = clock
        self._current: dict[Domain, _Second] = {}
        self._ids: dict[Domain, int] = {}
        self._rates: dict[Domain, float] = {}
        self._fd: int | None = None

    @classmethod
    def null(cls) -> Timeline:
        """A timeline that keeps nothing (plan, validate, tests of the engine)."""
        return cls(None)

    @classmethod
    def open(
        cls,
        results: Path,
        *,
        command: str,
        resume: bool,
        input: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Timeline:
        """Start a segment in ``<results>.timeline.jsonl``: appended on resume, else a new file.

        Never follows a symlink; the file is 0600 like the results file beside it.
        """
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if resume else os.O_TRUNC)
        path = timeline_path(results)
        try:
            fd = open_private(path, flags)
        except OSError as exc:  # ELOOP: a symlink planted where the timeline goes
            raise UsageError(f"cannot write the timeline {path}: {exc.strerror}") from None
        _end_torn_line(fd)
        timeline = cls(lambda data: write_all(fd, data), clock)
        timeline._fd = fd
        segment: dict[str, object] = {"type": "segment", "t": round(timeline._clock(), 3), "command": command}
        segment.update(resume=resume, input=None if input is None else str(input))
        timeline._line(segment)
        return timeline

    def on_attempt(self, domain: Domain, t: float) -> None:
        """A request goes on the wire at ``t`` (seconds since the epoch)."""
        current = self._current.get(domain)
        if current is None or current.second != int(t):
            current = self._roll(domain, int(t))
        current.attempts += 1

    def on_answer(self, domain: Domain, t: float, status: int | None, latency: float) -> None:
        """An attempt ended at ``t`` with HTTP ``status`` (None: no answer) after ``latency`` seconds."""
        current = self._current.get(domain)
        if current is None or current.second != int(t):
            current = self._roll(domain, int(t))
        if status == 200:
            current.accepted += 1
        elif status == 429:
            current.throttled += 1
        else:
            current.errors += 1
        if status is not None:
            index = bucket_of(latency * 1000.0)
            current.hist[index] = current.hist.get(index, 0) + 1

    def on_rate(self, domain: Domain, rate: float) -> None:
        """The domain's limiter allows ``rate`` requests/s now; the last value in a second is kept."""
        self._rates[domain] = rate
        current = self._current.get(domain)
        if current is not None:
            current.rate = rate

    def flush(self, now: float | None = None) -> None:
        """Write every second that has ended by ``now``; call about once a second."""
        second = int(self._clock() if now is None else now)
        for domain, current in list(self._current.items()):
            if current.second < second:
                self._close_second(domain, current)
                del self._current[domain]

    def close(self, *, exit_code: int, reason: str | None = None) -> None:
        """Write what is left and the segment's end record (exit code, why it stopped)."""
        for domain, current in self._current.items():
            self._close_second(domain, current)
        self._current.clear()
        self._line({"type": "end", "t": round(self._clock(), 3), "exit_code": exit_code, "reason": reason})
        self._write = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _roll(self, domain: Domain, second: int) -> _Second:
        previous = self._current.get(domain)
        if previous is not None:
            self._close_second(domain, previous)
        current = self._current[domain] = _Second(second, self._rates.get(domain))
        return current

    def _close_second(self, domain: Domain, current: _Second) -> None:
        ident = self._ids.get(domain)
        if ident is None:
            ident = self._ids[domain] = len(self._ids)
            kind, name, region = domain
            self._line({"type": "domain", "id": ident, "kind": kind, "name": name, "region": region})
        rate = None if current.rate is None else round(current.rate, 3)
        self._line(
            {
                "type": "second", "s": current.second, "d": ident, "n": current.attempts,
                "ok": current.accepted, "thr": current.throttled, "err": current.errors, "rate": rate,
                "p50": _quantile(current.hist, 0.50), "p95": _quantile(current.hist, 0.95),
            }
        )  # fmt: skip

    def _line(self, record: dict[str, object]) -> None:
        if self._write is not None:
            self._write(json.dumps({"v": VERSION, **record}, separators=(",", ":")).encode() + b"\n")


def _end_torn_line(fd: int) -> None:
    """After a kill mid-write the file may end inside a line: end it, so the reader skips only that line."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        write_all(fd, b"\n")
