"""Reading the input file: CSV records of UTF-8 text, and the header that names their columns.

Every failure to read is a ``UsageError`` that names the file and says what to do: a file that is not
UTF-8 names the byte, its row and column; malformed CSV names the row, the column and the line a quote
opened on (``_diagnose`` finds those, after the fact). A NUL byte is noticed as the bytes are read, at
the cost of one check per 64 KiB, so that the rows holding one can be refused (``nul_columns``).
Nothing here knows the field rules.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from batchproxy import columns, settings
from batchproxy.errors import UsageError
from batchproxy.input._diagnose import csv_failure, encoding_failure
from batchproxy.input._problems import label, printable_path
from batchproxy.input._source import InputSource, cannot_read

__all__ = ["Header", "Records", "data_records", "is_blank", "nul_columns", "read_header"]

_BUFFER = 1 << 16
_NUL = "\0"
# Separators a spreadsheet may have saved instead of commas: European Excel writes ';'. They are named
# and refused, not guessed and accepted: ';' also separates the country codes of one cell (US;CA), so a
# wrong guess would change what is sent, and docs/reference.md §1 says comma-separated.
_OTHER_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}
_NAMES_SHOWN = 8  # how many header names a message quotes before it only counts the rest
# The columns every setting's file may have besides the setting's own (VoiceConnectorId is one of those).
_TARGET_COLUMNS = (columns.REGION, columns.PROFILE, columns.ACCOUNT_ID, columns.ROLE_ARN)


class NulFlag:
    """Set once a NUL byte has been read; a plain attribute, since the row loop looks at it per row."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen = False


class _Watched(io.BufferedReader):
    """A buffered reader that notes in a ``NulFlag`` whether any NUL byte went through it (one ``in``
    per 64 KiB chunk: the text layer reads through ``read1``)."""

    def __init__(self, raw: io.RawIOBase, flag: NulFlag) -> None:
        super().__init__(raw, _BUFFER)
        self.flag = flag

    def read1(self, size: int = -1, /) -> bytes:
        data = super().read1(size)
        if b"\0" in data:
            self.flag.seen = True
        return data

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        if b"\0" in data:
            self.flag.seen = True
        return data


class Records:
    """Every CSV record of a source, the header first, in ``.rows``; blank lines come as blank records.

    Lazy: the file is read as the records are consumed, and closed when the iterator is.
    ``nul.seen`` turns true before the first record holding a NUL is yielded (the bytes are read
    ahead of the records made of them), so records before that need no NUL check.
    """

    def __init__(self, source: InputSource) -> None:
        self._source = source
        self.nul = NulFlag()
        self.rows: Iterator[list[str]] = self._read()

    def close(self) -> None:
        """Stop reading early and close the file."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()

    def _read(self) -> Iterator[list[str]]:
        source = self._source
        buffer = _Watched(source.open_raw(), self.nul)
        done = 0  # records read so far; the header is row 0, so also the number of the next row
        try:
            # utf-8-sig drops a leading BOM (Excel's "CSV UTF-8" writes one); newline="" lets the csv
            # module see line breaks inside quoted cells as they are, and any of LF, CRLF or CR end a line.
            with io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="") as text:
                # strict: an unclosed quote would otherwise swallow the rest of the file, silently.
                for done, record in enumerate(csv.reader(text, strict=True), start=1):  # noqa: B007
                    yield record
        except UnicodeDecodeError:
            raise UsageError(_diagnosed(source, functools.partial(encoding_failure, source))) from None
        except csv.Error as exc:
            raise UsageError(_diagnosed(source, functools.partial(csv_failure, source, done, exc))) from None
        except OSError as exc:
            raise cannot_read(source.path, exc) from exc


def _diagnosed(source: InputSource, diagnose: Callable[[], str]) -> str:
    """The diagnosis, or, when the file cannot be read again to make it, what went wrong reading it."""
    try:
        return diagnose()
    except (OSError, UsageError) as exc:
        name = printable_path(source.path)
        return f"{name} could not be read to the end, nor again to say where ({exc}); run the command again"


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


def nul_columns(record: Sequence[str]) -> list[int]:
    """Positions of the cells holding a NUL; only asked once ``Records.nul.seen``."""
    return [at for at, cell in enumerate(record) if _NUL in cell]


@dataclass(frozen=True, slots=True)
class Header:
    """The header row: its cells exactly as read, and what each one means to batchproxy."""

    names: tuple[str, ...]
    columns: tuple[str | None, ...]  # the canonical input column at each position, None if ignored
    unknown_columns: tuple[str, ...]  # neither input nor result columns: the caller warns once each

    def index(self, column: str) -> int | None:
        """Position of a canonical input column, or None when the file does not have it."""
        return self.columns.index(column) if column in self.columns else None


def read_header(
    source: InputSource,
    records: Iterator[list[str]],
    *,
    required: Sequence[str],
    setting: settings.Setting | None = None,
) -> Header:
    """Take the header from ``records`` and check it names every ``required`` column exactly once.

    The columns it knows are the connector's (``VoiceConnectorId``, ``Region``, ``Profile``) and
    ``setting``'s (default: the proxy's), spelled as docs/reference.md §1 allows.
    """
    setting = setting or settings.setting("proxy")
    name = printable_path(source.path)
    names = next(records, None)
    if names is None:
        raise UsageError(
            f"{name} is empty: it needs a header row naming the columns, then one row per connector"
        )
    if is_blank(names):
        raise UsageError(f"{name}: the first line is blank; it must be the header row naming the columns")
    if any(_NUL in cell for cell in names):
        raise UsageError(_nul_header(name, names))
    header = _parse_header(name, names, setting)
    missing = [column for column in required if column not in header.columns]
    if missing:
        raise UsageError(_missing_message(name, header, missing, setting))
    return header


def input_column(setting: settings.Setting, header: str) -> str | None:
    """The canonical column a header cell names for ``setting``: the setting's, or Region/Profile."""
    found = settings.canonical_column(setting, header)
    if found is None:
        found = columns.canonical_input_column(header)
        if found not in _TARGET_COLUMNS:
            return None
    return found


def _parse_header(name: str, names: list[str], setting: settings.Setting) -> Header:
    """Linear in the number of columns: a header of 100,000 names is read in a blink."""
    canonical: list[str | None] = []
    first_at: dict[str, int] = {}
    unknown: dict[str, None] = {}  # ordered and de-duplicated
    for position, cell in enumerate(names):
        column = input_column(setting, cell)
        if column is not None:
            first = first_at.setdefault(column, position)
            if first != position:
                raise UsageError(
                    f"{name}: the header names column {column} twice (columns {first + 1} and "
                    f"{position + 1}: {label(names[first])} and {label(cell)}); remove or rename one of them"
                )
        elif not columns.is_result_column(cell):
            unknown.setdefault(cell)
        canonical.append(column)
    return Header(tuple(names), tuple(canonical), tuple(unknown))


def _quoted_names(names: Sequence[str]) -> str:
    shown = ", ".join(label(cell) for cell in names[:_NAMES_SHOWN])
    more = len(names) - _NAMES_SHOWN
    return shown + (f" and {more:,} more" if more > 0 else "")


def _missing_message(name: str, header: Header, missing: list[str], setting: settings.Setting) -> str:
    found = _quoted_names(header.names)
    if not any(header.columns) and not any(columns.is_result_column(n) for n in header.names):
        separated = _other_separator(header.names, setting)
        if separated is not None:
            return (
                f"{name} is separated by {separated}s, not commas (as Excel saves CSV in some "
                f'regions): batchproxy reads comma-separated files; save it as "CSV UTF-8 (Comma '
                f'delimited)" or replace the {separated}s with commas'
            )
        # Nothing in the first line is a column name: most likely the file has no header at all.
        return (
            f"{name} has no header row: its first line ({found}) names none of the columns; "
            f"add a header such as {','.join(missing)}"
        )
    return f"{name}: the header lacks required column(s) {', '.join(missing)} (found: {found}); add them"


def _other_separator(names: Sequence[str], setting: settings.Setting) -> str | None:
    """The name of the separator that splits the first line into column names, if not the comma."""
    line = ",".join(names)
    for separator, called in _OTHER_SEPARATORS.items():
        if any(input_column(setting, cell) for cell in line.split(separator)):
            return called
    return None


def _nul_header(name: str, names: Sequence[str]) -> str:
    text = ",".join(names)
    if text.count(_NUL) * 3 >= len(text):  # every other byte: ASCII text saved as UTF-16
        return (
            f"{name} looks like UTF-16 text without a byte order mark (every other byte is NUL), not "
            'UTF-8: save it as "CSV UTF-8" and run again'
        )
    column = next(at for at, cell in enumerate(names) if _NUL in cell)
    return (
        f"{name}: the header row, column {column + 1}, holds a NUL byte, which no CSV text has; the "
        "file is damaged or not text: remove the NUL bytes or export the file again as CSV UTF-8"
    )
