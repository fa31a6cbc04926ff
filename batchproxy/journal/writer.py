"""The results file while a run writes it: an append-only journal with group commit.

Durability: every record goes to the OS in one ``write`` as soon as its row finishes, so ``kill -9``
loses at most the records not yet written, and the file is valid CSV up to its last complete line.
``fsync`` is batched: ``run_syncer`` fsyncs at most every ``interval`` seconds (0.2 by default) in a
worker thread, so a power loss takes back at most the rows that finished in that window; each such row
is simply sent again on resume (the put is idempotent). ``close`` fsyncs a last time.
"""

from __future__ import annotations

import contextlib
import enum
import os
import stat
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path
from types import TracebackType

import anyio
import anyio.to_thread

from batchproxy.errors import UsageError
from batchproxy.journal.compact import FinalizeResult, Noted, compact, status_code, write_failure_report
from batchproxy.journal.files import fsync_directory, open_private, translated, write_all
from batchproxy.journal.layout import Layout, LineFormatter
from batchproxy.journal.line_index import LineIndex
from batchproxy.journal.lock import ResultsLock
from batchproxy.journal.meta import discard_meta
from batchproxy.journal.state import JournalState, load
from batchproxy.rows import Outcome, Status

__all__ = ["DEFAULT_SYNC_INTERVAL", "Journal", "OpenMode", "Reservation"]

# The group-commit window: how much finished work a power loss can take back, against one fsync per
# interval. A fifth of a second is below what an operator notices and a handful of fsyncs a second.
DEFAULT_SYNC_INTERVAL = 0.2
_APPEND = os.O_WRONLY | os.O_APPEND


class OpenMode(enum.StrEnum):
    NEW = "new"  # the results file must not exist yet
    FORCE = "force"  # overwrite whatever is there (--force)
    RESUME = "resume"  # append to an earlier run's journal (--resume); a missing one starts fresh


class Journal:
    """An open, locked results file. Not thread-safe: call it from the event loop's thread."""

    def __init__(self, path: Path, state: JournalState, fd: int, lock: ResultsLock) -> None:
        self.path = path
        self.state = state  # what the file held when opened (empty unless resuming)
        self.layout: Layout = state.layout
        self.recorded: Counter[Status] = Counter()  # outcomes recorded by this run, per status
        self._fd: int | None = fd
        # Where the last complete line ends: a write that fails half-way is cut back to here, so the
        # file stays valid CSV up to its last complete line even on a full disk.
        self._end = os.fstat(fd).st_size
        self._lock = lock
        self._format = LineFormatter()
        # A journal this run started holds only lines this run wrote: noting each as it is written
        # spares finalize a CSV parse of the whole file. A resumed one is parsed at finalize instead.
        self._noted = None if state.existed else Noted(self._end, LineIndex())
        self._not_ok: LineIndex | None = None  # after finalize: where the failure report's rows are
        self._dirty = False
        self._syncing = False
        self._finalized = False

    @classmethod
    def open(cls, path: Path, input_header: Sequence[str], mode: OpenMode) -> Journal:
        """Lock and open ``path``; on resume also read it and cut off a torn last line.

        ``input_header`` is the input's header cells exactly as read. Raises ``UsageError`` when another
        run holds the file, when it exists and ``mode`` is NEW, or when it cannot be resumed.
        """
        with cls.reserve(path, input_header, mode) as reserved:
            return reserved.open()

    @classmethod
    def reserve(cls, path: Path, input_header: Sequence[str], mode: OpenMode) -> Reservation:
        """``open`` in two steps: lock ``path`` and (on resume) read it now, write to it later.

        Lets a resume know what the file holds while it validates the input, and still leave the file
        untouched (no results file created, no torn line cut) when the input turns out invalid.
        """
        lock = ResultsLock(path)
        lock.acquire()
        try:
            state = (
                load(path, input_header)
                if mode is OpenMode.RESUME
                else JournalState(path, Layout.for_input(input_header))
            )
        except BaseException:
            lock.release()
            raise
        return Reservation(path, state, mode, lock)

    def record(self, number: int, values: Sequence[str], outcome: Outcome, *, fingerprint: str = "") -> None:
        """Append the line of one finished row: ``values`` as read, ``fingerprint`` "" for invalid rows.

        Raises ``JournalWriteError`` when the line cannot be written whole (disk full, file-size limit,
        I/O error); the part that was written is cut off again, and every earlier line is kept.
        """
        if self._fd is None:
            raise RuntimeError(f"journal {self.path} is closed")
        line = self._format(self.layout.result_line(number, values, outcome, fingerprint))
        try:
            with translated(self.path, "record a row in"):
                write_all(self._fd, line)
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._end)  # shrinking needs no space and passes any size limit
            raise
        if self._noted is not None:
            self._noted.index.note(number, self._end, self._end + len(line), status_code(outcome.status))
        self._forget_not_ok()  # a line after finalize: the failure report reads the whole file again
        self._end += len(line)
        self._dirty = True
        self.recorded[outcome.status] += 1

    def sync(self) -> None:
        """fsync now if anything was written since the last fsync (blocks: not for the event loop)."""
        if self._dirty and self._fd is not None:
            self._dirty = False
            with translated(self.path, "sync"):
                os.fsync(self._fd)

    async def run_syncer(self, interval: float = DEFAULT_SYNC_INTERVAL) -> None:
        """Group commit: fsync every ``interval`` seconds while there is news, until cancelled.

        Run it in the engine's task group; cancel it before ``finalize`` or ``close`` (anyio waits for
        a running fsync thread to return before the cancellation completes). Records written during an
        fsync set the flag again and are covered by the next one.
        """
        while True:
            await anyio.sleep(interval)
            if self._dirty and self._fd is not None:
                self._dirty = False
                self._syncing = True
                try:
                    with translated(self.path, "sync"):
                        await anyio.to_thread.run_sync(os.fsync, self._fd)
                finally:
                    self._syncing = False

    def finalize(self, input_rows: Collection[int]) -> FinalizeResult:
        """Rewrite the file atomically to one line per input row, latest outcome, in row order.

        ``input_rows``: every input row number, valid or not (a ``RowNumbers``, ``set`` or ``range``;
        membership is tested once per journaled row). Lines of rows the input no longer has are dropped.
        Also safe after an interrupted run whose remaining rows were recorded ``skipped``.
        """
        if self._fd is None:
            raise RuntimeError(f"journal {self.path} is closed")
        self._refuse_while_syncing("finalizing")
        self.sync()
        noted, self._noted = self._noted, None  # the rewritten file has other offsets
        self._forget_not_ok()
        self._not_ok = LineIndex()
        try:
            result = compact(self.path, self.layout, input_rows, noted, self._not_ok)
        except BaseException:
            self._forget_not_ok()
            raise
        finally:
            if noted is not None:
                noted.index.close()
        # The old descriptor points at the replaced file; later records must go to the new one.
        os.close(self._fd)
        self._fd = open_private(self.path, _APPEND)
        self._end = os.fstat(self._fd).st_size
        self._finalized = True
        return result

    def write_failure_report(self, path: Path) -> int:
        """After ``finalize``: write the rows that are not ok to ``path`` (atomic, 0600); returns how many."""
        if not self._finalized:
            raise RuntimeError("write_failure_report needs a finalized results file")
        try:
            return write_failure_report(self.path, path, self.layout, self._not_ok)
        finally:
            self._forget_not_ok()  # once: a later finalize notes them afresh

    def _forget_not_ok(self) -> None:
        if self._not_ok is not None:
            self._not_ok.close()
            self._not_ok = None

    def close(self) -> None:
        """fsync, close and unlock. Idempotent."""
        if self._fd is None:
            return
        self._refuse_while_syncing("closing")
        if self._noted is not None:
            self._noted.index.close()
            self._noted = None
        self._forget_not_ok()
        try:
            self._dirty = True  # a last fsync unconditionally: cheap, and covers finalize's reopen
            self.sync()
        finally:
            os.close(self._fd)
            self._fd = None
            self._lock.release()

    def _refuse_while_syncing(self, doing: str) -> None:
        # An fsync in a worker thread on a descriptor closed (and maybe reused) under it would be a bug
        # that corrupts nothing visibly; fail loudly instead.
        if self._syncing:
            raise RuntimeError(f"cancel run_syncer before {doing} the journal")

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Reservation:
    """A results file locked for this run and, on resume, read; not written to until ``open``.

    Use it as a context manager: leaving without ``open`` releases the lock and leaves the file as it
    was. After ``open`` the ``Journal`` owns the lock.
    """

    def __init__(self, path: Path, state: JournalState, mode: OpenMode, lock: ResultsLock) -> None:
        self.path = path
        self.state = state  # what the file held when reserved (empty unless resuming)
        self._mode = mode
        self._lock: ResultsLock | None = lock

    def open(self) -> Journal:
        """Create, overwrite or append to the file as the mode says (cutting a torn last line)."""
        if self._lock is None:
            raise RuntimeError(f"the reservation of {self.path} was already used or released")
        fd = _open_locked(self.path, self.state, self._mode)  # on failure the lock stays ours to release
        lock, self._lock = self._lock, None
        return Journal(self.path, self.state, fd, lock)

    def release(self) -> None:
        """Give the lock back without writing anything. Idempotent; a no-op after ``open``."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _open_locked(path: Path, state: JournalState, mode: OpenMode) -> int:
    if mode is OpenMode.RESUME:
        if state.existed:
            fd = open_private(path, _APPEND)
            if state.torn_bytes:
                try:
                    with translated(path, "cut the torn last line of"):
                        os.ftruncate(fd, state.valid_length)
                        os.fsync(fd)
                except BaseException:
                    os.close(fd)
                    raise
            return fd
        # No file, or only a torn header from a crash at creation: start it afresh.
        return _create(path, state.layout, os.O_CREAT | os.O_TRUNC)
    flags = os.O_CREAT | (os.O_TRUNC if mode is OpenMode.FORCE else os.O_EXCL)
    fd = _create(path, state.layout, flags)
    discard_meta(path)  # only now: a refused NEW must leave the earlier run's sidecar for its --resume
    return fd


def _create(path: Path, layout: Layout, flags: int) -> int:
    try:
        fd = open_private(path, _APPEND | flags)
    except FileExistsError:
        if path.is_symlink() or not stat.S_ISREG(os.lstat(path).st_mode):
            kind = "a symbolic link" if path.is_symlink() else "not a regular file"
            raise UsageError(
                f"results file {path} is {kind}; batchproxy writes only plain files, never through "
                "links. Remove it or choose another --results path."
            ) from None
        raise UsageError(
            f"results file {path} already exists: "
            "use --resume to continue that run, or --force to overwrite it"
        ) from None
    try:
        with translated(path, "write the header of"):
            write_all(fd, LineFormatter()(layout.results_header))
            os.fsync(fd)
            fsync_directory(path)  # the file's existence must survive a power loss too
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()  # nothing was recorded in it: leave no half-made results file behind
        raise
    return fd
