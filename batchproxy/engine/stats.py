"""Live counters of a run: what the progress display shows and the summary reports.

One ``RunStats`` per run, mutated only from the event loop thread, read by the progress display. Each
(profile, region) has its ``DomainStats`` inside it, which that domain's ``RateDomain`` keeps up to date.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from batchproxy.principal import Domain
from batchproxy.rows import Outcome, Status

__all__ = ["Domain", "DomainStats", "RunStats"]


@dataclass(slots=True)
class DomainStats:
    """One (profile, region)'s counters: rows by status, requests, throttles, first and last times."""

    rows: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    throttles: int = 0
    first_sent: float | None = None
    last_done: float | None = None

    @property
    def elapsed(self) -> float:
        if self.first_sent is None or self.last_done is None:
            return 0.0
        return max(self.last_done - self.first_sent, 0.0)


@dataclass(slots=True)
class RunStats:
    total: int = 0  # rows this run will account for (sent, skipped or invalid)
    already_done: int = 0  # rows a resumed run found final in the journal
    statuses: Counter[Status] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    retries: int = 0
    throttles: int = 0
    in_flight: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    domains: dict[Domain, DomainStats] = field(default_factory=dict)
    # Principals whose credentials were refused (an AssumeRole, or the auth breaker): who -> why.
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(self.statuses.values())

    @property
    def elapsed(self) -> float:
        end = self.finished if self.finished is not None else time.monotonic()
        return end - self.started

    @property
    def request_rate(self) -> float:
        """Requests per second over the run so far, retries included."""
        return self.attempts / self.elapsed if self.elapsed > 0 else 0.0

    def domain(self, key: Domain) -> DomainStats:
        stats = self.domains.get(key)
        if stats is None:
            stats = self.domains[key] = DomainStats()
        return stats

    def on_attempt(self, key: Domain) -> None:
        self.attempts += 1
        stats = self.domain(key)
        stats.attempts += 1
        if stats.first_sent is None:
            stats.first_sent = time.monotonic()

    def on_throttle(self, key: Domain) -> None:
        self.throttles += 1
        self.domain(key).throttles += 1

    def on_outcome(self, key: Domain | None, outcome: Outcome) -> None:
        """Count ``outcome``; ``key`` is None for a row with no domain (an invalid row)."""
        self.statuses[outcome.status] += 1
        if outcome.error_code and outcome.status is not Status.OK:
            self.error_codes[outcome.error_code] += 1
        if key is None:
            return
        stats = self.domain(key)
        stats.rows[outcome.status] += 1
        if outcome.attempts:
            stats.last_done = time.monotonic()
