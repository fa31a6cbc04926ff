"""The engine's one hook object: answers reach both the timeline and the events, rate events are thinned."""

from __future__ import annotations

import json
from pathlib import Path

from batchproxy.report.domain import Domain
from batchproxy.report.events import EventSink
from batchproxy.report.observer import RunObserver
from batchproxy.report.timeline import Timeline
from batchproxy.report.timeline_read import read_timeline
from tests.test_report_events import VALIDATOR

EAST = Domain("profile", "ops", "us-east-1")


def test_observer_feeds_events_and_timeline(tmp_path: Path) -> None:
    """429 → a throttled event and a timeline count; small rate moves make no event; finish is last."""
    now = [1_800_000_000.0]
    results = tmp_path / "r.results.csv"
    events = tmp_path / "events.jsonl"
    observer = RunObserver(
        EventSink.open(str(events), overwrite=False),
        Timeline.open(results, command="run", resume=False, clock=lambda: now[0]),
        clock=lambda: now[0],
    )
    observer.events.run_started(
        command="run", setting="proxy", input="in.csv", total_rows=2, rate=10, concurrency=2, max_attempts=3
    )
    observer.rate(EAST, 10.0)
    observer.attempt(EAST)
    observer.answer(EAST, status=429, latency=0.05, request_id="r1")
    observer.rate(EAST, 7.0)
    observer.rate(EAST, 7.2)  # under 5%: timeline only
    now[0] += 1.5
    observer.tick()
    assert [p.throttled for p in read_timeline(results).series[EAST]] == [1]
    observer.attempt(EAST)
    observer.answer(EAST, status=200, latency=0.04, request_id="r2")
    observer.finish(counts={"ok": 1, "skipped": 1}, exit_code=130, reason="SIGINT")
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    for line in lines:
        VALIDATOR.validate(line)
    assert [e["type"] for e in lines] == [
        "run_started",
        "rate_changed",
        "throttled",
        "rate_changed",
        "run_finished",
    ]
    assert [e["rate"] for e in lines if e["type"] == "rate_changed"] == [10.0, 7.0]
    data = read_timeline(results)
    assert [(p.accepted, p.throttled, p.rate) for p in data.series[EAST]] == [(0, 1, 7.2), (1, 0, 7.2)]
    assert (data.segments[0].exit_code, data.segments[0].reason) == (130, "SIGINT")


def test_null_observer_costs_nothing_to_hold(tmp_path: Path) -> None:
    observer = RunObserver.null()
    observer.attempt(EAST)
    observer.answer(EAST, status=429, latency=0.1)
    observer.rate(EAST, 3.0)
    observer.tick()
    observer.finish(counts={}, exit_code=0)
    assert list(tmp_path.iterdir()) == []
