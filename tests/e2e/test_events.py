"""``--events`` and the timeline from real runs: the CLI as a subprocess against the emulator subprocess.

Every event a run emits is validated against docs/events.schema.json, and its numbers are checked
against what the same run wrote to its results file and printed in its summary: a throttled run
(the emulator's rate is below what the run asks), a run in waves, a run interrupted by SIGINT and
resumed with the same command, and ``--events -`` (stdout carries events only).
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema

from batchproxy.report.timeline import timeline_path
from tests.e2e.harness import (
    aws_env,
    emulator,
    make_rows,
    read_csv,
    run_cli,
    start_cli,
    stop_process,
    write_csv,
)

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "events.schema.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
REGIONS = ("us-east-1", "eu-west-2")


def events_of(text: str) -> list[dict[str, Any]]:
    """Every line one JSON object that the published schema accepts."""
    events = [json.loads(line) for line in text.splitlines()]
    for event in events:
        errors = [error.message for error in VALIDATOR.iter_errors(event)]
        assert errors == [], (event, errors)
    return events


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == kind]


def one_run(events: list[dict[str, Any]]) -> None:
    """``run_started`` first, ``run_finished`` last, each once."""
    assert events[0]["type"] == "run_started"
    assert events[-1]["type"] == "run_finished"
    assert len(of_type(events, "run_started")) == len(of_type(events, "run_finished")) == 1


def timeline_records(results: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in timeline_path(results).read_text().splitlines()]


def test_a_throttled_run_streams_valid_events_that_match_its_results(tmp_path: Path) -> None:
    """60 rows over two regions at --rate 0 against a service taking 15 req/s, one in 7 unknown (404):
    one row_finished per row equal to its results line, one throttled per 429 the summary counts,
    rate_changed as the limiter backs off, run_finished with the counts and exit 1, no phone number."""
    rows = make_rows(60, regions=REGIONS)
    source = write_csv(tmp_path / "in.csv", rows)
    known = write_csv(tmp_path / "known.csv", [row for i, row in enumerate(rows) if i % 7])
    events_file = tmp_path / "events.jsonl"
    with emulator("--rate", "15", "--connectors", str(known)) as emu:
        done = run_cli(
            "run", source, "--endpoint-url", emu.url, "--region", "us-east-1", "--rate", "0",
            "--events", events_file, "--log-format", "json",
        )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    text = events_file.read_text("utf-8")
    events = events_of(text)
    one_run(events)
    lines = {int(line["row"]): line for line in read_csv(tmp_path / "in.results.csv")}
    finished = of_type(events, "row_finished")
    assert sorted(event["row"] for event in finished) == sorted(lines) == list(range(1, 61))
    for event in finished:
        line = lines[event["row"]]
        assert (event["status"], event["region"], event["profile"]) == (line["status"], line["Region"], None)
        assert event["attempts"] == int(line["attempts"])
        assert event["http_status"] == int(line["http_status"])
        assert (event["error_code"] or "") == line["error_code"]
    throttled = int(re.search(r"(\d+) throttled \(429\)", done.stdout).group(1))  # type: ignore[union-attr]
    assert len(of_type(events, "throttled")) == throttled > 0
    cuts = [event for event in of_type(events, "rate_changed") if event["rate"] > 0]
    assert cuts
    assert {event["region"] for event in cuts} <= set(REGIONS)
    end = events[-1]
    assert end["exit_code"] == 1
    assert end["counts"] == dict(Counter(line["status"] for line in lines.values()))
    assert "+1206555" not in text
    assert "FallBack" not in text
    # The timeline beside the results: every attempt and every 429 of the run, counted per second.
    seconds = [
        record for record in timeline_records(tmp_path / "in.results.csv") if record["type"] == "second"
    ]
    assert sum(record["thr"] for record in seconds) == throttled
    assert sum(record["ok"] for record in seconds) == end["counts"]["ok"]
    assert sum(record["n"] for record in seconds) == sum(int(line["attempts"]) for line in lines.values())


def test_a_run_in_waves_reports_each_wave(tmp_path: Path) -> None:
    """--waves 5,10: waves of 5, 10, 10, 5 rows; wave_finished after each, counts growing to the total."""
    source = write_csv(tmp_path / "in.csv", make_rows(30))
    events_file = tmp_path / "events.jsonl"
    done = run_cli(
        "run", source, "--emulate", "--waves", "5,10", "--events", events_file, "--log-format", "json"
    )
    assert done.returncode == 0, done.stderr
    events = events_of(events_file.read_text())
    one_run(events)
    waves = of_type(events, "wave_finished")
    assert [event["wave"] for event in waves] == [1, 2, 3, 4]
    assert [event["counts"]["ok"] for event in waves] == [5, 15, 25, 30]
    # A wave is announced after its last row finished and before the next wave's first.
    for wave in waves:
        before = events[: events.index(wave)]
        assert len(of_type(before, "row_finished")) == sum(wave["counts"].values())
    assert of_type(events, "stopping") == []


def test_an_interrupted_run_says_why_and_its_resume_appends(tmp_path: Path) -> None:
    """SIGINT mid-run: stopping (the signal), skipped rows, run_finished 130; the same command with
    --resume appends a second run to the same events file and a second segment to the timeline."""
    source = write_csv(tmp_path / "in.csv", make_rows(40))
    results, events_file = tmp_path / "in.results.csv", tmp_path / "events.jsonl"
    with emulator("--latency", "150ms", "--connectors", str(source)) as emu:
        command: list[str | Path] = [
            "run", source, "--endpoint-url", emu.url, "--region", "us-east-1", "--concurrency", "2",
            "--events", events_file, "--log-format", "json",
        ]  # fmt: skip
        process = start_cli(*command, env=aws_env())
        try:
            deadline = time.monotonic() + 30
            while events_file.exists() is False or events_file.read_text().count("row_finished") < 5:
                assert time.monotonic() < deadline, "no rows finished within 30 s"
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            _stdout, _ = process.communicate(timeout=30)
        finally:
            stop_process(process)
        assert process.returncode == 130
        first = events_of(events_file.read_text())
        one_run(first)
        stopping = of_type(first, "stopping")
        assert [event["reason"] for event in stopping] == ["interrupted by SIGINT"]
        assert first[-1]["exit_code"] == 130
        assert first[-1]["counts"]["skipped"] > 0
        assert first.index(stopping[0]) < len(first) - 1
        resumed = run_cli(*command, "--resume")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    both = events_of(events_file.read_text())
    second = both[len(first) :]
    one_run(second)
    assert second[-1]["exit_code"] == 0
    assert second[-1]["counts"]["ok"] == first[-1]["counts"]["skipped"] + first[-1]["counts"].get("failed", 0)
    ends = [record for record in timeline_records(results) if record["type"] == "end"]
    assert [(end["exit_code"], end["reason"]) for end in ends] == [(130, "interrupted by SIGINT"), (0, None)]
    segments = [record for record in timeline_records(results) if record["type"] == "segment"]
    assert [segment["resume"] for segment in segments] == [False, True]


def test_events_to_stdout_carry_events_only(tmp_path: Path) -> None:
    """--events -: every stdout line is an event (no summary there); the summary's facts are in them."""
    source = write_csv(tmp_path / "in.csv", make_rows(12, regions=REGIONS))
    done = run_cli("run", source, "--emulate", "--events", "-", "--log-format", "json")
    assert done.returncode == 0, done.stderr
    events = events_of(done.stdout)
    one_run(events)
    assert len(of_type(events, "row_finished")) == 12
    assert events[-1]["counts"] == {"ok": 12}
    assert "batchproxy run:" not in done.stdout + done.stderr


def test_an_invalid_input_is_one_short_run_and_an_existing_events_file_is_kept(tmp_path: Path) -> None:
    """Exit 2 on an invalid input still starts and ends the stream; a second run without --force or
    --resume refuses the existing events file, which is left as it was."""
    rows = make_rows(4)
    rows[2]["DefaultSessionExpiryMinutes"] = "soon"
    source = write_csv(tmp_path / "in.csv", rows)
    events_file = tmp_path / "events.jsonl"
    done = run_cli("run", source, "--emulate", "--events", events_file, "--log-format", "json")
    assert done.returncode == 2
    events = events_of(events_file.read_text())
    assert [event["type"] for event in events] == ["run_started", "run_finished"]
    assert events[-1]["counts"] == {"invalid": 1}
    assert events[-1]["exit_code"] == 2
    before = events_file.read_bytes()
    again = run_cli("run", source, "--emulate", "--events", events_file, "--log-format", "json")
    assert again.returncode == 2
    assert "exists" in again.stderr
    assert "Traceback" not in again.stderr
    assert events_file.read_bytes() == before
