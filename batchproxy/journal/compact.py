"""Finishing a run: the results file rewritten to one line per input row, and the failure report.

Both are written atomically (temporary file, fsync, rename, fsync of the directory), so a crash at
any moment leaves either the complete old journal or the complete new file; either one resumes.
Memory stays flat: one pass notes where every line is (``line_index``: sorted runs spilled to a
temporary file), then each row's latest line is copied in row order with positioned reads.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from batchproxy import columns
from batchproxy.errors import UsageError
from batchproxy.journal.files import atomic_replace
from batchproxy.journal.layout import Layout, LineFormatter
from batchproxy.journal.line_index import LineIndex
from batchproxy.journal.reader import JournalReader
from batchproxy.rows import Status

__all__ = ["FinalizeResult", "Noted", "RowNumbers", "compact", "status_code", "write_failure_report"]

_STATUS_BY_CODE = (None, *Status)
_CODE_BY_STATUS = {s.value: i for i, s in enumerate(_STATUS_BY_CODE) if s is not None}
_OK_CODE = _CODE_BY_STATUS[Status.OK.value]
# How many rows without a line to name in the result; the engine should never produce any.
_SAMPLE = 20


class RowNumbers(Collection[int]):
    """A set of row numbers at one byte per possible row: the input's rows, for ``finalize``.

    Row numbers are dense (blank lines are the only gaps), so a bytearray beats a ``set`` of ints
    by a factor of about 60 in memory.
    """

    def __init__(self) -> None:
        self._present = bytearray()
        self._count = 0

    def add(self, number: int) -> None:
        if number >= len(self._present):
            self._present.extend(bytes(number + 1 - len(self._present)))
        if not self._present[number]:
            self._present[number] = 1
            self._count += 1

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and 0 <= number < len(self._present) and bool(self._present[number])

    def __iter__(self) -> Iterator[int]:
        return (n for n, present in enumerate(self._present) if present)

    def __len__(self) -> int:
        return self._count


@dataclass(frozen=True, slots=True)
class FinalizeResult:
    lines: int  # lines in the rewritten file: one per input row that had an outcome
    counts: Counter[Status]  # per status, over those lines
    dropped: int  # journaled rows that are not in the input any more, left out
    missing: tuple[int, ...] = ()  # input rows without any line (first few): an engine bug if any


def status_code(status: Status) -> int:
    """The one-byte code of a status, as a ``LineIndex`` keeps it."""
    return _CODE_BY_STATUS[status.value]


@dataclass(frozen=True, slots=True)
class Noted:
    """Every line of a journal as its writer noted them, so finalize need not parse the file."""

    header_length: int
    index: LineIndex


def _index(path: Path, layout: Layout, index: LineIndex) -> int:
    """Note every line of ``path`` in ``index``; returns the length of the header."""
    status_at = layout.result_at("status")
    with path.open("rb") as raw:
        reader = JournalReader(raw, layout, path)
        if not reader.read_header():
            raise UsageError(f"{path} lost its header; cannot finish the run")
        header_length = reader.valid_length
        for start, end, number, cells in reader:
            index.note(number, start, end, _CODE_BY_STATUS[cells[status_at]])
    return header_length


def compact(
    path: Path,
    layout: Layout,
    input_rows: Collection[int],
    noted: Noted | None = None,
    not_ok: LineIndex | None = None,
) -> FinalizeResult:
    """Rewrite ``path`` to hold exactly the latest line of each row in ``input_rows``, in row order.

    ``noted``: where the writer put every line of ``path``; without it, ``path`` is read to find out.
    ``not_ok``: where the lines of rows that are not ok are noted in the new file (for the failure
    report, which then reads only those).
    """
    counts: Counter[Status] = Counter()
    dropped = 0
    with noted.index if noted is not None else LineIndex() as index:
        header_length = noted.header_length if noted is not None else _index(path, layout, index)
        with path.open("rb") as source, atomic_replace(path) as out:
            read = source.fileno()
            written = out.write(os.pread(read, header_length, 0))
            for number, start, length, code in index.latest():
                if number not in input_rows:
                    dropped += 1
                    continue
                out.write(os.pread(read, length, start))
                if not_ok is not None and code != _OK_CODE:
                    not_ok.note(number, written, written + length, code)
                written += length
                status = _STATUS_BY_CODE[code]
                if status is not None:
                    counts[status] += 1
        lines = sum(counts.values())
        missing: tuple[int, ...] = ()
        if lines < len(input_rows):
            missing = tuple(islice(_without_line(input_rows, index), _SAMPLE))
    return FinalizeResult(lines, counts, dropped, missing)


def _without_line(input_rows: Collection[int], index: LineIndex) -> Iterator[int]:
    """Input rows that have no line, ascending: both sides are walked in row order, side by side."""
    with_line = (number for number, *_ in index.latest())
    seen = next(with_line, None)
    for number in sorted(input_rows):
        while seen is not None and seen < number:
            seen = next(with_line, None)
        if seen != number:
            yield number


def write_failure_report(results: Path, report: Path, layout: Layout, not_ok: LineIndex | None = None) -> int:
    """Write the rows of a finished results file whose status is not ok; returns how many.

    Header only when every row is ok (docs/reference.md §7). The service text is copied as the results file
    has it, already spreadsheet-safe; the input cells are copied unchanged. ``row`` is the row number
    in the input that produced ``results``. ``not_ok`` (from ``compact``): where those rows' lines
    are, so that only they are read; without it the whole file is.
    """
    format_line = LineFormatter()
    kept = len(layout.kept)
    picks = [0 if name == columns.ROW_COLUMN else layout.result_at(name) for name in columns.FAILURE_COLUMNS]
    written = 0
    with results.open("rb") as raw, atomic_replace(report) as out:
        out.write(format_line(layout.failure_header))
        for cells in _not_ok_lines(raw, results, layout) if not_ok is None else _noted_lines(raw, not_ok):
            out.write(format_line([*cells[1 : 1 + kept], *(cells[i] for i in picks)]))
            written += 1
    return written


def _not_ok_lines(raw: BinaryIO, results: Path, layout: Layout) -> Iterator[list[str]]:
    reader = JournalReader(raw, layout, results)
    if not reader.read_header():
        raise UsageError(f"{results} lost its header; cannot write the failure report")
    status_at = layout.result_at("status")
    for _start, _end, _number, cells in reader:
        if cells[status_at] != Status.OK.value:
            yield cells


def _noted_lines(raw: BinaryIO, not_ok: LineIndex) -> Iterator[list[str]]:
    """The noted lines, each parsed alone (a line may hold a quoted line break: csv reads it whole)."""
    for _number, start, length, _code in not_ok.latest():
        text = os.pread(raw.fileno(), length, start).decode("utf-8")
        yield next(csv.reader(io.StringIO(text, newline=""), strict=True))
