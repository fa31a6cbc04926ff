"""When one of our files cannot be written mid-run (a full disk, ``ulimit -f``, EIO): stop cleanly.

``journal.files`` turns the OS error into ``JournalWriteError`` at the write that failed, and the
journal is cut back to its last complete line, so everything recorded before is intact. What is left is
the job's side (issue 10 item 4), done here:

* the error must not escape a worker or the group commit as an exception-group traceback: the
  ``WriteGuard`` stands between the scheduler and the sink, catches it at the record (or in the
  background task) and aborts the scheduler at once, as a Ctrl-C would;
* nothing more is written: the ``skipped`` lines an abort records would fail the same way, and a
  finalize would rewrite a file that cannot be written; the journal as it is resumes;
* a failure report left by an earlier run at the same path would describe rows that may since have
  been sent again, so it is removed;
* one message, and the exit code says whether anything was sent: 1 if a request went out (the run
  happened, partly), 2 if none did (docs/reference.md §5).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from batchproxy import input as input_file
from batchproxy.errors import JournalWriteError
from batchproxy.exit_codes import ExitCode
from batchproxy.operations import Sink
from batchproxy.operations.base import Background
from batchproxy.rows import Outcome, Row

__all__ = ["WriteGuard", "write_failed"]


class WriteGuard:
    """The scheduler's recorder: the sink's writes, with the first write failure caught and kept.

    ``on_failure`` is told once (the scheduler's abort); after a failure every record is dropped.
    """

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self.error: JournalWriteError | None = None
        self.on_failure: Callable[[str], None] | None = None

    def record(self, row: Row, outcome: Outcome) -> None:
        if self.error is None:
            try:
                self._sink.record(row, outcome)
            except JournalWriteError as exc:
                self._failed(exc)

    def record_invalid(self, row: input_file.InvalidRow, outcome: Outcome) -> None:
        if self.error is None:
            try:
                self._sink.record_invalid(row, outcome)
            except JournalWriteError as exc:
                self._failed(exc)

    def background(self) -> Sequence[Background]:
        """The sink's background tasks (the journal's group commit), each guarded alike."""
        return tuple(self._guarded(task) for task in self._sink.background())

    def _guarded(self, task: Background) -> Background:
        async def guarded() -> None:
            try:
                await task()
            except JournalWriteError as exc:
                self._failed(exc)

        return guarded

    def _failed(self, exc: JournalWriteError) -> None:
        if self.error is not None:
            return
        self.error = exc
        if self.on_failure is not None:
            self.on_failure(f"a write failed: {exc}")


def write_failed(error: JournalWriteError, *, failures_path: Path | None, sent: bool) -> ExitCode:
    """Say what failed once, remove a stale failure report, and give the exit code (1 if sent, else 2)."""
    removed = failures_path is not None and _remove(failures_path)
    print(f"batchproxy: {error}", file=sys.stderr)
    if removed:
        print(f"batchproxy: removed the earlier failure report {failures_path}", file=sys.stderr)
    return ExitCode.NOT_ALL_OK if sent else ExitCode.USAGE


def _remove(path: Path) -> bool:
    """Unlink ``path`` if something is there (a link itself, never its target)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
        return True
    return False
