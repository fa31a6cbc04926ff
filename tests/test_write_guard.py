"""The job's side of a failed write: caught at the record, the run aborted once, nothing more written."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest

from batchproxy.errors import JournalWriteError
from batchproxy.exit_codes import ExitCode
from batchproxy.operations.base import Background, SinkEnding, SinkResult
from batchproxy.rows import Outcome, Row, Status
from batchproxy.write_guard import WriteGuard, write_failed
from tests.test_journal import make_row

FULL = JournalWriteError(Path("/x/in.results.csv"), "record a row in", OSError(errno.ENOSPC, "No space left"))


class FailingSink:
    """A sink whose ``fail_at``-th record raises the disk-full error; counts what it was asked."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.recorded: list[int] = []

    def record(self, row: Row, outcome: Outcome) -> None:
        if len(self.recorded) + 1 == self.fail_at:
            raise FULL
        self.recorded.append(row.number)

    def record_invalid(self, row: object, outcome: Outcome) -> None:
        raise AssertionError("not used here")

    def background(self) -> Sequence[Background]:
        async def syncer() -> None:
            raise FULL

        return (syncer,)

    def finish(self, ending: SinkEnding) -> SinkResult:
        raise AssertionError("a failed run is not finished")


def test_the_first_failure_aborts_once_and_later_records_are_dropped() -> None:
    sink = FailingSink(fail_at=3)
    guard = WriteGuard(sink)
    aborts: list[str] = []
    guard.on_failure = aborts.append
    for number in range(1, 7):
        guard.record(make_row(number), Outcome(status=Status.SKIPPED))
    assert sink.recorded == [1, 2]
    assert guard.error is FULL
    assert aborts == [f"a write failed: {FULL}"]


async def test_a_failure_in_the_group_commit_is_caught_too() -> None:
    guard = WriteGuard(FailingSink(fail_at=99))
    aborts: list[str] = []
    guard.on_failure = aborts.append
    async with anyio.create_task_group() as group:
        for task in guard.background():
            group.start_soon(task)
    assert guard.error is FULL
    assert len(aborts) == 1


@pytest.mark.parametrize(("sent", "code"), [(True, ExitCode.NOT_ALL_OK), (False, ExitCode.USAGE)])
def test_the_message_once_the_stale_report_removed_and_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sent: bool, code: ExitCode
) -> None:
    report = tmp_path / "in.failed.csv"
    report.write_text("an earlier run's report\n")
    assert write_failed(FULL, failures_path=report, sent=sent) == code
    assert not report.exists()
    err = capsys.readouterr().err
    assert err.count(str(FULL)) == 1
    assert f"removed the earlier failure report {report}" in err
    assert write_failed(FULL, failures_path=report, sent=sent) == code  # nothing to remove: fine
