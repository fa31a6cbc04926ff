"""The results journal: modes, durability, torn tails, resume decisions, finalize, failure report, lock."""

from __future__ import annotations

import csv
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest

from batchproxy import columns
from batchproxy.errors import UsageError
from batchproxy.journal import (
    Journal,
    Layout,
    OpenMode,
    ResumePlan,
    ResumeReason,
    RowNumbers,
    RunMeta,
    check_input,
    load,
    load_meta,
    lock_path,
    meta_path,
    plan_resume,
    save_meta,
)
from batchproxy.journal.layout import iso_utc, outcome_cells
from batchproxy.rows import FailureKind, Outcome, Row, SettingValues, Status, Target, proxy_settings
from batchproxy.settings import SETTINGS

HEADER = ("VoiceConnectorId", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries", "Region")
FINISHED = datetime(2026, 11, 26, 17, 30, 0, 123456, tzinfo=UTC)
OK = Outcome(status=Status.OK, attempts=1, http_status=200, request_id="req-ok", finished_at=FINISHED)
NOT_FOUND = Outcome(
    status=Status.FAILED,
    attempts=1,
    http_status=404,
    error_code="NotFoundException",
    error_message="no such connector",
    failure_kind=FailureKind.PERMANENT,
    finished_at=FINISHED,
)
TIMED_OUT = Outcome(
    status=Status.FAILED, attempts=3, error_code="ReadTimeout", failure_kind=FailureKind.UNKNOWN_OUTCOME
)
SKIPPED = Outcome(status=Status.SKIPPED, error_code="Interrupted", error_message="the run was interrupted")
REPO = Path(__file__).resolve().parent.parent


def make_row(number: int, connector: str | None = None, minutes: int = 60, region: str = "us-east-1") -> Row:
    connector = connector or f"vc-{number:06d}"
    return Row(
        number=number,
        values=(connector, str(minutes), "US;CA", region),
        target=Target(voice_connector_id=connector, region=region),
        settings=proxy_settings(
            default_session_expiry_minutes=minutes, phone_number_pool_countries=("US", "CA")
        ),
    )


def record(journal: Journal, row: Row, outcome: Outcome) -> None:
    journal.record(row.number, row.values, outcome, fingerprint=row.fingerprint())


def write_journal(path: Path, entries: Sequence[tuple[Row, Outcome]], mode: OpenMode = OpenMode.NEW) -> None:
    with Journal.open(path, HEADER, mode) as journal:
        for row, outcome in entries:
            record(journal, row, outcome)


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def by_name(path: Path) -> list[dict[str, str]]:
    header, *lines = read_csv(path)
    return [dict(zip(header, line, strict=True)) for line in lines]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return tmp_path / "input.results.csv"


# --- opening: modes, permissions, lock -----------------------------------------------------------


def test_new_creates_header_with_mode_0600(results: Path) -> None:
    """A new journal is 0600 from creation, whatever the umask, and starts with the documented header."""
    previous = os.umask(0)  # a umask that would let a file created 0644 stay 0644
    try:
        with Journal.open(results, HEADER, OpenMode.NEW):
            assert stat.S_IMODE(results.stat().st_mode) == 0o600
            assert stat.S_IMODE(lock_path(results).stat().st_mode) == 0o600
    finally:
        os.umask(previous)
    assert read_csv(results) == [[columns.ROW_COLUMN, *HEADER, *columns.RESULT_COLUMNS]]


def test_new_refuses_an_existing_file_and_leaves_it_alone(results: Path) -> None:
    """Without --resume or --force an existing results file is never touched; the message says why."""
    results.write_text("precious\n")
    save_meta(results, RunMeta(learned_rates={(None, "us-east-1"): 4.0}))
    with pytest.raises(UsageError) as caught:
        Journal.open(results, HEADER, OpenMode.NEW)
    message = str(caught.value)
    assert str(results) in message
    assert "--resume" in message
    assert "--force" in message
    assert results.read_text() == "precious\n"
    assert not lock_path(results).exists()
    assert load_meta(results).learned_rates  # the earlier run's sidecar survives for its --resume


def test_force_overwrites_and_makes_the_file_private(results: Path) -> None:
    """--force replaces an existing file's content and fixes a too-open mode to 0600."""
    results.write_text("old,content\n1,2\n")
    results.chmod(0o644)
    write_journal(results, [(make_row(1), OK)], OpenMode.FORCE)
    assert stat.S_IMODE(results.stat().st_mode) == 0o600
    assert [line["status"] for line in by_name(results)] == ["ok"]


def test_resume_appends_to_the_existing_journal(results: Path) -> None:
    """Resume keeps earlier lines and appends after them; the state shows what was there."""
    write_journal(results, [(make_row(1), OK), (make_row(2), SKIPPED)])
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        assert journal.state.existed
        assert journal.state.counts() == {Status.OK: 1, Status.SKIPPED: 1}
        record(journal, make_row(2), OK)
    assert [(line["row"], line["status"]) for line in by_name(results)] == [
        ("1", "ok"),
        ("2", "skipped"),
        ("2", "ok"),
    ]


def test_resume_without_a_results_file_starts_fresh(results: Path) -> None:
    """--resume when nothing was written yet is a new run, not an error."""
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        assert not journal.state.existed
        record(journal, make_row(1), OK)
    assert len(by_name(results)) == 1


def test_lock_file_is_removed_on_close_and_a_stale_one_does_not_block(results: Path) -> None:
    """The sidecar lock goes away on close; one left behind by a killed run (no flock held) is taken over."""
    lock_path(results).write_text("12345\n")
    with Journal.open(results, HEADER, OpenMode.NEW):
        assert lock_path(results).read_text() == f"{os.getpid()}\n"
    assert not lock_path(results).exists()


_HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from batchproxy.journal import Journal, OpenMode
    with Journal.open(Path(sys.argv[1]), sys.argv[2:], OpenMode.NEW):
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def test_a_second_writer_is_refused_while_another_process_holds_the_lock(results: Path) -> None:
    """Two runs on one results file: the second gets a UsageError naming the other; after it ends, fine."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(results), *HEADER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "locked\n"
        for mode in OpenMode:
            with pytest.raises(UsageError, match=f"another batchproxy run \\(pid {child.pid}\\) is writing"):
                Journal.open(results, HEADER, mode)
    finally:
        child.communicate("done\n", timeout=30)
    assert child.returncode == 0
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        assert journal.state.existed


# --- the line format -------------------------------------------------------------------------------


def test_a_line_carries_the_outcome_in_the_documented_formats(results: Path) -> None:
    """finished_at is ISO 8601 UTC with milliseconds; empty http_status/failure_kind when None."""
    row = make_row(7)
    snapshot = Outcome(
        status=Status.OK, http_status=200, extra={"previous_state": "none"}, finished_at=FINISHED
    )
    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        record(journal, row, snapshot)
        journal.record(8, ("", "x", "", ""), Outcome(status=Status.INVALID, error_message="bad"))
    first, invalid = by_name(results)
    assert first["row"] == "7"
    assert first["finished_at"] == "2026-11-26T17:30:00.123Z"
    assert first["http_status"] == "200"
    assert first["failure_kind"] == ""
    assert first["fingerprint"] == row.fingerprint()
    assert first["previous_state"] == "none"
    assert invalid["http_status"] == ""
    assert invalid["fingerprint"] == ""
    assert invalid["finished_at"].endswith("Z")  # no finished_at given: the time it was written


@pytest.mark.parametrize("dangerous", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_service_text_is_made_spreadsheet_safe(results: Path, dangerous: str) -> None:
    """Service text starting like a formula gets a leading quote, in every service column."""
    outcome = Outcome(
        status=Status.FAILED,
        error_code=dangerous,
        error_message=dangerous,
        request_id=dangerous,
        extra={"previous_state": dangerous},
    )
    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        journal.record(1, make_row(1).values, outcome)
    (line,) = by_name(results)
    for name in ("error_code", "error_message", "request_id", "previous_state"):
        assert line[name] == "'" + dangerous


def test_input_values_are_never_altered(results: Path) -> None:
    """An input cell like =SUM(A1), quotes, commas, newlines and unicode round-trip byte for byte."""
    values = ("=SUM(A1)", 'say "hi", then\nleave\r\n', "Zürich ☎ 東京", "-us-east-1")
    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        journal.record(1, values, OK)
    (line,) = read_csv(results)[1:]
    assert tuple(line[1 : 1 + len(HEADER)]) == values
    state = load(results, HEADER)
    assert state.counts() == {Status.OK: 1}


def test_batchproxy_columns_of_the_input_are_not_repeated(tmp_path: Path) -> None:
    """A failure report used as input: its row/status/... columns are not copied, so nothing doubles up."""
    header = (*HEADER, *columns.FAILURE_COLUMNS, "Notes")
    layout = Layout.for_input(header)
    assert layout.results_header == (columns.ROW_COLUMN, *HEADER, "Notes", *columns.RESULT_COLUMNS)
    assert layout.failure_header == (*HEADER, "Notes", *columns.FAILURE_COLUMNS)


# --- torn tails and damage -------------------------------------------------------------------------


def _three_rows(results: Path) -> int:
    write_journal(results, [(make_row(1), OK), (make_row(2), NOT_FOUND), (make_row(3), OK)])
    return results.stat().st_size


@pytest.mark.parametrize(
    "tail",
    [
        b"4,vc-000004,60,US;CA,us-ea",  # cut mid-line, no newline
        b'4,"vc\n000004",60',  # cut inside a quoted field after its embedded newline
        b'4,"vc\n',  # ... and exactly at that newline
        "4,Zürich".encode()[:-3],  # cut inside a UTF-8 sequence
        b"\0" * 512,  # zeros from a power loss
        b"garbage with a newline\n",  # a complete line that is not a results line
    ],
)
def test_a_torn_last_line_is_discarded_and_cut_off_on_resume(results: Path, tail: bytes) -> None:
    """load ignores and reports a torn tail; opening for resume truncates to the last complete line."""
    good = _three_rows(results)
    with results.open("ab") as handle:
        handle.write(tail)
    state = load(results, HEADER)
    assert (state.valid_length, state.torn_bytes, state.lines) == (good, len(tail), 3)
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        assert results.stat().st_size == good
        record(journal, make_row(4), OK)
    assert [line["row"] for line in by_name(results)] == ["1", "2", "3", "4"]


def test_a_damaged_line_with_complete_lines_after_it_is_refused(results: Path) -> None:
    """Damage in the middle is not a crash's doing: refuse rather than guess."""
    _three_rows(results)
    lines = results.read_bytes().split(b"\n")
    lines[2] = b"this is not a results line"
    results.write_bytes(b"\n".join(lines))
    with pytest.raises(UsageError, match="is damaged"):
        load(results, HEADER)


def test_a_torn_header_starts_the_journal_afresh(results: Path) -> None:
    """A crash while creating the file leaves part of the header: resume rewrites it and goes on."""
    results.write_bytes(b"row,VoiceConn")
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        assert not journal.state.existed
        record(journal, make_row(1), OK)
    assert read_csv(results)[0][:2] == ["row", "VoiceConnectorId"]
    assert len(by_name(results)) == 1


def test_another_input_header_is_refused(results: Path) -> None:
    """A journal written for an input with other columns cannot be resumed with this one."""
    _three_rows(results)
    other = ("VoiceConnectorId", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries")
    with pytest.raises(UsageError, match="results file was written for a different input"):
        Journal.open(results, other, OpenMode.RESUME)
    assert not lock_path(results).exists()


def test_a_file_that_is_not_a_results_file_is_refused(results: Path) -> None:
    """Pointing --results at some other CSV never appends to or truncates it."""
    results.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(UsageError, match="not a batchproxy results file"):
        Journal.open(results, HEADER, OpenMode.RESUME)
    assert results.read_text() == "a,b,c\n1,2,3\n"


_WRITE_FOREVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from batchproxy.journal import Journal, OpenMode
    from batchproxy.rows import Outcome, Status
    header = ("VoiceConnectorId", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries", "Region")
    with Journal.open(Path(sys.argv[1]), header, OpenMode.NEW) as journal:
        for number in range(1, 10**9):
            values = (f"vc-{number}", "60", "US;CA\\n" * 50, "us-east-1")
            journal.record(number, values, Outcome(status=Status.OK, error_message="x" * 300))
            if number % 100 == 0:
                journal.sync()
                print(number, flush=True)
    """
)


def test_after_sigkill_the_journal_is_valid_csv_and_resumable(results: Path) -> None:
    """kill -9 while writing: the file loads with at most the rows written, all well-formed, and resumes."""
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITE_FOREVER, str(results)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    reported = 0
    while reported < 2000:
        reported = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    state = load(results, HEADER)
    assert state.lines >= reported
    assert list(state.rows()) == list(range(1, state.lines + 1))
    with Journal.open(results, HEADER, OpenMode.RESUME):
        pass
    assert len(read_csv(results)) == state.lines + 1  # the whole file parses, torn tail gone


# --- resume decisions ------------------------------------------------------------------------------


def _journal_state(results: Path, entries: Sequence[tuple[Row, Outcome]]) -> Journal:
    write_journal(results, entries)
    return Journal.open(results, HEADER, OpenMode.RESUME)


def test_plan_resume_sends_exactly_the_rows_without_a_final_outcome(results: Path) -> None:
    """ok and failed are final; skipped, invalid, unknown-outcome failures and unseen rows are sent."""
    rows = [make_row(n) for n in range(1, 7)]
    invalid = Outcome(status=Status.INVALID, error_message="bad minutes")
    entries = [(rows[0], OK), (rows[1], NOT_FOUND), (rows[2], TIMED_OUT), (rows[3], SKIPPED)]
    with _journal_state(results, entries) as journal:
        journal.record(5, rows[4].values, invalid)  # invalid rows have no fingerprint
    state = load(results, HEADER)
    decisions = [plan_resume(state, row) for row in rows]
    assert [d.send for d in decisions] == [False, False, True, True, True, True]
    assert [d.reason for d in decisions] == [
        ResumeReason.DONE,
        ResumeReason.DONE,
        ResumeReason.NOT_FINAL,
        ResumeReason.NOT_FINAL,
        ResumeReason.NOT_FINAL,
        ResumeReason.NO_LINE,
    ]
    assert decisions[2].previous is Status.FAILED


def test_retry_failed_also_resends_failed_rows(results: Path) -> None:
    """--retry-failed re-sends failed rows and still leaves ok rows alone."""
    write_journal(results, [(make_row(1), OK), (make_row(2), NOT_FOUND)])
    state = load(results, HEADER)
    assert not plan_resume(state, make_row(1), retry_failed=True).send
    decision = plan_resume(state, make_row(2), retry_failed=True)
    assert (decision.send, decision.reason) == (True, ResumeReason.RETRY_FAILED)


def test_a_row_edited_since_it_was_applied_is_sent_again(results: Path) -> None:
    """The fingerprint catches edited settings, even of a final row, and says so."""
    write_journal(results, [(make_row(1), OK), (make_row(2), NOT_FOUND)])
    state = load(results, HEADER)
    for number in (1, 2):
        decision = plan_resume(state, make_row(number, minutes=90))
        assert (decision.send, decision.reason) == (True, ResumeReason.CHANGED)
    assert ResumeReason.CHANGED.value == "settings changed since it was applied: re-sending"


def _changed(values: SettingValues, **members: Any) -> SettingValues:
    return SettingValues.of(values.setting, {**values.members, **members})


def test_fingerprints_tell_every_field_apart() -> None:
    """Each field of what a row asks for changes the fingerprint, however the cells' text could align."""
    base = make_row(1, connector="ab")
    settings = base.settings
    assert settings is not None
    variants = [
        replace(base, target=Target(voice_connector_id="ab", region="us-east-1", profile="p")),
        replace(base, target=Target(voice_connector_id="ab", region="us-east-2")),
        replace(base, target=Target(voice_connector_id="a", region="bus-east-1")),
        replace(base, settings=None),
        replace(base, settings=_changed(settings, PhoneNumberPoolCountries=("USCA",))),
        replace(base, settings=_changed(settings, PhoneNumberPoolCountries=("CA", "US"))),
        replace(base, settings=_changed(settings, FallBackPhoneNumber="+14155550100")),
        replace(base, settings=_changed(settings, Disabled=False)),
        replace(base, settings=_changed(settings, Disabled=True)),
        replace(base, settings=SettingValues.of(SETTINGS["logging"], {"EnableSIPLogs": True})),
    ]
    prints = [row.fingerprint() for row in (base, *variants)]
    assert len(set(prints)) == len(prints)
    assert all(len(p) == 16 for p in prints)
    assert replace(base, number=7, values=("x",)).fingerprint() == base.fingerprint()  # settings only


def test_later_lines_supersede_earlier_ones(results: Path) -> None:
    """Resume looks at a row's latest line only."""
    row = make_row(1)
    write_journal(results, [(row, OK), (row, TIMED_OUT), (make_row(2), TIMED_OUT), (make_row(2), OK)])
    state = load(results, HEADER)
    assert plan_resume(state, row).send
    assert not plan_resume(state, make_row(2)).send
    assert state.counts() == {Status.FAILED: 1, Status.OK: 1}


def test_disappeared_rows_are_reported(results: Path) -> None:
    """Rows past the input's end and row numbers now naming another connector count as disappeared."""
    write_journal(results, [(make_row(n), OK) for n in range(1, 9)])
    state = load(results, HEADER)
    current = [make_row(n) for n in range(1, 6)]
    current[2] = make_row(3, connector="vc-replacement")
    check = check_input(state, current)
    assert (check.compared, check.other_connector, check.disappeared) == (5, 1, 4)
    assert check.disappeared_sample == (3, 6, 7, 8)
    assert "rows 3, 6, 7, 8" in check.describe_disappeared()
    decision = plan_resume(state, current[2])
    assert (decision.send, decision.reason) == (True, ResumeReason.OTHER_CONNECTOR)


def test_resume_plan_decides_as_check_input_and_plan_resume_do(results: Path) -> None:
    """The one-pass plan gives each row plan_resume's reason and check_input's answer, at a byte a row."""
    rows = [make_row(n) for n in range(1, 9)]
    invalid = Outcome(status=Status.INVALID, error_message="bad minutes")
    entries = [(rows[0], OK), (rows[1], NOT_FOUND), (rows[2], TIMED_OUT), (rows[3], SKIPPED), (rows[6], OK)]
    with _journal_state(results, entries) as journal:
        journal.record(5, rows[4].values, invalid)
    state = load(results, HEADER)
    current = [*rows[:6], make_row(7, minutes=90)]  # row 7 edited, row 8 gone
    plan = ResumePlan(state, retry_failed=True)
    for row in current:
        plan.add(row, None if row.number == 5 else row)  # row 5: invalid again, never sent
    assert plan.finish() == check_input(state, current)
    for row in current:
        expected = None if row.number == 5 else plan_resume(state, row, retry_failed=True).reason
        assert plan.reason(row.number) is expected
        assert plan.selects(row.number) is (expected is not ResumeReason.DONE)
    assert plan.reason(7) is ResumeReason.CHANGED
    assert plan.count(ResumeReason.DONE) == 1  # row 1; row 2 failed and --retry-failed
    assert plan.selects(1_000)
    assert plan.reason(1_000) is None


def test_a_reservation_released_unopened_leaves_the_results_file_as_it_was(results: Path) -> None:
    """Reserving locks and reads; only ``open`` writes (creates, or cuts a torn tail)."""
    with Journal.reserve(results, HEADER, OpenMode.RESUME) as reserved:
        assert not reserved.state.existed
        with pytest.raises(UsageError, match="another batchproxy run"):
            Journal.open(results, HEADER, OpenMode.RESUME)
    assert not results.exists()
    assert not lock_path(results).exists()
    write_journal(results, [(make_row(1), OK)])
    torn = results.read_bytes() + b"2,vc-0000"
    results.write_bytes(torn)
    with Journal.reserve(results, HEADER, OpenMode.RESUME) as reserved:
        assert reserved.state.torn_bytes == len(b"2,vc-0000")
    assert results.read_bytes() == torn
    with Journal.reserve(results, HEADER, OpenMode.RESUME) as reserved, reserved.open() as journal:
        assert journal.state.latest(1) is not None
    assert not results.read_bytes().endswith(b"2,vc-0000")


def test_a_different_input_file_is_refused(results: Path) -> None:
    """When most journaled rows name other connectors at the same row numbers, refuse the resume."""
    write_journal(results, [(make_row(n), OK) for n in range(1, 11)])
    state = load(results, HEADER)
    other = [make_row(n, connector=f"other-{n}") for n in range(1, 11)]
    with pytest.raises(UsageError, match="this results file belongs to a different input file"):
        check_input(state, other)
    region_moved = [make_row(n, region="eu-west-1") for n in range(1, 11)]
    with pytest.raises(UsageError):
        check_input(state, region_moved)


def test_a_few_edits_or_a_tiny_file_are_not_a_different_input(results: Path) -> None:
    """Half or fewer changed connectors, or under the minimum row count, resumes normally."""
    write_journal(results, [(make_row(n), OK) for n in range(1, 11)])
    state = load(results, HEADER)
    half = [make_row(n, connector=f"other-{n}" if n <= 5 else None) for n in range(1, 11)]
    assert check_input(state, half).other_connector == 5
    tiny = [make_row(n, connector=f"other-{n}") for n in range(1, 5)]
    assert check_input(state, tiny).other_connector == 4


# --- finalize and the failure report ---------------------------------------------------------------


def test_finalize_leaves_one_line_per_input_row_in_row_order(results: Path, tmp_path: Path) -> None:
    """Latest outcome per row, in row order, rows no longer in the input dropped; atomic and 0600."""
    rows = [make_row(n) for n in range(1, 6)]
    entries = [(rows[2], OK), (rows[0], TIMED_OUT), (rows[4], OK), (rows[3], SKIPPED), (make_row(9), OK)]
    write_journal(results, entries)
    input_rows = RowNumbers()
    for row in rows:
        input_rows.add(row.number)
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        for row, outcome in [(rows[0], OK), (rows[1], NOT_FOUND), (rows[3], OK)]:
            record(journal, row, outcome)
        result = journal.finalize(input_rows)
    lines = by_name(results)
    assert [(line["row"], line["status"]) for line in lines] == [
        ("1", "ok"),
        ("2", "failed"),
        ("3", "ok"),
        ("4", "ok"),
        ("5", "ok"),
    ]
    assert (result.lines, result.dropped, result.missing) == (5, 1, ())
    assert result.counts == {Status.OK: 4, Status.FAILED: 1}
    assert stat.S_IMODE(results.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [results.name]  # no .tmp, no .lock left


def test_finalize_names_input_rows_that_have_no_line(results: Path) -> None:
    """A row the engine never recorded is reported, not silently left out."""
    write_journal(results, [(make_row(1), OK)])
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        result = journal.finalize(range(1, 4))
    assert result.missing == (2, 3)


def test_records_after_finalize_go_to_the_new_file(results: Path) -> None:
    """finalize swaps the file; the journal keeps appending to the file that now has the name."""
    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        record(journal, make_row(1), OK)
        journal.finalize({1})
        record(journal, make_row(2), OK)
    assert [line["row"] for line in by_name(results)] == ["1", "2"]


def _finish(
    results: Path, header: Sequence[str], entries: Sequence[tuple[int, Sequence[str], Outcome]]
) -> Path:
    report = results.with_name("input.failed.csv")
    with Journal.open(results, header, OpenMode.FORCE) as journal:
        for number, values, outcome in entries:
            journal.record(number, values, outcome)
        journal.finalize({number for number, _, _ in entries})
        journal.write_failure_report(report)
    return report


def test_failure_report_holds_the_rows_that_are_not_ok(results: Path) -> None:
    """Input columns unchanged, then row/status/error columns; service text safe; mode 0600."""
    hostile = Outcome(
        status=Status.FAILED, attempts=5, http_status=400, error_code="Bad", error_message="=cmd()"
    )
    entries = [
        (1, make_row(1).values, OK),
        (2, ("=SUM(A1)", "60", "US", "us-east-1"), hostile),
        (3, make_row(3).values, SKIPPED),
    ]
    report = _finish(results, HEADER, entries)
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    header, *lines = read_csv(report)
    assert header == [*HEADER, *columns.FAILURE_COLUMNS]
    assert lines == [
        ["=SUM(A1)", "60", "US", "us-east-1", "2", "failed", "Bad", "'=cmd()", "400", "5"],
        [*make_row(3).values, "3", "skipped", "Interrupted", "the run was interrupted", "", "0"],
    ]


def test_failure_report_is_header_only_when_every_row_is_ok(results: Path) -> None:
    """docs/reference.md §7: the report is still written, so a re-run of it converges to nothing."""
    report = _finish(results, HEADER, [(1, make_row(1).values, OK)])
    assert read_csv(report) == [[*HEADER, *columns.FAILURE_COLUMNS]]


def _as_input(report: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    header, *lines = read_csv(report)
    return header, [(number, cells) for number, cells in enumerate(lines, start=1)]


def test_rerunning_failure_reports_converges_to_an_empty_report(results: Path) -> None:
    """Each re-run of the last failure report sends only what still failed; its report keeps one shape."""
    entries = [(n, make_row(n).values, OK if n % 2 else NOT_FOUND) for n in range(1, 9)]
    report = _finish(results, HEADER, entries)
    shapes = []
    for fixed_per_round in (2, 2):
        header, rows = _as_input(report)
        shapes.append(header)
        outcomes = [OK if i < fixed_per_round else NOT_FOUND for i in range(len(rows))]
        report = _finish(
            results, header, [(n, cells, o) for (n, cells), o in zip(rows, outcomes, strict=True)]
        )
    assert read_csv(report) == [[*HEADER, *columns.FAILURE_COLUMNS]]
    assert shapes[0] == shapes[1] == [*HEADER, *columns.FAILURE_COLUMNS]


# --- group commit, counts, metadata ----------------------------------------------------------------


async def test_run_syncer_batches_fsyncs(results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many records, few fsyncs: the syncer commits what accumulated, in a worker thread, never per row."""
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        monkeypatch.setattr(os, "fsync", counting_fsync)
        async with anyio.create_task_group() as group:
            group.start_soon(journal.run_syncer, 0.05)
            for number in range(1, 201):
                record(journal, make_row(number), OK)
                if number % 50 == 0:
                    await anyio.sleep(0.12)
            group.cancel_scope.cancel()
        during_run = len(synced)
    assert 1 <= during_run <= 12
    assert len(synced) == during_run + 1  # close fsyncs once more
    assert journal.recorded == {Status.OK: 200}


def test_meta_sidecar_round_trips_and_is_optional(results: Path) -> None:
    """Learned rates survive a resume; a missing or garbled sidecar reads as nothing learned."""
    assert load_meta(results) == RunMeta()
    meta = RunMeta(learned_rates={(None, "us-east-1"): 7.5, ("prod", "eu-west-1"): 3.0})
    save_meta(results, meta)
    assert stat.S_IMODE(meta_path(results).stat().st_mode) == 0o600
    assert load_meta(results) == meta
    meta_path(results).write_text("{not json")
    assert load_meta(results) == RunMeta()


def test_a_new_run_forgets_what_an_earlier_run_learned(results: Path) -> None:
    """--force (or a new run) removes the sidecar; --resume keeps it."""
    save_meta(results, RunMeta(learned_rates={(None, "us-east-1"): 7.5}))
    write_journal(results, [], OpenMode.RESUME)
    assert meta_path(results).exists()
    write_journal(results, [], OpenMode.FORCE)
    assert not meta_path(results).exists()


def test_proxy_fingerprints_are_those_of_results_files_written_before_settings() -> None:
    """Pinned from the code before every setting went through the engine: such a results file still
    resumes without sending its done rows again (which would also overwrite their previous_state)."""
    target = Target(voice_connector_id="vc-1", region="us-east-1", profile="ops")
    plain = proxy_settings(default_session_expiry_minutes=60, phone_number_pool_countries=("US", "CA"))
    full = proxy_settings(
        default_session_expiry_minutes=5,
        phone_number_pool_countries=("GB",),
        fall_back_phone_number="+14155550100",
        disabled=True,
    )
    prints = [Row(number=1, values=(), target=target, settings=s).fingerprint() for s in (plain, full, None)]
    assert prints == ["d1f64ee337bd8b17", "582fee0ad9dd46e4", "7f61fa807bd48af3"]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 27, 15, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 27, 15, 0, 0, 123456),  # naive: taken as UTC
        datetime(2026, 11, 27, 17, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_finished_at_is_utc_to_the_millisecond_whatever_the_zone(moment: datetime) -> None:
    assert iso_utc(moment) == "2026-11-27T15:00:00.123Z"
    assert iso_utc(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"


def test_result_cells_follow_the_result_columns_with_and_without_extra() -> None:
    moment = datetime(2026, 11, 27, 15, 0, 0, tzinfo=UTC)
    plain = Outcome(
        status=Status.FAILED,
        attempts=3,
        http_status=503,
        error_code="ServiceUnavailableException",
        error_message="try later",
        request_id="r-1",
        duration_ms=1234,
        finished_at=moment,
        failure_kind=FailureKind.TRANSIENT,
    )
    expected = {
        "status": "failed",
        "attempts": "3",
        "http_status": "503",
        "error_code": "ServiceUnavailableException",
        "error_message": "try later",
        "request_id": "r-1",
        "duration_ms": "1234",
        "finished_at": "2026-11-27T15:00:00.000Z",
        "failure_kind": FailureKind.TRANSIENT.value,
        "fingerprint": "f" * 16,
    }
    snapshot = replace(plain, extra={"previous_state": "=cmd", "action": "unchanged"})
    for outcome, extra in ((plain, ["", ""]), (snapshot, ["'=cmd", "unchanged"])):
        cells = outcome_cells(outcome, "f" * 16)
        assert dict(zip(columns.RESULT_COLUMNS, cells, strict=True)) == expected | dict(
            zip(columns.EXTRA_RESULT_COLUMNS, extra, strict=True)
        )
