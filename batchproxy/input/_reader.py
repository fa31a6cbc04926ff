"""Reading the input file: CSV records of UTF-8 text, and the header that names their columns.

Every failure to read is a ``UsageError`` that says where: a file that is not UTF-8 names the byte, its
line and its row; malformed CSV names the row. Nothing here knows the field rules.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from batchproxy import columns
from batchproxy.errors import UsageError

__all__ = ["FileStamp", "Header", "data_records", "file_stamp", "is_blank", "read_header", "read_records"]


@dataclass(frozen=True, slots=True)
class FileStamp:
    """Enough of a file's identity to notice that it changed between two passes over it."""

    size: int
    mtime_ns: int


def file_stamp(path: Path) -> FileStamp:
    try:
        status = path.stat()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return FileStamp(status.st_size, status.st_mtime_ns)


def read_records(path: Path) -> Iterator[list[str]]:
    """Every CSV record of ``path``, the header first. Blank lines come through as blank records.

    Lazy: the file is read as the records are consumed, and closed when the iterator is.
    """
    try:
        # utf-8-sig drops a leading BOM (Excel's "CSV UTF-8" writes one); newline="" lets the csv
        # module see line breaks inside quoted cells as they are.
        with path.open(encoding="utf-8-sig", newline="") as stream:
            yield from _parsed(path, stream)
    except UnicodeDecodeError:
        raise UsageError(_not_utf8(path)) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _parsed(path: Path, stream: TextIO) -> Iterator[list[str]]:
    # strict: an unclosed quote would otherwise swallow the rest of the file into one cell, silently.
    reader = csv.reader(stream, strict=True)
    done = 0  # records read so far; the header is row 0, so this is also the number of the next row
    try:
        for record in reader:
            yield record
            done += 1
    except csv.Error as exc:
        where = f"row {done} (line {reader.line_num})"
        raise UsageError(f"{path}: {where} is not valid CSV: {exc}") from None


def is_blank(record: Sequence[str]) -> bool:
    """True for an empty line, and for one of only commas or spaces (``,,,``): skipped, but counted."""
    if record and record[0].strip():
        return False  # most rows: decided by the first cell, without joining them all
    return not "".join(record).strip()


def data_records(records: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """``(row number, record)`` for each non-blank data row; call after the header was taken."""
    for number, record in enumerate(records, start=1):
        if not is_blank(record):
            yield number, record


@dataclass(frozen=True, slots=True)
class Header:
    """The header row: its cells exactly as read, and what each one means to batchproxy."""

    names: tuple[str, ...]
    columns: tuple[str | None, ...]  # the canonical input column at each position, None if ignored
    unknown_columns: tuple[str, ...]  # neither input nor result columns: the caller warns once each

    def index(self, column: str) -> int | None:
        """Position of a canonical input column, or None when the file does not have it."""
        return self.columns.index(column) if column in self.columns else None


def read_header(path: Path, records: Iterator[list[str]], *, required: Sequence[str]) -> Header:
    """Take the header from ``records`` and check it names every ``required`` column exactly once."""
    names = next(records, None)
    if names is None:
        raise UsageError(f"{path} is empty: expected a header row naming the columns")
    if is_blank(names):
        raise UsageError(f"{path}: the first line is blank; it must be the header row naming the columns")
    header = _parse_header(path, names)
    missing = [column for column in required if column not in header.columns]
    if missing:
        raise UsageError(_missing_message(path, header, missing))
    return header


def _parse_header(path: Path, names: list[str]) -> Header:
    canonical: list[str | None] = []
    unknown: list[str] = []
    for position, name in enumerate(names):
        column = columns.canonical_input_column(name)
        if column is not None and column in canonical:
            first = canonical.index(column) + 1
            raise UsageError(
                f"{path}: the header names column {column} twice "
                f"(columns {first} and {position + 1}: {names[first - 1]!r} and {name!r})"
            )
        canonical.append(column)
        if column is None and not columns.is_result_column(name) and name not in unknown:
            unknown.append(name)
    return Header(tuple(names), tuple(canonical), tuple(unknown))


def _missing_message(path: Path, header: Header, missing: list[str]) -> str:
    found = ", ".join(repr(name) for name in header.names)
    if not any(header.columns) and not any(columns.is_result_column(n) for n in header.names):
        # Nothing in the first line is a column name: most likely the file has no header at all.
        return (
            f"{path} has no header row: its first line ({found}) names none of the columns; "
            f"add a header such as {','.join(missing)}"
        )
    return f"{path}: the header lacks required column(s) {', '.join(missing)} (found: {found})"


def _not_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 sits, in terms an operator can find it by."""
    bad = _first_bad_byte(path)
    if bad is None:  # the file changed under us; say what we know
        return f"{path} is not UTF-8 text; save it as CSV UTF-8"
    row = "" if bad.row is None else f"row {bad.row}, "
    hint = "it looks like UTF-16" if bad.offset == 0 and bad.value in (0xFF, 0xFE) else "save it as CSV UTF-8"
    return (
        f"{path} is not UTF-8 text: byte 0x{bad.value:02X} at offset {bad.offset} "
        f"({row}line {bad.line}) cannot be decoded; {hint}"
    )


@dataclass(frozen=True, slots=True)
class _BadByte:
    offset: int
    line: int
    value: int
    row: int | None = None


def _first_bad_byte(path: Path) -> _BadByte | None:
    """Find the first undecodable byte, and the CSV row it falls in by counting records up to it.

    Runs only on the error path, so it may read the file again. The row is unknown (None) for files
    whose lines end in a bare CR, which a line-by-line byte reader cannot split.
    """
    found: list[_BadByte] = []
    lines = _lines_until_bad(path, found)
    try:
        # The header is record 0, so the record count up to the bad byte is its row number plus one.
        records: int | None = sum(1 for _ in csv.reader(lines))
    except csv.Error:
        records = None
        for _ in lines:  # read on to the bad byte all the same
            pass
    if not found:
        return None
    bad = found[0]
    return _BadByte(bad.offset, bad.line, bad.value, None if records is None else records - 1)


def _lines_until_bad(path: Path, found: list[_BadByte]) -> Iterator[str]:
    offset = 0
    with path.open("rb") as stream:
        # Splitting at b"\n" is safe: that byte never occurs inside a UTF-8 multi-byte sequence.
        for line, raw in enumerate(stream, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                found.append(_BadByte(offset + exc.start, line, raw[exc.start]))
                # The valid part plus a stand-in character, so the record holding the bad byte counts.
                yield raw[: exc.start].decode("utf-8") + "x"
                return
            offset += len(raw)
            yield text
