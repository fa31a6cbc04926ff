"""A shard's part of the input, counted in the validating pass (``shard_part``), and the observing
wrappers the job puts around the sink and the rollout gate (``report.run_observing``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio

from batchproxy.engine.scheduler import StopControl
from batchproxy.engine.stats import RunStats
from batchproxy.report.events import EventSink
from batchproxy.report.run_observing import ObservedWaves
from batchproxy.rows import Row, Status, Target
from batchproxy.shard import ShardSpec
from batchproxy.shard_part import ShardCounter


def _row(number: int, region: str, profile: str | None = None) -> Row:
    target = Target(voice_connector_id=f"vc{number}", region=region, profile=profile)
    return Row(number=number, values=(), target=target, settings=None)


def _counted(rows: list[Row]) -> ShardCounter:
    counter = ShardCounter()
    for row in rows:
        counter.add(row)
    return counter


# Rows 1..9 over three domains (5, 3, 1 rows), row 4 invalid and row 7 a blank line (neither added).
ROWS = [
    _row(1, "us-east-1"), _row(2, "us-east-1"), _row(3, "eu-west-2"), _row(5, "us-east-1"),
    _row(6, "eu-west-2", "ops"), _row(8, "us-east-1"), _row(9, "eu-west-2"), _row(10, "us-east-1"),
]  # fmt: skip
INVALID = {4}


def test_each_row_belongs_to_exactly_one_shard_by_its_domain() -> None:
    """us-east-1 (5 rows) alone on shard 1; eu-west-2 (2) and ops/eu-west-2 (1) on shard 2."""
    counter = _counted(ROWS)
    parts = [counter.part(ShardSpec(index=i, count=2), invalid=INVALID, takes_invalid=i == 1) for i in (1, 2)]
    owners = {row.number: [i for i, part in enumerate(parts, 1) if part.owns(row)] for row in ROWS}
    assert all(len(shards) == 1 for shards in owners.values())
    assert {n for n, shards in owners.items() if shards == [1]} == {1, 2, 5, 8, 10}
    assert parts[0].assignment.rows_per_shard() == {1: 5, 2: 3}
    assert parts[1].owns_domain(("ops", "eu-west-2"))
    assert not parts[1].owns_domain((None, "us-east-1"))
    assert not parts[1].owns_domain((None, "nowhere-1"))


def test_row_numbers_are_the_shards_lines_and_shard_1_takes_the_invalid_rows() -> None:
    counter = _counted(ROWS)
    first = counter.part(ShardSpec(index=1, count=2), invalid=INVALID, takes_invalid=True)
    second = counter.part(ShardSpec(index=2, count=2), invalid=INVALID, takes_invalid=False)
    assert list(first.row_numbers()) == [1, 2, 4, 5, 8, 10]
    assert len(first.row_numbers()) == first.rows == 6
    assert list(second.row_numbers()) == [3, 6, 9]
    assert len(second.row_numbers()) == second.rows == 3
    assert (first.takes_invalid, second.takes_invalid) == (True, False)
    for absent in (0, 7, 11, -1, "1"):
        assert absent not in first.row_numbers()
        assert absent not in second.row_numbers()
    assert first.describe() == "1/2: 6 of 9 rows (per shard: 5, 3)"
    assert second.describe() == "2/2: 3 of 9 rows (per shard: 5, 3)"


def test_an_idle_shard_owns_nothing_and_a_reset_counter_starts_over() -> None:
    counter = _counted(ROWS)
    idle = counter.part(ShardSpec(index=4, count=4), invalid=(), takes_invalid=False)
    assert idle.rows == 0
    assert list(idle.row_numbers()) == []
    assert not any(idle.owns(row) for row in ROWS)
    counter.reset()
    counter.add(_row(2, "ap-south-1"))
    only = counter.part(ShardSpec(index=1, count=1), invalid=(), takes_invalid=False)
    assert list(only.row_numbers()) == [2]
    assert only.describe() == "1/1: 1 of 1 rows (per shard: 1)"


def test_many_shards_are_summed_up_by_their_extremes() -> None:
    rows = [_row(n, f"r-{n % 20}") for n in range(1, 201)]
    part = _counted(rows).part(ShardSpec(index=3, count=12), invalid=(), takes_invalid=False)
    assert part.describe().endswith("(per shard: 10 to 20)")


class _Gate:
    """A rollout gate of waves of 2 rows that never stops the run."""

    def sizes(self) -> Iterator[int]:
        while True:
            yield 2

    async def between(self, wave: int, stats: RunStats) -> str | None:
        return None

    def after_outcome(self, stats: RunStats) -> str | None:
        return None


def test_waves_are_announced_after_each_gate_and_the_last_at_the_end() -> None:
    lines: list[bytes] = []
    waves = ObservedWaves(_Gate(), EventSink(lines.append))
    stats = RunStats(total=5)
    sizes = waves.sizes()
    for wave in range(3):
        next(sizes)
        stats.statuses[Status.OK] += 2 if wave < 2 else 1
        if wave < 2:
            anyio.run(waves.between, wave, stats)
    waves.after_run(StopControl(), stats)
    waves.after_run(StopControl(), stats)  # said once only
    events = [json.loads(line) for line in lines]
    assert [(e["wave"], e["counts"]) for e in events] == [(1, {"ok": 2}), (2, {"ok": 4}), (3, {"ok": 5})]
    stopped = ObservedWaves(_Gate(), EventSink(lines.append))
    next(stopped.sizes())
    control = StopControl()
    control.stop("too many failures")
    stopped.after_run(control, stats)  # a stopped run's last wave did not finish
    assert len(lines) == 3
