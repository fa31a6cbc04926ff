"""Rollout gating: option parsing, the README's rounding rule, wave order and the failure threshold."""

from __future__ import annotations

import itertools
import sys

import pytest

from batchproxy.config import WaveConfig
from batchproxy.engine.rollout import (
    Rollout,
    build_rollout,
    parse_duration,
    parse_max_failures,
    parse_wave_sizes,
)
from batchproxy.engine.stats import RunStats
from batchproxy.errors import UsageError
from batchproxy.rows import Outcome, Status


def _stats(*, ok: int = 0, failed: int = 0) -> RunStats:
    stats = RunStats(total=ok + failed)
    for status, count in ((Status.OK, ok), (Status.FAILED, failed)):
        for _ in range(count):
            stats.on_outcome((None, "us-east-1"), Outcome(status=status, attempts=1))
    return stats


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("30s", 30.0), ("1.5m", 90.0), ("2h", 7200.0), ("500ms", 0.5), (" 0.2s ", 0.2)],
)
def test_parse_duration_units(text: str, seconds: float) -> None:
    """A bare number is seconds; ms, s, m and h are understood, surrounding spaces ignored."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "-1s", "5 minutes", "1d", "1e3"])
def test_parse_duration_refuses_what_it_cannot_read(text: str) -> None:
    """Anything else is a usage error that names --pause and shows an example."""
    with pytest.raises(UsageError, match="--pause"):
        parse_duration(text)


def test_wave_percentages_round_down_but_never_below_one() -> None:
    """`10%` of 95 rows is 9 (rounded down); `1%` of 50 would be 0, so the wave has 1 row."""
    assert parse_wave_sizes(["1", "10", "10%"], 95) == [1, 10, 9]
    assert parse_wave_sizes(["1%"], 50) == [1]
    assert parse_wave_sizes(["0"], 50) == [1]
    assert parse_wave_sizes(["100%"], 7) == [7]
    assert parse_wave_sizes([], 7) == []


@pytest.mark.parametrize("spec", ["x", "10.5", "-1", "101%", "-5%", "%", "1,2"])
def test_wave_sizes_refuse_nonsense(spec: str) -> None:
    """A size that is neither a whole count nor a percentage 0-100 is a usage error naming --waves."""
    with pytest.raises(UsageError, match="--waves"):
        parse_wave_sizes([spec], 100)


@pytest.mark.parametrize(
    ("spec", "total", "allowed"),
    [
        ("10%", 95, 9),
        ("10%", 100, 10),
        ("10%", 9, 0),
        ("0%", 100, 0),
        ("100%", 30, 30),
        ("2.5%", 200, 5),
        ("3", 10, 3),
        ("0", 10, 0),
    ],
)
def test_max_failures_threshold_rounds_down(spec: str, total: int, allowed: int) -> None:
    """`P%` allows P% of the input's rows rounded down; `N` allows N rows."""
    assert parse_max_failures(spec, total) == allowed


def test_no_max_failures_means_no_threshold() -> None:
    """Without --max-failures there is no threshold at all."""
    assert parse_max_failures(None, 100) is None


@pytest.mark.parametrize("spec", ["ten", "-1", "150%", "1.5"])
def test_max_failures_refuses_nonsense(spec: str) -> None:
    """A threshold that is not a count or a percentage 0-100 is a usage error naming --max-failures."""
    with pytest.raises(UsageError, match="--max-failures"):
        parse_max_failures(spec, 100)


def test_threshold_is_exceeded_only_above_the_allowed_count() -> None:
    """The run aborts when failed rows *exceed* the threshold: 9 allowed means the 10th aborts."""
    rollout = Rollout(max_failures=9)
    assert rollout.after_outcome(_stats(ok=50, failed=9)) is None
    reason = rollout.after_outcome(_stats(ok=50, failed=10))
    assert reason is not None
    assert "10 rows failed (threshold 9)" in reason


def test_zero_threshold_aborts_at_the_first_failure() -> None:
    """`--max-failures 0` tolerates no failed row."""
    assert Rollout(max_failures=0).after_outcome(_stats(ok=3)) is None
    assert Rollout(max_failures=0).after_outcome(_stats(failed=1)) is not None


def test_no_threshold_never_aborts() -> None:
    """Without a threshold, any number of failures lets the run go on."""
    assert Rollout().after_outcome(_stats(failed=1000)) is None


def test_sizes_put_the_canary_first_and_repeat_the_last_wave() -> None:
    """Canary, then each wave in order, then the last wave size forever."""
    rollout = Rollout(canary=5, wave_sizes=[1, 10, 4])
    assert list(itertools.islice(rollout.sizes(), 7)) == [5, 1, 10, 4, 4, 4, 4]


def test_canary_alone_is_one_wave_then_everything_else() -> None:
    """With only a canary, the rest of the rows form a single wave with no boundary (-1)."""
    assert list(itertools.islice(Rollout(canary=3).sizes(), 3)) == [3, -1, -1]


def test_ungated_run_has_one_endless_wave() -> None:
    """No canary, no waves: sizes never reach a boundary."""
    assert list(itertools.islice(Rollout().sizes(), 2)) == [-1, -1]


async def test_a_failed_canary_stops_the_run() -> None:
    """After the canary wave, any failed row is a reason to stop that says the canary failed."""
    reason = await Rollout(canary=5).between(0, _stats(ok=4, failed=1))
    assert reason == "canary failed: 1 of the first 5 rows failed"


async def test_a_clean_canary_and_later_waves_go_on() -> None:
    """A canary without failures goes on; a failure in a later wave is --max-failures' business."""
    assert await Rollout(canary=5).between(0, _stats(ok=5)) is None
    assert await Rollout(canary=5, wave_sizes=[10]).between(1, _stats(ok=10, failed=2)) is None


async def test_the_operator_can_refuse_the_next_wave() -> None:
    """With --approve, a 'no' on the terminal stops the run before the next wave."""
    asked: list[str] = []

    async def answer(question: str) -> bool:
        asked.append(question)
        return False

    reason = await Rollout(wave_sizes=[2], approve=answer).between(0, _stats(ok=2))
    assert reason == "not approved by the operator"
    assert asked == ["Wave 1 done (2 rows). Continue with the next wave?"]


def test_build_rollout_is_none_when_nothing_gates_the_run() -> None:
    """A run without canary, waves or threshold is not gated (the scheduler skips all wave logic)."""
    assert build_rollout(WaveConfig(), 100) is None
    assert build_rollout(WaveConfig(pause="5s"), 100) is None


def test_build_rollout_reads_every_option() -> None:
    """Options become counts of this input: 10% of 95 is 9 for both the wave and the threshold."""
    rollout = build_rollout(WaveConfig(canary=2, waves=("1", "10%"), pause="0.5s", max_failures="10%"), 95)
    assert rollout is not None
    assert (rollout.canary, list(rollout.wave_sizes), rollout.pause_seconds, rollout.max_failures) == (
        2,
        [1, 9],
        0.5,
        9,
    )


def test_approve_needs_a_terminal() -> None:
    """`--approve` with stdin not a terminal is a usage error that says so (pytest's stdin is not one)."""
    assert not sys.stdin.isatty()
    with pytest.raises(UsageError, match="not a terminal"):
        build_rollout(WaveConfig(waves=("2",), approve=True), 10)
