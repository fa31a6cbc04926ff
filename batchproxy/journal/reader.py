"""Reading a results file back, line by line, telling a crash's torn tail from real damage.

The writer ends every record with a newline in one ``write``, so after ``kill -9`` or a power loss the
file is valid up to its last complete record, followed by at most a partial one: bytes without a final
newline, a record cut inside a quoted field, a cut UTF-8 sequence, or (after a power loss) a block of
zeros. Any bad record that nothing complete follows is that tail and is discarded; a bad record with
complete lines after it is not something a crash produces, and the file is refused.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from batchproxy import columns
from batchproxy.errors import UsageError
from batchproxy.journal.layout import Layout, LineFormatter
from batchproxy.rows import Status

__all__ = ["MAX_ROW_NUMBER", "JournalReader", "Record"]

# A row number this high cannot come from a real input (1M rows is the largest we plan for); refusing
# it keeps a damaged line from making the per-row arrays allocate gigabytes.
MAX_ROW_NUMBER = 50_000_000
_STATUSES = frozenset(s.value for s in Status)
_SCAN_CHUNK = 1 << 16

# (start offset, end offset, row number, cells) of one complete, well-formed record.
Record = tuple[int, int, int, list[str]]


class _Lines:
    """The file's newline-terminated lines as text, for ``csv.reader``, counting bytes consumed.

    It stops before a final line without a newline: that can only be a torn write.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.position = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._raw.readline()
        if not line.endswith(b"\n"):
            raise StopIteration
        self.position += len(line)
        return line.decode("utf-8")


class JournalReader:
    """Iterates the records of one results file after checking its header against the input's."""

    def __init__(self, raw: BinaryIO, layout: Layout, path: Path) -> None:
        self._raw = raw
        self._layout = layout
        self._path = path
        self._lines = _Lines(raw)
        self._csv = csv.reader(self._lines, strict=True)
        self._status_at = layout.result_at("status")
        self._width = layout.width
        self.size = os.fstat(raw.fileno()).st_size
        self.valid_length = 0  # bytes up to the end of the last good record (or of the header)
        self.records = 0

    @property
    def torn_bytes(self) -> int:
        """Bytes after the last good record: the torn tail to discard."""
        return self.size - self.valid_length

    def read_header(self) -> bool:
        """Check the header; False when the file holds no complete header (empty, or torn while created)."""
        expected = self._layout.results_header
        try:
            header = next(self._csv)
        except (StopIteration, csv.Error, UnicodeDecodeError):
            if self._is_torn_header(expected):
                return False
            raise self._not_ours() from None
        if tuple(header) != expected:
            raise self._header_problem(header)
        self.valid_length = self._lines.position
        return True

    def __iter__(self) -> Iterator[Record]:
        while True:
            start = self._lines.position
            try:
                cells = next(self._csv)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                self._bad_record(start, str(exc))
                return
            number = self._row_number(cells)
            if not number:
                self._bad_record(start, self._problem(cells))
                return
            self.records += 1
            self.valid_length = self._lines.position
            yield start, self.valid_length, number, cells

    def _row_number(self, cells: list[str]) -> int:
        """The record's row number, or 0 if the record is not a well-formed results line."""
        if len(cells) != self._width or cells[self._status_at] not in _STATUSES:
            return 0
        row = cells[0]
        if not (row.isascii() and row.isdigit() and len(row) <= 9):
            return 0
        number = int(row)
        return number if number <= MAX_ROW_NUMBER else 0

    def _problem(self, cells: list[str]) -> str:
        """What ``_row_number`` disliked, for the message."""
        if len(cells) != self._layout.width:
            return f"{len(cells)} fields where {self._layout.width} were expected"
        if cells[self._status_at] not in _STATUSES:
            return f"status {cells[self._status_at][:20]!r}"
        return f"row number {cells[0][:20]!r}"

    def _bad_record(self, start: int, problem: str) -> None:
        """Accept a bad record as the torn tail if no complete line follows it; else refuse the file."""
        if self._newline_after(self._lines.position):
            raise UsageError(
                f"results file {self._path} is damaged: entry {self.records + 1} (byte {start}) has "
                f"{problem}, and more lines follow it, so it is not a torn last line from a crash. "
                "Repair or move the file, or start over with --force."
            )

    def _newline_after(self, offset: int) -> bool:
        self._raw.seek(offset)
        while chunk := self._raw.read(_SCAN_CHUNK):
            if b"\n" in chunk:
                return True
        return False

    def _is_torn_header(self, expected: tuple[str, ...]) -> bool:
        """A crash right after creating the file leaves a prefix of our header and nothing else."""
        self._raw.seek(0)
        content = self._raw.read(self.size)
        return LineFormatter()(expected).startswith(content)

    def _not_ours(self) -> UsageError:
        return UsageError(
            f"{self._path} is not a batchproxy results file (its first line is not a results header)"
        )

    def _header_problem(self, header: list[str]) -> UsageError:
        results = columns.RESULT_COLUMNS
        if not header or header[0] != columns.ROW_COLUMN or tuple(header[-len(results) :]) != results:
            return self._not_ours()
        found = header[1 : -len(results)]
        return UsageError(
            f"results file was written for a different input: {self._path} has the input columns "
            f"{', '.join(found) or '(none)'}; this input has {', '.join(self._layout.kept_names) or '(none)'}"
        )
