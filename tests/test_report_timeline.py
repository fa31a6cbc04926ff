"""The timeline: per-second counters on disk as seconds close, across resume, cheap per call."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from batchproxy.errors import UsageError
from batchproxy.report.domain import Domain
from batchproxy.report.timeline import BUCKETS, Timeline, bucket_of, bucket_value, timeline_path
from batchproxy.report.timeline_read import read_timeline

EAST = Domain("profile", None, "us-east-1")
WEST = Domain("account", "111122223333", "us-west-2")
T0 = 1_800_000_000.0


def test_counts_and_quantiles_per_second(tmp_path: Path) -> None:
    """Each answer lands in its second and class; p50/p95 come within one bucket of the exact values."""
    results = tmp_path / "r.results.csv"
    timeline = Timeline.open(results, command="run", resume=False, clock=lambda: T0)
    latencies = [0.010 + 0.001 * i for i in range(100)]  # 10 ms … 109 ms
    for i, latency in enumerate(latencies):
        timeline.on_attempt(EAST, T0 + 0.005 * i)
        status = 429 if i % 10 == 0 else (503 if i % 10 == 1 else 200)
        timeline.on_answer(EAST, T0 + 0.005 * i, status, latency)
    timeline.on_rate(EAST, 12.5)
    timeline.on_attempt(EAST, T0 + 1.2)
    timeline.on_answer(EAST, T0 + 1.3, None, 20.0)  # no answer: an error, no latency
    timeline.close(exit_code=1)
    data = read_timeline(results)
    first, second = data.series[EAST]
    assert (first.second, first.attempts, first.accepted, first.throttled, first.errors) == (
        int(T0),
        100,
        80,
        10,
        10,
    )
    assert first.rate == 12.5
    exact_p50 = statistics.median(latencies) * 1000
    exact_p95 = sorted(latencies)[94] * 1000
    assert first.p50 is not None
    assert first.p95 is not None
    assert abs(first.p50 - exact_p50) / exact_p50 < 0.15
    assert abs(first.p95 - exact_p95) / exact_p95 < 0.15
    assert (second.attempts, second.errors, second.p50) == (1, 1, None)
    assert data.segments[0].exit_code == 1


def test_buckets_cover_the_range_and_are_ordered() -> None:
    """Buckets grow with latency, and a bucket's reported value lies inside it."""
    previous = -1
    for ms in (0.2, 1, 1.3, 2, 5, 10, 50, 100, 250, 1000, 5000, 20_000, 60_000, 10**7):
        index = bucket_of(ms)
        assert previous <= index < BUCKETS
        previous = index
        if 1 <= ms < 60_000:
            assert abs(bucket_value(index) - ms) / ms < 0.25


def test_a_second_is_on_disk_once_it_closes(tmp_path: Path) -> None:
    """A killed run keeps every closed second: lines are appended when the next second starts or on flush."""
    results = tmp_path / "r.results.csv"
    timeline = Timeline.open(results, command="run", resume=False, clock=lambda: T0)
    timeline.on_attempt(EAST, T0 + 0.5)
    timeline.on_attempt(WEST, T0 + 0.5)
    assert read_timeline(results).series == {}
    timeline.on_attempt(EAST, T0 + 1.1)  # EAST's first second closes
    assert [p.second for p in read_timeline(results).series[EAST]] == [int(T0)]
    assert WEST not in read_timeline(results).series
    timeline.flush(now=T0 + 2)  # WEST was quiet since: flushed, and EAST's second 1 too
    data = read_timeline(results)
    assert [p.second for p in data.series[WEST]] == [int(T0)]
    assert data.segments[0].exit_code is None  # no end record yet: as if killed now
    del timeline  # the process dies without close()


def test_torn_tail_and_resume_append_a_segment(tmp_path: Path) -> None:
    """A torn last line is ignored; --resume appends a segment, whose domain ids are its own."""
    results = tmp_path / "r.results.csv"
    first = Timeline.open(results, command="run", resume=False, clock=lambda: T0)
    first.on_attempt(EAST, T0)
    first.flush(now=T0 + 1)
    with timeline_path(results).open("ab") as raw:
        raw.write(b'{"v":1,"type":"second","s":')  # kill -9 mid-write
    second = Timeline.open(results, command="run", resume=True, clock=lambda: T0 + 60)
    second.on_attempt(WEST, T0 + 60)  # WEST gets id 0 in this segment, EAST had id 0 in the first
    second.on_attempt(EAST, T0 + 61)
    second.close(exit_code=0)
    data = read_timeline(results)
    assert [(s.resume, s.exit_code) for s in data.segments] == [(False, None), (True, 0)]
    assert [p.second for p in data.series[EAST]] == [int(T0), int(T0) + 61]
    assert [p.second for p in data.series[WEST]] == [int(T0) + 60]


def test_size_follows_seconds_not_requests(tmp_path: Path) -> None:
    """20,000 requests in 4 seconds over 2 domains make 8 second-lines."""
    results = tmp_path / "r.results.csv"
    timeline = Timeline.open(results, command="run", resume=False)
    for i in range(20_000):
        domain = EAST if i % 2 else WEST
        timeline.on_attempt(domain, T0 + i / 5000)
        timeline.on_answer(domain, T0 + i / 5000, 200, 0.05)
    timeline.close(exit_code=0)
    lines = timeline_path(results).read_bytes().splitlines()
    assert sum(b'"second"' in line for line in lines) == 8
    assert len(b"\n".join(lines)) < 2000


def test_file_is_private_and_a_symlink_is_refused(tmp_path: Path) -> None:
    results = tmp_path / "r.results.csv"
    Timeline.open(results, command="run", resume=False).close(exit_code=0)
    assert os.stat(timeline_path(results)).st_mode & 0o777 == 0o600
    victim = tmp_path / "victim"
    victim.write_text("keep")
    other = tmp_path / "o.results.csv"
    timeline_path(other).symlink_to(victim)
    for resume in (False, True):
        with pytest.raises(UsageError, match="timeline"):
            Timeline.open(other, command="run", resume=resume)
    assert victim.read_text() == "keep"


def test_cost_per_call(tmp_path: Path) -> None:
    """The engine calls on_attempt + on_answer per request (~1,000/s): each must take microseconds.

    The bound is loose (a shared, loaded machine); the measured figure is printed for the record.
    """
    timeline = Timeline.open(tmp_path / "r.results.csv", command="run", resume=False)
    domains = [Domain("profile", None, f"region-{i}") for i in range(4)]
    calls = 100_000
    start = time.perf_counter()
    for i in range(calls):
        t = T0 + i / 1000
        domain = domains[i & 3]
        timeline.on_attempt(domain, t)
        timeline.on_answer(domain, t, 200, 0.03)
    per_call = (time.perf_counter() - start) / (2 * calls) * 1e6
    timeline.close(exit_code=0)
    print(f"timeline: {per_call:.2f} µs per call")
    assert per_call < 20
