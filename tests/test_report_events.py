"""The --events sink: every line valid against docs/events.schema.json, private files, no phone numbers."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from batchproxy.errors import UsageError
from batchproxy.report.domain import Domain
from batchproxy.report.events import EventSink

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "events.schema.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
EAST = Domain("profile", None, "us-east-1")
ACCOUNT = Domain("account", "111122223333", "eu-west-2")


def emit_all(sink: EventSink) -> None:
    """One event of every type, in the order a run emits them."""
    sink.run_started(
        command="run", setting="proxy", input="in.csv", total_rows=3, rate=10.0, concurrency=4, max_attempts=8
    )
    sink.throttled(domain=EAST, request_id="req-1")
    sink.rate_changed(domain=EAST, rate=5.0)
    sink.row_finished(
        row=1, status="ok", attempts=2, http_status=200, error_code="", duration_ms=80, domain=EAST
    )
    sink.row_finished(
        row=2, status="failed", attempts=1, http_status=404, error_code="NotFoundException",
        duration_ms=12, domain=ACCOUNT,
    )  # fmt: skip
    sink.row_finished(
        row=3, status="skipped", attempts=0, http_status=None, error_code="", duration_ms=0, domain=EAST
    )
    sink.wave_finished(wave=1, counts={"ok": 1, "failed": 1})
    sink.stopping(reason="SIGINT; connector with fallback +12065550100 refused")
    sink.run_finished(counts={"ok": 1, "failed": 1, "skipped": 1}, exit_code=130)


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_every_event_validates_against_the_schema(tmp_path: Path) -> None:
    """Each emitted line is one JSON object that the published schema accepts."""
    path = tmp_path / "events.jsonl"
    emit_all(EventSink.open(str(path)))
    events = read_events(path)
    assert [e["type"] for e in events] == [
        "run_started", "throttled", "rate_changed", "row_finished", "row_finished", "row_finished",
        "wave_finished", "stopping", "run_finished",
    ]  # fmt: skip
    for event in events:
        VALIDATOR.validate(event)
    assert events[4]["account"] == "111122223333"
    assert events[4]["region"] == "eu-west-2"
    assert "profile" not in events[4]
    assert events[3]["profile"] is None
    assert events[-1]["exit_code"] == 130


def test_the_schema_rejects_what_the_sink_must_never_write() -> None:
    """The schema is strict enough to catch an extra field, a missing region or an unknown status."""
    good = {"v": 1, "type": "throttled", "t": "2026-11-27T12:00:00.000Z", "profile": None,
            "region": "us-east-1", "request_id": "r"}  # fmt: skip
    VALIDATOR.validate(good)
    for bad in (
        {**good, "FallBackPhoneNumber": "+12065550100"},
        {k: v for k, v in good.items() if k != "region"},
        {**good, "account": "1"},  # both profile and account
        {**good, "t": "2026-11-27 12:00"},
        {**good, "type": "row_finished"},
    ):
        assert not VALIDATOR.is_valid(bad), bad


def test_no_phone_number_reaches_the_stream(tmp_path: Path) -> None:
    """A stop reason quoting a phone number is redacted; nothing else takes free text."""
    path = tmp_path / "events.jsonl"
    emit_all(EventSink.open(str(path)))
    text = path.read_text("utf-8")
    assert "12065550100" not in text
    assert "SIGINT" in text


def test_file_is_private_and_never_replaced_or_followed(tmp_path: Path) -> None:
    """0600 from creation; an existing file is refused unless told; a symlink is refused always."""
    path = tmp_path / "events.jsonl"
    EventSink.open(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(UsageError, match="exists"):
        EventSink.open(str(path))
    EventSink.open(str(path), overwrite=True).close()
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    link = tmp_path / "link.jsonl"
    link.symlink_to(victim)
    for overwrite in (False, True):
        with pytest.raises(UsageError):
            EventSink.open(str(link), overwrite=overwrite)
    assert victim.read_text() == "keep me"


def test_each_event_is_on_disk_as_soon_as_it_is_emitted(tmp_path: Path) -> None:
    """A consumer tailing the file sees every event without waiting for the run to end."""
    path = tmp_path / "events.jsonl"
    sink = EventSink.open(str(path))
    sink.throttled(domain=EAST, request_id="a")
    assert len(read_events(path)) == 1
    sink.rate_changed(domain=EAST, rate=3.0)
    assert len(read_events(path)) == 2
    sink.close()


def test_dash_writes_to_stdout_line_by_line() -> None:
    """``--events -``: stdout carries the events, each flushed (read here through a real pipe)."""
    script = (
        "from batchproxy.report.events import EventSink\n"
        "from tests.test_report_events import emit_all\n"
        "emit_all(EventSink.open('-'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, check=True, timeout=60,
        cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 9
    for line in lines:
        VALIDATOR.validate(json.loads(line))


def test_null_sink_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --events the caller still holds a sink; it does nothing and creates no file."""
    monkeypatch.chdir(tmp_path)
    sink = EventSink.open(None)
    assert not sink.enabled
    emit_all(sink)
    assert list(tmp_path.iterdir()) == []
