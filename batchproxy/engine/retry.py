"""Which failed attempts are tried again, and after how long: tenacity, with our classification.

The policy only knows ``errors.CallFailed`` and its ``FailureKind`` (docs/reference.md §4):

* THROTTLED, TRANSIENT and UNKNOWN_OUTCOME are retried. An unknown outcome may have been applied, but
  PutVoiceConnectorProxy replaces the whole configuration, so sending it again is harmless.
* PERMANENT (400/401/403/404) is not: the same request would fail the same way. Any exception that is
  not a ``CallFailed`` (a bug, a cancellation) propagates at once, untouched.

Waits are exponential backoff with *full jitter*: uniform(0, min(cap, base · 2^(n-1))) after attempt n.
Jitter over the whole interval, rather than around its end, is what breaks up lockstep: workers that
failed together retry at independent times (the "Exponential Backoff And Jitter" analysis in the AWS
Architecture Blog). A ``Retry-After`` from the service is the earliest moment; the jittered backoff is
added on top of it, so that everyone told the same moment does not come back at once, and the sum is
capped. The rate limiter still paces every retry, so the backoff is about spreading and giving the
service room, not about the rate.

``RetryPolicy`` is what the engine uses; it never sees tenacity. The RNG and the sleep function are
injectable, so tests check exact waits without sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from batchproxy.errors import CallFailed
from batchproxy.rows import FailureKind

__all__ = [
    "DEFAULT_BASE",
    "DEFAULT_BUDGET",
    "DEFAULT_CAP",
    "DEFAULT_RETRY_AFTER_CAP",
    "RETRYABLE_KINDS",
    "OnRetry",
    "RetryPolicy",
    "is_retryable",
    "wait_full_jitter",
    "wait_retry_after",
    "wait_up_to",
]

T = TypeVar("T")

OnRetry = Callable[[int, CallFailed, float], None]
"""Called before each backoff: (number of the attempt that failed, its failure, seconds until the next)."""

RETRYABLE_KINDS = frozenset({FailureKind.THROTTLED, FailureKind.TRANSIENT, FailureKind.UNKNOWN_OUTCOME})

DEFAULT_BASE = 0.2  # s: first retry within 200 ms; a blip in AWS's front end is usually gone by then
DEFAULT_CAP = 20.0  # s: reached from the 8th attempt on; 8 attempts wait at most 25 s in all (12.7 s mean)
# s: how long one request keeps retrying; with the default attempts it, not the count, is what binds
# (config.Defaults explains the arithmetic).
DEFAULT_BUDGET = 60.0
DEFAULT_RETRY_AFTER_CAP = 60.0  # s: a Retry-After beyond this is not waited for in full


def is_retryable(exc: BaseException) -> bool:
    """True for a ``CallFailed`` whose kind is worth another attempt."""
    return isinstance(exc, CallFailed) and exc.kind in RETRYABLE_KINDS


def _failure(retry_state: RetryCallState) -> CallFailed | None:
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None and outcome.failed else None
    return exc if isinstance(exc, CallFailed) else None


class wait_full_jitter(wait_base):  # lower case, like tenacity's own strategies
    """uniform(0, min(cap, base · 2^(n-1))) after attempt n, from the given RNG."""

    def __init__(self, base: float, cap: float, rng: random.Random) -> None:
        self.base, self.cap, self.rng = base, cap, rng

    def __call__(self, retry_state: RetryCallState) -> float:
        # Bound the exponent first: 2.0 ** 2000 overflows long before anyone sets max_attempts that high.
        exponent = min(retry_state.attempt_number - 1, 64)
        return self.rng.uniform(0, min(self.cap, self.base * 2.0**exponent))


class wait_retry_after(wait_base):
    """The failure's ``Retry-After`` in seconds, or 0 when it carried none."""

    def __call__(self, retry_state: RetryCallState) -> float:
        failure = _failure(retry_state)
        return failure.retry_after if failure is not None and failure.retry_after else 0.0


class wait_up_to(wait_base):
    """Another strategy's wait, but never more than ``limit`` seconds."""

    def __init__(self, inner: wait_base, limit: float) -> None:
        self.inner, self.limit = inner, limit

    def __call__(self, retry_state: RetryCallState) -> float:
        return min(self.inner(retry_state), self.limit)


class RetryPolicy:
    """Up to ``max_attempts`` attempts of one call, and no retry after an attempt that failed once
    ``budget`` seconds had passed since the first began; retryable failures wait with full-jitter backoff.

    Whichever limit comes first ends the retries (tenacity's ``stop_after_attempt | stop_after_delay``):
    the count bounds the requests one row may cost, the budget bounds how long an outage is waited out.
    An attempt that fails after the budget has run out is the last one, so an outage shorter than the
    budget is always ridden out while attempts remain.
    """

    def __init__(
        self,
        max_attempts: int,
        *,
        budget: float | None = DEFAULT_BUDGET,
        base: float = DEFAULT_BASE,
        cap: float = DEFAULT_CAP,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (the first attempt counts)")
        if base <= 0 or cap < base or retry_after_cap < 0:
            raise ValueError("need base > 0, cap >= base and retry_after_cap >= 0")
        if budget is not None and budget <= 0:
            raise ValueError("budget must be positive (None: no time limit)")
        self.max_attempts = max_attempts
        self.budget = budget
        self._sleep = sleep
        self._stop: stop_base = stop_after_attempt(max_attempts)
        if budget is not None:
            self._stop = self._stop | stop_after_delay(budget)
        # Retry-After is the floor, the jittered backoff spreads the crowd above it; the sum is capped
        # at whichever is larger, so a long Retry-After is not cut short by the backoff's own cap.
        self._wait = wait_up_to(
            wait_retry_after() + wait_full_jitter(base, cap, rng or random.Random()),
            max(cap, retry_after_cap),
        )

    async def call(self, attempt_fn: Callable[[int], Awaitable[T]], *, on_retry: OnRetry | None = None) -> T:
        """Run ``attempt_fn(1)``, ``attempt_fn(2)``, … until one succeeds or a failure is final.

        Raises the last ``CallFailed`` itself when attempts run out (never tenacity's ``RetryError``),
        and anything else as soon as it is raised. Cancellation, also during a backoff, propagates.
        """
        # Most rows succeed at once: tenacity's state is built only when a first attempt failed in a
        # way worth retrying (building it for every row was ~4% of a fast run's CPU). It then replays
        # that failure as its attempt 1, so waits, callbacks and numbering are as if it ran from the start.
        try:
            return await attempt_fn(1)
        except CallFailed as failure:
            if self.max_attempts == 1 or not is_retryable(failure):
                raise
            first = failure
        retrying = AsyncRetrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception(is_retryable),
            sleep=self._sleep,
            before_sleep=None if on_retry is None else _reporter(on_retry),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                if number == 1:
                    raise first
                return await attempt_fn(number)
        raise AssertionError("unreachable: tenacity returns a result or raises")  # pragma: no cover


def _reporter(on_retry: OnRetry) -> Callable[[RetryCallState], None]:
    """Adapt the engine's callback to tenacity's ``before_sleep`` hook."""

    def report(retry_state: RetryCallState) -> None:
        failure = _failure(retry_state)
        next_action = retry_state.next_action
        # Only retryable CallFailed reach a sleep, so failure is never None here.
        if failure is not None and next_action is not None:
            on_retry(retry_state.attempt_number, failure, next_action.sleep)

    return report
