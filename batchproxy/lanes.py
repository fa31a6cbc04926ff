"""One queue of rows per (profile, region), so a slow region never holds the others back.

Rows arrive in input order, mixed across regions. Each region's rows wait in their own ``Lane`` for
that region's workers. A lane keeps a few rows in memory; when a slow region's lane is full while
another region is starving for rows, the reader does not stop — the slow lane's surplus goes to a
temporary file and comes back in order later. When every busy lane is full, the reader waits: that is
the backpressure that keeps a single-region run from reading ahead at all.
"""

from __future__ import annotations

import collections
import pickle
import struct
import tempfile
from collections.abc import Iterator
from typing import IO

import anyio

from batchproxy.rows import Row

__all__ = ["Lane", "Lanes"]

_LENGTH = struct.Struct("<I")


class _Spill:
    """A FIFO of rows in an unlinked temporary file: appended at the end, read from the front."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._read_at = 0
        self._write_at = 0
        self.count = 0

    def push(self, row: Row) -> None:
        if self._file is None:
            # Lives as long as the lane (closed by drain), not one block: a context manager can't say that.
            self._file = tempfile.TemporaryFile(prefix="batchproxy-lane-")  # noqa: SIM115
        data = pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.seek(self._write_at)
        self._file.write(_LENGTH.pack(len(data)) + data)
        self._write_at = self._file.tell()
        self.count += 1

    def pop(self) -> Row:
        assert self._file is not None, "pop from a spill that never had a row"
        self._file.seek(self._read_at)
        (length,) = _LENGTH.unpack(self._file.read(_LENGTH.size))
        row: Row = pickle.loads(self._file.read(length))
        self._read_at = self._file.tell()
        self.count -= 1
        if not self.count:  # start over, so a long run's spill file does not keep growing
            self._file.truncate(0)
            self._read_at = self._write_at = 0
        return row

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Lane:
    """The rows of one (profile, region) waiting for a worker, in input order."""

    def __init__(self, memory_rows: int) -> None:
        self._memory: collections.deque[Row] = collections.deque()
        self._spill = _Spill()
        self._memory_rows = memory_rows
        self._closed = False
        self._changed = anyio.Event()

    @property
    def full(self) -> bool:
        return len(self._memory) >= self._memory_rows

    @property
    def empty(self) -> bool:
        return not self._memory and not self._spill.count

    def put(self, row: Row) -> None:
        # Once anything is spilled, new rows go behind it to keep input order.
        if self._spill.count or self.full:
            self._spill.push(row)
        else:
            self._memory.append(row)
        self._wake()

    def close(self) -> None:
        self._closed = True
        self._wake()

    async def get(self) -> Row | None:
        """The next row, waiting for one; None once the lane is closed and empty."""
        while self.empty:
            if self._closed:
                self._spill.close()  # the lane is done: its temporary file goes now, not at GC
                return None
            changed = self._changed
            await changed.wait()
        return self.take()

    def take(self) -> Row:
        row = self._memory.popleft() if self._memory else self._spill.pop()
        while self._spill.count and not self.full:
            self._memory.append(self._spill.pop())
        return row

    def drain(self) -> Iterator[Row]:
        while not self.empty:
            yield self.take()
        self._spill.close()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


class Lanes:
    """The lanes of a run, and the reader's rule for when to wait."""

    def __init__(self, memory_rows: int) -> None:
        self._memory_rows = memory_rows
        self.by_domain: dict[tuple[str | None, str], Lane] = {}
        self._room = anyio.Event()

    def lane(self, domain: tuple[str | None, str]) -> tuple[Lane, bool]:
        """The lane for ``domain``, and whether it was just created (it then needs workers)."""
        existing = self.by_domain.get(domain)
        if existing is not None:
            return existing, False
        created = self.by_domain[domain] = Lane(self._memory_rows)
        return created, True

    async def wait_for_room(self, lane: Lane) -> None:
        """Wait while ``lane`` is full and no other lane is starving (then spilling would gain nothing)."""
        while lane.full and not any(other.empty for other in self.by_domain.values() if other is not lane):
            room = self._room
            await room.wait()

    def taken(self) -> None:
        """A worker took a row: the reader may have room again."""
        self._room.set()
        self._room = anyio.Event()

    def close(self) -> None:
        for lane in self.by_domain.values():
            lane.close()

    def drain(self) -> Iterator[Row]:
        for lane in self.by_domain.values():
            yield from lane.drain()
