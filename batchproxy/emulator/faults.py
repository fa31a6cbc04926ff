"""The dials: a per-region token bucket, seeded fault dice and seeded latency.

Everything random draws from ``random.Random`` instances seeded from the configured seed, one per
purpose, so that the same seed and the same request sequence give the same statuses whatever the
latency dial is set to. The clock is a parameter so the bucket's arithmetic is testable without
sleeping.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping

from batchproxy.emulator.config import FAULT_KINDS, check_faults, check_rate

__all__ = ["FaultDice", "Latency", "Throttle", "TokenBucket"]

Clock = Callable[[], float]


class TokenBucket:
    """``rate`` tokens per second up to ``capacity``; a request takes one or is throttled."""

    __slots__ = ("_tokens", "_updated", "capacity", "rate")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        # Start full: a fresh emulator accepts one burst at once, as a rested AWS account would.
        self._tokens = capacity
        self._updated = now

    def take(self, now: float) -> float:
        """0.0 when a token was taken; otherwise the seconds until one will be available."""
        self._refill(now)
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    def retune(self, rate: float, capacity: float, now: float) -> None:
        """Change the dials keeping the tokens already earned (capped to the new capacity)."""
        self._refill(now)
        self.rate, self.capacity = rate, capacity
        self._tokens = min(self._tokens, capacity)

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now


class Throttle:
    """One bucket per (account, region), as AWS limits each account in each region separately.

    A region's rate is its override if it has one, else the default rate.

    The default rate follows ``schedule`` (``(seconds since start, rate)`` steps) until someone sets
    it explicitly with ``set_rate``; from then on the explicit value holds.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int | None,
        region_rates: Mapping[str, float],
        schedule: tuple[tuple[float, float], ...] = (),
        clock: Clock = time.monotonic,
    ) -> None:
        self._clock = clock
        self._started = clock()
        self._default = rate
        self._burst = burst
        self._overrides = dict(region_rates)
        self._schedule = list(schedule)
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def set_rate(self, rate: float, *, region: str | None = None, burst: int | None = None) -> None:
        """Change the default rate (``region=None``) or one region's; ``burst`` changes every bucket's."""
        check_rate(rate)
        if burst is not None:
            self._burst = burst
        if region is None:
            self._default = rate
            self._schedule.clear()
        else:
            self._overrides[region] = rate
        self._retune(self._clock())

    def rate_for(self, region: str) -> float:
        override = self._overrides.get(region)
        return self._default if override is None else override

    def take(self, region: str, account: str = "") -> float:
        """0.0 when the request may proceed; otherwise the seconds until the bucket has a token."""
        now = self._clock()
        self._follow_schedule(now)
        rate = self.rate_for(region)
        if rate == 0:
            return 0.0
        bucket = self._buckets.get((account, region))
        if bucket is None:
            bucket = self._buckets[(account, region)] = TokenBucket(rate, self._capacity(rate), now)
        return bucket.take(now)

    def describe(self) -> dict[str, object]:
        return {"rate": self._default, "burst": self._burst, "region_rates": dict(self._overrides)}

    def _capacity(self, rate: float) -> float:
        # Without an explicit burst the bucket holds one second's worth, at least one request.
        return float(self._burst) if self._burst is not None else max(1.0, rate)

    def _follow_schedule(self, now: float) -> None:
        # Steps are few and sorted; popping the due ones keeps this O(1) per request.
        changed = False
        while self._schedule and now - self._started >= self._schedule[0][0]:
            self._default = self._schedule.pop(0)[1]
            changed = True
        if changed:
            self._retune(now)

    def _retune(self, now: float) -> None:
        for (_, region), bucket in self._buckets.items():
            rate = self.rate_for(region)
            bucket.retune(rate, self._capacity(rate), now)


class FaultDice:
    """One draw per request decides whether it fails and how (a ``FAULT_KINDS`` entry) or not (None)."""

    def __init__(self, faults: Mapping[str, float], seed: int | None) -> None:
        self._random = random.Random(f"{seed}-faults") if seed is not None else random.Random()
        self.set(faults)

    def set(self, faults: Mapping[str, float]) -> None:
        check_faults(faults)
        self.faults = dict(faults)
        # Cumulative thresholds in the fixed FAULT_KINDS order, so one seed means one outcome sequence.
        self._thresholds: list[tuple[float, str]] = []
        total = 0.0
        for kind in FAULT_KINDS:
            if self.faults.get(kind, 0) > 0:
                total += self.faults[kind]
                self._thresholds.append((total, kind))

    def roll(self) -> str | None:
        if not self._thresholds:
            return None
        draw = self._random.random()
        for threshold, kind in self._thresholds:
            if draw < threshold:
                return kind
        return None


class Latency:
    """A delay per request: uniform between half and one and a half times the mean (mean preserved)."""

    def __init__(self, mean: float, seed: int | None) -> None:
        self._random = random.Random(f"{seed}-latency") if seed is not None else random.Random()
        self.mean = mean

    def next(self) -> float:
        if self.mean <= 0:
            return 0.0
        return self.mean * (0.5 + self._random.random())


def retry_after_header(seconds: int | None, wait: float) -> dict[str, str]:
    """The ``Retry-After`` header when configured: the fixed value, or the bucket's wait if 0 was given."""
    if seconds is None:
        return {}
    value = seconds if seconds > 0 else max(1, math.ceil(wait))
    return {"Retry-After": str(value)}
