"""The row queue of one (profile, region), so a slow region never holds the others back.

Rows arrive in input order, mixed across regions. Each domain's rows wait in their own ``RowQueue``
(inside its ``domains.RateDomain``) for the shared workers. A queue keeps a few rows in memory; when a
slow domain's queue is full while another domain is starving for rows, the reader does not stop — the
slow queue's surplus goes to a temporary file and comes back in order later. When every busy queue is
full, the reader waits (``domains.Domains.wait_for_room``): that is the backpressure that keeps a
single-domain run from reading ahead at all.
"""

from __future__ import annotations

import collections
import pickle
import struct
import tempfile
from collections.abc import Iterator
from typing import IO

from batchproxy.rows import Row

__all__ = ["RowQueue"]

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
            # Lives as long as the queue (closed when it runs out), not one block: a context manager
            # can't say that.
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


class RowQueue:
    """The rows of one (profile, region) waiting for a worker, in input order."""

    def __init__(self, memory_rows: int) -> None:
        self._memory: collections.deque[Row] = collections.deque()
        self._spill = _Spill()
        self._memory_rows = memory_rows

    def __len__(self) -> int:
        return len(self._memory) + self._spill.count

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

    def take(self) -> Row:
        row = self._memory.popleft() if self._memory else self._spill.pop()
        while self._spill.count and not self.full:
            self._memory.append(self._spill.pop())
        if self.empty:
            self._spill.close()  # nothing spilled is waiting: the temporary file goes now, not at GC
        return row

    def drain(self) -> Iterator[Row]:
        while not self.empty:
            yield self.take()
        self._spill.close()
