"""What the emulator served, readable while it runs: the evidence benchmarks and tests rely on.

Every request ends with an *outcome*: its HTTP status as text (``"200"``, ``"429"``), or ``"reset"``
(connection dropped before the change was applied) or ``"lost"`` (applied, then dropped). Counts are
kept by (operation, outcome); each arrival is also kept, with its monotonic time, in a capped deque so
that a benchmark can compute the rate the emulator actually saw over any window.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

__all__ = ["Arrival", "Stats"]

RESET = "reset"
LOST = "lost"


@dataclass(frozen=True, slots=True)
class Arrival:
    """One request: when it arrived (``time.monotonic()``, comparable across processes on Linux)."""

    at: float
    operation: str
    outcome: str


class Stats:
    """Counters of one emulator. Only the event loop writes them, so they need no lock."""

    def __init__(self, *, capacity: int = 1_000_000) -> None:
        self.by_operation: Counter[tuple[str, str]] = Counter()
        self.accepted_writes: Counter[str] = Counter()
        # Which account each applied write reached, and STS AssumeRole calls by RoleArn: every request
        # naming the role, and those that were granted credentials.
        self.writes_by_account: Counter[str] = Counter()
        self.assume_role_requests: Counter[str] = Counter()
        self.assume_role_granted: Counter[str] = Counter()
        # A tuple per arrival is about 100 bytes; the cap bounds a long benchmark's memory.
        self._arrivals: deque[tuple[float, str, str]] = deque(maxlen=capacity)
        self.started_at = time.monotonic()
        # API requests being served now, and the most at once: a client's concurrency ceiling, as seen here.
        self.in_flight = 0
        self.peak_in_flight = 0

    def begin(self) -> None:
        """An API request arrived; ``end`` follows once it is answered or dropped."""
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def end(self) -> None:
        self.in_flight -= 1

    def record(self, arrived_at: float, operation: str, outcome: str) -> None:
        self.by_operation[(operation, outcome)] += 1
        self._arrivals.append((arrived_at, operation, outcome))

    def record_write(self, operation: str, account_id: str | None = None) -> None:
        """A change that was applied to the state (``lost`` ones included: they did apply)."""
        self.accepted_writes[operation] += 1
        if account_id is not None:
            self.writes_by_account[account_id] += 1

    def count(self, operation: str | None = None, outcome: str | int | None = None) -> int:
        """Requests served, optionally only one operation's and/or one outcome's."""
        wanted = None if outcome is None else str(outcome)
        return sum(
            n
            for (op, out), n in self.by_operation.items()
            if (operation is None or op == operation) and (wanted is None or out == wanted)
        )

    def arrivals(self, since: float | None = None) -> list[Arrival]:
        """Kept arrivals in order of completion, optionally only those that arrived at or after ``since``."""
        return [Arrival(*item) for item in self._arrivals if since is None or item[0] >= since]

    def reset(self) -> None:
        self.by_operation.clear()
        self.accepted_writes.clear()
        self.writes_by_account.clear()
        self.assume_role_requests.clear()
        self.assume_role_granted.clear()
        self._arrivals.clear()
        self.peak_in_flight = self.in_flight

    def to_json(self, *, with_arrivals: bool = False, since: float | None = None) -> dict[str, Any]:
        """The counters as ``GET /_emulator/stats`` serves them."""
        nested: dict[str, dict[str, int]] = {}
        for (operation, outcome), n in sorted(self.by_operation.items()):
            nested.setdefault(operation, {})[outcome] = n
        body: dict[str, Any] = {
            "started_at": self.started_at,
            "now": time.monotonic(),
            "total": sum(self.by_operation.values()),
            "by_operation": nested,
            "accepted_writes": dict(sorted(self.accepted_writes.items())),
            "writes_by_account": dict(sorted(self.writes_by_account.items())),
            "assume_role": {
                "requests": dict(sorted(self.assume_role_requests.items())),
                "granted": dict(sorted(self.assume_role_granted.items())),
            },
            "arrivals_kept": len(self._arrivals),
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
        }
        if with_arrivals:
            body["arrivals"] = [list(item) for item in self._arrivals if since is None or item[0] >= since]
        return body
