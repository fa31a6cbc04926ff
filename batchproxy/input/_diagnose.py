"""Why a file could not be read, told in rows and columns: only ever runs after a read failed.

The reading pass stays lean (the csv module and the UTF-8 codec in C, nothing per character in Python);
when either gives up, this module reads the file once more to say where: the row, the column, the line
a quoted cell opened on, the byte that is not UTF-8. Each pass here is linear, and bounded by the
record that failed (a cell is never followed further than the csv module's field limit).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from batchproxy.input._problems import label, printable_path, shown
from batchproxy.input._source import InputSource

__all__ = ["csv_failure", "encoding_failure", "where"]

_CHUNK = 1 << 16
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ESCAPED = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a byte that is not UTF-8
_SAVE_UTF8 = 'save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8) and run again'


def where(row: int, column: int | None, header: Sequence[str] | None) -> str:
    """``row N, column C`` (or ``the header row``), the column by its header name where one is known."""
    place = "the header row" if row == 0 else f"row {row}"
    if column is None:
        return place
    if row > 0 and header is not None and column < len(header) and header[column].strip():
        return f"{place}, column {label(header[column])}"
    return f"{place}, column {column + 1}"


# --- encodings ------------------------------------------------------------------------------------


def encoding_failure(source: InputSource) -> str:
    """The message for a file that is not UTF-8: which byte, in which row and column, and the fix."""
    name = printable_path(source.path)
    with source.open() as stream:
        start = stream.read(4)
    if start.startswith(_UTF16_BOMS):
        return f"{name} is UTF-16 text (it starts with a UTF-16 byte order mark), not UTF-8: {_SAVE_UTF8}"
    bad = _first_bad_byte(source)
    if bad is None:  # the file changed under us; say what we know
        return f"{name} is not UTF-8 text: {_SAVE_UTF8}"
    offset, value, line = bad
    cell = _cell_holding_bad_byte(source)
    place = "" if cell is None else f"{where(cell[0], cell[1], cell[2])} ({shown(cell[3])}): "
    return (
        f"{name}: {place}byte 0x{value:02X} at offset {offset} (line {line}) is not UTF-8; the file is "
        f"probably in another encoding such as Windows-1252 or Latin-1: {_SAVE_UTF8}"
    )


def _first_bad_byte(source: InputSource) -> tuple[int, int, int] | None:
    """(offset, byte, line) of the first byte that is not UTF-8, lines ending at LF, CRLF or a lone CR."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines, after_cr = 0, 1, False
    with source.open() as stream:
        while chunk := stream.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                held = len(exc.object) - len(chunk)  # bytes the decoder kept from the last chunk
                at = max(exc.start - held, 0)
                lines += _line_breaks(chunk[:at], after_cr)
                return offset + at, exc.object[exc.start], lines
            lines += _line_breaks(chunk, after_cr)
            after_cr = chunk.endswith(b"\r")
            offset += len(chunk)
    return None


def _line_breaks(data: bytes, after_cr: bool) -> int:
    crlf = data.count(b"\r\n") + (1 if after_cr and data.startswith(b"\n") else 0)
    return data.count(b"\n") + data.count(b"\r") - crlf


def _cell_holding_bad_byte(source: InputSource) -> tuple[int, int, list[str] | None, str] | None:
    """(row, column, header, cell as read) of the first cell holding a byte that is not UTF-8."""
    header: list[str] | None = None
    with source.open() as raw, io.TextIOWrapper(raw, "utf-8-sig", "surrogateescape", newline="") as text:
        try:
            for row, record in enumerate(csv.reader(text)):
                header = record if row == 0 else header
                for column, cell in enumerate(record):
                    if _ESCAPED.search(cell):
                        return row, column, header, _as_bytes_shown(cell)
        except csv.Error:
            return None  # malformed too; the byte's offset and line will have to do
    return None


def _as_bytes_shown(cell: str) -> str:
    """The cell with each byte that is not UTF-8 read as Latin-1: what a legacy editor shows (``é``)."""
    return _ESCAPED.sub(lambda match: chr(ord(match[0]) - 0xDC00), cell)


# --- CSV syntax -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Trouble:
    column: int  # 0-based position of the cell in its record
    line: int  # where the cell (for a quoted one: its opening quote) starts
    kind: str  # "unclosed", "after quote", "too long"
    quoted: bool


def csv_failure(source: InputSource, row: int, error: csv.Error) -> str:
    """The message for the record ``row`` that the csv module refused, with what to do."""
    name = printable_path(source.path)
    with source.open() as raw, io.TextIOWrapper(raw, "utf-8-sig", newline="") as text:
        lines = iter(text)
        reader = csv.reader(lines, strict=True)
        header = next(reader, None) if row > 0 else None
        for _ in itertools.islice(reader, max(row - 1, 0)):
            pass  # these records parsed before; what matters is the line the failed one starts on
        trouble = _walk(lines, reader.line_num + 1, csv.field_size_limit())
    if trouble is None:  # the file changed under us, or a case this walk does not know
        return f"{name}: {where(row, None, None)} is not valid CSV ({error}); check the quoting of that row"
    place = f"{name}: {where(row, trouble.column, header)}"
    if trouble.kind == "after quote":
        return (
            f"{place} (line {trouble.line}): a quoted cell has text after its closing quote; inside a "
            'quoted cell write a quote as two ("")'
        )
    if trouble.kind == "unclosed" or trouble.quoted:
        return (
            f"{place}: the quote that opens this cell on line {trouble.line} is never closed, so the rest "
            f'of the file would be read into it; close the quote (a quote inside a quoted cell is written "")'
        )
    return (
        f"{place} (line {trouble.line}): the cell is longer than {csv.field_size_limit():,} characters, "
        "far beyond any value batchproxy reads; check that this is the intended file"
    )


def _walk(lines: Iterator[str], line: int, limit: int) -> _Trouble | None:
    """Follow the excel dialect over one record from its first line to where the csv module failed.

    Python per character, but only over the one record, and a cell no further than ``limit``.
    """
    column, length, state, opened = 0, 0, "start", line
    for text in lines:
        for char in text:
            if state == "quoted":
                state, length = ("quote", length) if char == '"' else ("quoted", length + 1)
            elif state == "quote" and char not in ',"\r\n':
                return _Trouble(column, line, "after quote", quoted=True)
            elif char == ",":
                column, length, state = column + 1, 0, "start"
            elif char in "\r\n":
                return None  # the record ended without trouble: not the record that failed
            elif state == "start" and char == '"':
                state, opened = "quoted", line
            else:
                state, length = ("quoted", length + 1) if state == "quote" else ("plain", length + 1)
            if length > limit:
                quoted = state in ("quoted", "quote")
                return _Trouble(column, opened if quoted else line, "too long", quoted=quoted)
        line += 1
    if state == "quoted":
        return _Trouble(column, opened, "unclosed", quoted=True)
    return None
