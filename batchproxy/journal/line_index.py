"""Where each row's latest line is in a journal, in row order, in memory that does not grow with it.

``finalize`` rewrites the journal to one line per row, in row order, each the row's latest. Lines are
appended as rows finish (out of order across workers and domains, and again on every resume), so the
lines must be sorted by row number first. Keeping an offset per row (13 bytes a row, as before issue
13) made a run's peak memory grow with its input. Instead this is an external merge sort: lines are
noted in runs of ``RUN_LINES`` (under 2 MB with the sort's own list), each run is sorted and appended
to an unlinked temporary file, and ``latest()`` merges the runs with ``heapq.merge``, reading each in
small blocks. An input of up to ``RUN_LINES`` lines never touches the disk.
"""

from __future__ import annotations

import heapq
import tempfile
from array import array
from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter
from types import TracebackType
from typing import IO

__all__ = ["RUN_LINES", "LineIndex"]

RUN_LINES = 1 << 15  # lines per sorted run: 768 KB of arrays, and the sort's list of 32,768 indices
_BLOCK = 1024  # records read at a time from each run when merging: 24 KB per run
_FIELDS = 3  # row number, start offset, length << 8 | status code


class LineIndex:
    """Journal lines noted as ``(row number, start, end, status code)``, read back per row, in order."""

    def __init__(self, run_lines: int | None = None) -> None:
        self._run_lines = max(RUN_LINES if run_lines is None else run_lines, 1)
        self._buffer = array("q")  # _FIELDS values per line, in file order
        self._spill: IO[bytes] | None = None
        self._runs: list[tuple[int, int]] = []  # (file offset, lines) of each sorted run

    def note(self, number: int, start: int, end: int, status: int) -> None:
        self._buffer.extend((number, start, (end - start) << 8 | status))
        if len(self._buffer) >= self._run_lines * _FIELDS:
            self._spill_run()

    def latest(self) -> Iterator[tuple[int, int, int, int]]:
        """``(row number, start, length, status code)`` of each row's last noted line, by row number.

        May be called more than once; each call reads the runs again.
        """
        if self._spill is None:
            merged: Iterator[tuple[int, int, int]] = _sorted(self._buffer)
        else:
            if self._buffer:
                self._spill_run()
            # heapq.merge breaks ties by iterable order, and runs are in file order: a row's lines come
            # out oldest first, and within a run the sort is stable, so the last of a group is the latest.
            merged = heapq.merge(*(self._read_run(offset, lines) for offset, lines in self._runs))
        for number, group in groupby(merged, key=itemgetter(0)):
            *_, (_, start, packed) = group
            yield number, start, packed >> 8, packed & 0xFF

    def _spill_run(self) -> None:
        if self._spill is None:
            # Unlinked at once: nothing is left behind, whatever happens to this process.
            self._spill = tempfile.TemporaryFile(prefix="batchproxy-finalize-")  # noqa: SIM115 -- closed by close()
        offset = self._spill.seek(0, 2)
        flat = array("q")
        for record in _sorted(self._buffer):
            flat.extend(record)
        flat.tofile(self._spill)  # a run is written whole: 768 KB at most
        self._runs.append((offset, len(flat) // _FIELDS))
        self._buffer = array("q")

    def _read_run(self, offset: int, lines: int) -> Iterator[tuple[int, int, int]]:
        assert self._spill is not None
        spill = self._spill
        done = 0
        while done < lines:
            count = min(_BLOCK, lines - done)
            block = array("q")
            spill.seek(offset + done * _FIELDS * block.itemsize)
            block.fromfile(spill, count * _FIELDS)
            done += count
            yield from zip(block[0::3], block[1::3], block[2::3], strict=True)

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def __enter__(self) -> LineIndex:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _sorted(buffer: array[int]) -> Iterator[tuple[int, int, int]]:
    """The buffer's records by row number; a row's records keep their file order (a stable sort).

    Sorting positions rather than tuples keeps the sort's own memory to one list of small ints.
    """
    numbers = buffer[0::_FIELDS]
    for at in sorted(range(len(numbers)), key=numbers.__getitem__):
        first = at * _FIELDS
        yield buffer[first], buffer[first + 1], buffer[first + 2]
