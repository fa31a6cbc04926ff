"""The retry policy: what is retried, how many times, how long it waits, and how it stops.

The sleep function is injected, so waits are recorded instead of slept; the RNG is seeded, so they
are exact.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from batchproxy.engine.retry import RetryPolicy, is_retryable
from batchproxy.errors import CallFailed
from batchproxy.rows import FailureKind


def failure(kind: FailureKind = FailureKind.TRANSIENT, retry_after: float | None = None) -> CallFailed:
    return CallFailed(kind=kind, code="Test", message="test failure", retry_after=retry_after)


class Script:
    """An attempt function that raises the scripted exceptions in turn, then returns "done"."""

    def __init__(self, *raises: BaseException) -> None:
        self.raises = list(raises)
        self.attempts: list[int] = []

    async def __call__(self, number: int) -> str:
        self.attempts.append(number)
        if self.raises:
            raise self.raises.pop(0)
        return "done"


class Sleeps:
    """A sleep function that records what it was asked to wait, and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def policy(max_attempts: int = 5, seed: int = 1, **options: float) -> tuple[RetryPolicy, Sleeps]:
    sleeps = Sleeps()
    return RetryPolicy(max_attempts, rng=random.Random(seed), sleep=sleeps, **options), sleeps


async def test_success_needs_one_attempt() -> None:
    """A call that succeeds at once is attempted once, numbered 1, with no wait."""
    retry, sleeps = policy()
    script = Script()
    assert await retry.call(script) == "done"
    assert (script.attempts, sleeps.waits) == ([1], [])


@pytest.mark.parametrize("kind", [FailureKind.THROTTLED, FailureKind.TRANSIENT, FailureKind.UNKNOWN_OUTCOME])
async def test_retryable_kinds_are_retried_until_success(kind: FailureKind) -> None:
    """Throttled, transient and unknown-outcome failures are retried; attempts are numbered 1, 2, 3."""
    retry, sleeps = policy()
    script = Script(failure(kind), failure(kind))
    assert await retry.call(script) == "done"
    assert script.attempts == [1, 2, 3]
    assert len(sleeps.waits) == 2


async def test_permanent_failure_is_not_retried() -> None:
    """A permanent failure (400/401/403/404) is raised as is after one attempt."""
    retry, sleeps = policy()
    permanent = failure(FailureKind.PERMANENT)
    with pytest.raises(CallFailed) as raised:
        await retry.call(Script(permanent))
    assert raised.value is permanent
    assert sleeps.waits == []


async def test_other_exceptions_propagate_at_once() -> None:
    """An exception that is not a CallFailed (a bug, say) is not retried and comes out unchanged."""
    retry, sleeps = policy()
    script = Script(KeyError("boom"))
    with pytest.raises(KeyError, match="boom"):
        await retry.call(script)
    assert (script.attempts, sleeps.waits) == ([1], [])


def test_is_retryable_knows_only_call_failed() -> None:
    """Only a CallFailed of a retryable kind is retryable."""
    assert is_retryable(failure(FailureKind.THROTTLED))
    assert not is_retryable(failure(FailureKind.PERMANENT))
    assert not is_retryable(TimeoutError())


async def test_exhaustion_raises_the_last_failure_itself() -> None:
    """When max_attempts all fail, the last CallFailed is raised (not tenacity's RetryError)."""
    retry, sleeps = policy(max_attempts=4)
    failures = [failure() for _ in range(4)]
    script = Script(*failures)
    with pytest.raises(CallFailed) as raised:
        await retry.call(script)
    assert raised.value is failures[-1]
    assert script.attempts == [1, 2, 3, 4]
    assert len(sleeps.waits) == 3


async def test_one_attempt_means_no_retry() -> None:
    """max_attempts=1 sends once and gives up on any failure."""
    retry, sleeps = policy(max_attempts=1)
    with pytest.raises(CallFailed):
        await retry.call(Script(failure(FailureKind.THROTTLED)))
    assert sleeps.waits == []


async def test_waits_are_full_jitter_exponential_from_the_rng() -> None:
    """The wait after attempt n is uniform(0, min(cap, base·2^(n-1))), drawn from the injected RNG."""
    retry, sleeps = policy(max_attempts=10, seed=42, base=0.5, cap=8.0)
    with pytest.raises(CallFailed):
        await retry.call(Script(*[failure() for _ in range(10)]))
    bounds = [min(8.0, 0.5 * 2**n) for n in range(9)]
    expected_rng = random.Random(42)
    assert sleeps.waits == [expected_rng.uniform(0, bound) for bound in bounds]
    assert all(0 <= wait <= bound for wait, bound in zip(sleeps.waits, bounds, strict=True))


async def test_jitter_spreads_workers_that_failed_together() -> None:
    """A thousand rows failing at the same attempt wait across the whole interval, not in lockstep."""
    rng = random.Random(7)
    waits = []
    for _ in range(1000):
        sleeps = Sleeps()
        retry = RetryPolicy(4, base=0.2, rng=rng, sleep=sleeps)
        with pytest.raises(CallFailed):
            await retry.call(Script(*[failure() for _ in range(4)]))
        waits.append(sleeps.waits[2])  # after attempt 3: uniform(0, 0.8)
    assert min(waits) < 0.05
    assert max(waits) > 0.75
    assert sum(waits) / len(waits) == pytest.approx(0.4, abs=0.03)
    assert len({round(wait, 2) for wait in waits}) > 70  # no clustering on a few values


async def test_backoff_is_capped() -> None:
    """Far into a retry sequence, no wait exceeds the cap."""
    retry, sleeps = policy(max_attempts=40, base=0.2, cap=20.0)
    with pytest.raises(CallFailed):
        await retry.call(Script(*[failure() for _ in range(40)]))
    assert max(sleeps.waits) <= 20.0
    assert max(sleeps.waits[-10:]) > 10.0  # and the cap is reached, not some lower bound


async def test_retry_after_is_the_minimum_wait() -> None:
    """With Retry-After, the wait is that plus the jittered backoff: at least it, at most it + the bound."""
    retry, sleeps = policy(base=0.2)
    await retry.call(Script(failure(FailureKind.THROTTLED, retry_after=3.0), failure(retry_after=1.5)))
    assert 3.0 <= sleeps.waits[0] <= 3.2
    assert 1.5 <= sleeps.waits[1] <= 1.9


async def test_retry_after_is_capped() -> None:
    """A Retry-After longer than the cap for it waits only the cap."""
    retry, sleeps = policy(retry_after_cap=60.0)
    await retry.call(Script(failure(FailureKind.THROTTLED, retry_after=3600.0)))
    assert sleeps.waits == [60.0]


async def test_on_retry_sees_each_retried_failure() -> None:
    """on_retry gets (failed attempt number, failure, wait) before each retry; not for the final failure."""
    retry, sleeps = policy(max_attempts=3)
    failures = [failure(FailureKind.THROTTLED), failure(), failure()]
    seen: list[tuple[int, CallFailed, float]] = []
    with pytest.raises(CallFailed):
        await retry.call(Script(*failures), on_retry=lambda n, f, wait: seen.append((n, f, wait)))
    assert seen == [(1, failures[0], sleeps.waits[0]), (2, failures[1], sleeps.waits[1])]


async def test_cancellation_during_backoff_stops_retrying() -> None:
    """Cancelled while waiting to retry, the call ends with the cancellation and makes no further attempt."""
    entered = anyio.Event()

    async def sleep_until_cancelled(seconds: float) -> None:
        entered.set()
        await anyio.sleep_forever()

    retry = RetryPolicy(5, rng=random.Random(1), sleep=sleep_until_cancelled)
    script = Script(failure(), failure())
    outcome: list[str] = []

    async def run() -> None:
        outcome.append(await retry.call(script))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await entered.wait()
        tg.cancel_scope.cancel()
    assert tg.cancel_scope.cancelled_caught
    assert (script.attempts, outcome) == ([1], [])


async def test_cancellation_during_an_attempt_is_not_retried() -> None:
    """Cancelled while an attempt runs, the call ends with the cancellation: it is not taken for a failure."""
    sleeps = Sleeps()
    retry = RetryPolicy(5, rng=random.Random(1), sleep=sleeps)
    attempts: list[int] = []

    async def hang(number: int) -> str:
        attempts.append(number)
        await anyio.sleep_forever()
        return "never"

    with anyio.move_on_after(0) as scope:
        await retry.call(hang)
    assert scope.cancelled_caught
    assert (attempts, sleeps.waits) == ([1], [])


@pytest.mark.parametrize(("max_attempts", "base", "cap"), [(0, 0.2, 20.0), (3, 0.0, 20.0), (3, 1.0, 0.5)])
def test_policy_rejects_nonsense(max_attempts: int, base: float, cap: float) -> None:
    """Zero attempts, a non-positive base or a cap below the base are refused."""
    with pytest.raises(ValueError, match=r"must be|need"):
        RetryPolicy(max_attempts, base=base, cap=cap)


async def test_the_budget_ends_retries_before_the_attempts_run_out() -> None:
    """Real time: no retry after an attempt that failed once the budget had passed; the last failure
    is raised itself. Attempts left over (100) do not keep the request going."""
    retry = RetryPolicy(100, budget=0.3, base=0.05, cap=0.05)
    always = Script(*(failure() for _ in range(100)))
    started = anyio.current_time()
    with pytest.raises(CallFailed):
        await retry.call(always)
    elapsed = anyio.current_time() - started
    assert 0.3 <= elapsed < 0.3 + 0.05 + 0.5  # one wait past the budget at most, plus load
    assert 3 <= len(always.attempts) < 100


async def test_attempts_bound_the_retries_within_the_budget() -> None:
    """Whichever limit comes first: 3 attempts, long before a 60 s budget."""
    retry, sleeps = policy(3, budget=60.0)
    script = Script(failure(), failure(), failure(), failure())
    with pytest.raises(CallFailed):
        await retry.call(script)
    assert (script.attempts, len(sleeps.waits)) == ([1, 2, 3], 2)


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="budget"):
        RetryPolicy(3, budget=0)


@pytest.mark.parametrize("budget", ["0", "soon", "-5s"])
def test_the_cli_refuses_a_retry_budget_that_is_no_duration(tmp_path: Path, budget: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text("VoiceConnectorId,DefaultSessionExpiryMinutes,PhoneNumberPoolCountries\nvc-1,60,US\n")
    done = subprocess.run(
        [sys.executable, "-m", "batchproxy", "run", str(source), "--emulate", "--retry-budget", budget],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"--retry-budget {budget!r}" in done.stderr
    assert not (tmp_path / "in.results.csv").exists()
