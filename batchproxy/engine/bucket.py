"""A fair token bucket, and the clock it runs on.

``rate`` tokens per second, at most ``burst`` saved up. Waiters are served strictly in arrival order:
only the head of the queue sleeps on the clock, the rest wait on a fair lock, so a thousand workers
waiting for a slow region cost one timer, not a thousand wake-ups per token (no thundering herd).
``rate == 0`` means unlimited. ``set_rate`` takes effect at once, also for waiters already queued.

The clock is injected (``Clock``) so the bucket and the controller above it (``ratelimit``) are tested
in virtual time; ``REAL_CLOCK`` is anyio's.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol

import anyio

__all__ = ["MIN_WAIT", "REAL_CLOCK", "AnyioClock", "Clock", "TokenBucket", "check_rate_and_burst"]


# The shortest wait for a token, in seconds: well above the event loop's clock resolution (1 ns) and
# the float spacing of a monotonic clock that has run for years, far below any rate's interval.
MIN_WAIT = 1e-6


class Clock(Protocol):
    """Monotonic time in seconds and a way to wait for it."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class AnyioClock:
    """The event loop's clock, through anyio (so it works on asyncio and trio alike)."""

    def now(self) -> float:
        # On asyncio this is what anyio.current_time() ends in, without its per-call look-up of the
        # running library (a few calls per row add up). Anywhere else, trio's clock (or a test's
        # MockClock) through anyio.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return anyio.current_time()
        return loop.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


REAL_CLOCK: Clock = AnyioClock()


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved; ``acquire`` waits for one, in arrival order."""

    def __init__(self, rate: float, burst: float = 1.0, *, clock: Clock = REAL_CLOCK) -> None:
        check_rate_and_burst(rate, burst)
        self._rate = rate
        self._burst = burst
        self._clock = clock
        # Start full, as aiolimiter does: a rested client may send one burst at once.
        self._tokens = burst
        self._updated = clock.now()
        # anyio's Lock hands itself to waiters in arrival order: that queue *is* our FIFO.
        self._queue = anyio.Lock()
        # The head waiter's sleep, so that set_rate can interrupt it and make it recompute.
        self._head_sleep: anyio.CancelScope | None = None
        self.granted = 0
        self.waiting = 0

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> float:
        return self._burst

    async def acquire(self) -> float:
        """Wait for a token; return the clock time at which it was granted."""
        if self._rate == 0:
            # Unlimited: no queue, no accounting beyond the count.
            self.granted += 1
            return self._clock.now()
        self.waiting += 1
        try:
            async with self._queue:
                while not self._take():
                    await self._sleep_for_token()
        finally:
            self.waiting -= 1
        self.granted += 1
        return self._clock.now()

    def ready_in(self, ahead: int = 0) -> float:
        """Seconds until an ``acquire`` started now would be granted, behind the waiters already queued
        and ``ahead`` more requests known to be coming (rows backing off before a retry).

        The shared worker pool asks every domain this, to pick the one that can send soonest.
        """
        if self._rate == 0:
            return 0.0
        self._refill()
        missing = self.waiting + ahead + 1.0 - self._tokens
        return 0.0 if missing <= 1e-9 else missing / self._rate

    def set_rate(self, rate: float, burst: float | None = None) -> None:
        """Change the rate (and optionally the burst) now; the head waiter recomputes its wait."""
        burst = self._burst if burst is None else burst
        check_rate_and_burst(rate, burst)
        # Tokens earned so far were earned at the old rate: settle them before switching.
        self._refill()
        self._rate, self._burst = rate, burst
        self._tokens = min(self._tokens, burst)
        if self._head_sleep is not None:
            self._head_sleep.cancel()

    def drain(self) -> None:
        """Forget saved-up tokens, so that the next requests are paced at the rate, not let out at once."""
        self._refill()
        self._tokens = 0.0

    def _take(self) -> bool:
        if self._rate == 0:
            return True  # switched to unlimited while we waited
        self._refill()
        # The epsilon absorbs float error from sleeping exactly (1 - tokens) / rate.
        if self._tokens >= 1.0 - 1e-9:
            self._tokens = max(self._tokens - 1.0, 0.0)
            return True
        return False

    async def _sleep_for_token(self) -> None:
        # Never shorter than MIN_WAIT: a sleep below the clock's resolution ends without time having
        # moved on (the event loop runs such a timer at once), so no token would be earned by it.
        wait = max((1.0 - self._tokens) / self._rate, MIN_WAIT)
        # A cancel from set_rate ends only this scope; the loop in acquire then recomputes the wait.
        with anyio.CancelScope() as scope:
            self._head_sleep = scope
            try:
                await self._clock.sleep(wait)
            finally:
                self._head_sleep = None

    def _refill(self) -> None:
        now = self._clock.now()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now


def check_rate_and_burst(rate: float, burst: float) -> None:
    if not (rate >= 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be a finite number >= 0, not {rate}")
    if not (burst >= 1 and math.isfinite(burst)):
        raise ValueError(f"burst must be a finite number >= 1, not {burst}")
