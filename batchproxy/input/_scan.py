"""Validate a whole input file in one streaming pass, then stream its rows again for the engine.

Memory does not grow with the rows' contents: a pass holds one record at a time, and what a scan keeps
is a 64-bit hash per row until duplicates are settled (on disk past 1 MB: ``_duplicates``), one bit
per row for "invalid", and the 20 problems shown on stderr. The invalid report and the ``InvalidRow``s
are derived again from the file when asked for, instead of keeping every problem; the file's size and
mtime guard against it having changed in between.
"""

from __future__ import annotations

import bisect
import csv
import io
import os
from array import array
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from batchproxy import columns, model, settings
from batchproxy.errors import JournalWriteError, UsageError
from batchproxy.input._duplicates import Bitmap, DuplicateFinder, KeyHash, RowMap, default_key_hash
from batchproxy.input._problems import InvalidRow, Problem, mask, printable_path, shown
from batchproxy.input._reader import Header, Records, data_records, is_blank, nul_columns, read_header
from batchproxy.input._rules import (
    Checked,
    Key,
    Profiles,
    RowChecker,
    duplicate_problem,
    looks_like_region,
)
from batchproxy.input._source import FileStamp, InputSource, source_of
from batchproxy.journal.files import atomic_replace
from batchproxy.rows import Row

__all__ = [
    "FIRST_PROBLEMS",
    "REPORT_COLUMNS",
    "Observer",
    "Scan",
    "invalid_report_path",
    "read_input_header",
    "scan",
]

FIRST_PROBLEMS = 20  # how many problems stderr shows (docs/reference.md §7)
REPORT_COLUMNS = ("row", "column", "value", "problem")

# Called by ``scan`` with every data row as the main pass checks it. Duplicates are found only after
# that pass, so a ``Row`` seen here can still turn out invalid: ``Scan.is_invalid`` has the last word.
Observer = Callable[[Row | InvalidRow], None]


def invalid_report_path(input_path: str | os.PathLike[str]) -> Path:
    """``<dir>/<stem>.invalid.csv`` next to the input (docs/reference.md §7)."""
    path = Path(input_path)
    return path.with_name(f"{path.stem}.invalid.csv")


@dataclass(frozen=True, kw_only=True)
class Scan:
    """A validated input file: its header, its counts, and which rows are invalid.

    ``row_count`` counts non-blank data rows; ``last_row_number`` is the number of the last of them
    (blank lines are counted in row numbers, so it can be larger).
    """

    path: Path  # as the user named the input: for messages and the files named after it
    header: Header
    default_region: str | None
    needs_settings: bool
    row_count: int
    last_row_number: int
    problem_count: int
    first_problems: tuple[Problem, ...]  # the FIRST_PROBLEMS lowest by row, in row order
    _source: InputSource = field(repr=False)
    _stamp: FileStamp = field(repr=False)
    _invalid: Bitmap = field(repr=False)
    _duplicate_of: RowMap = field(repr=False)
    _blank: array[int] = field(repr=False)  # blank lines' row numbers up to the last data row, ascending
    # Where rows with no Region cell and no default_region find theirs; None: nowhere.
    profiles: Profiles | None = field(default=None, repr=False)
    role_name: str | None = None  # --role-name: the role an AccountId cell means (docs/reference.md §10)
    setting: settings.Setting = field(default_factory=lambda: settings.setting("proxy"), repr=False)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def invalid_row_count(self) -> int:
        return len(self._invalid)

    def is_invalid(self, number: int) -> bool:
        return number in self._invalid

    def invalid_rows(self) -> Iterator[int]:
        """The invalid row numbers in ascending order."""
        return iter(self._invalid)

    def row_numbers(self) -> Collection[int]:
        """The numbers of every data row, valid or not, without reading the file again."""
        return _RowNumbers(self.row_count, self.last_row_number, self._blank)

    def rows(self, select: Callable[[int], bool] | None = None) -> Generator[Row | InvalidRow, None, None]:
        """Read the file again, lazily: a ``Row`` for each valid data row, an ``InvalidRow`` for the rest.

        With ``select``, a valid row is yielded only when ``select(its number)`` is true; the others are
        read past without being checked again, which costs little more than the CSV parsing. Invalid
        rows are always yielded. Close the generator to stop early; that closes the file.
        """
        checker, records = self._reopen()
        if select is None:
            for number, record in data_records(records.rows):
                yield self._verdict(checker, records, number, record)
            return
        invalid = self._invalid
        # Numbered as data_records numbers rows, but a row not wanted is passed before the blank test.
        for number, record in enumerate(records.rows, start=1):
            if (number in invalid or select(number)) and not is_blank(record):
                yield self._verdict(checker, records, number, record)

    def write_invalid_report(self, path: str | os.PathLike[str]) -> Path:
        """Write every problem as ``row,column,value,problem`` (mode 0600, replaced atomically).

        Through ``atomic_replace``: a fresh random name (``O_EXCL``) for the partial file, so a link
        planted at a predictable name is never followed, and nothing left behind when anything fails.
        A report that cannot be written is a ``UsageError`` that still says what was wrong with the input.
        """
        target = Path(path)
        try:
            with atomic_replace(target) as raw:
                stream = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = csv.writer(stream)
                writer.writerow(REPORT_COLUMNS)
                for problem in self._all_problems():
                    writer.writerow((problem.row, problem.column, problem.value, problem.problem))
                stream.flush()
                stream.detach()  # atomic_replace closes the file itself, after its fsync
        except JournalWriteError as exc:
            raise self._unwritable(target, exc.reason) from exc
        except OSError as exc:
            raise self._unwritable(target, exc.strerror or str(exc)) from exc
        return target

    def _unwritable(self, target: Path, reason: str) -> UsageError:
        first = f"; the first: {self.first_problems[0]}" if self.first_problems else ""
        return UsageError(
            f"cannot write the list of invalid rows to {printable_path(target)} ({reason}); "
            f"{printable_path(self.path)} has {self.problem_count} problem(s) in {self.invalid_row_count} "
            f"row(s){first}; nothing was sent. Make that directory writable, or fix the rows and run again"
        )

    def _all_problems(self) -> Iterator[Problem]:
        checker, records = self._reopen()
        for number, record in enumerate(records.rows, start=1):
            # Valid rows are only counted past, not checked: the report costs little more than a read.
            # (An invalid row is never blank.)
            if number in self._invalid:
                verdict = self._verdict(checker, records, number, record)
                assert isinstance(verdict, InvalidRow)
                yield from verdict.problems

    def _reopen(self) -> tuple[RowChecker, Records]:
        """A checker, and the file's records after the header (blank ones included)."""
        if self._source.stamp() != self._stamp:
            raise _changed(self.path)
        records = Records(self._source)
        if read_header(self._source, records.rows, required=(), setting=self.setting) != self.header:
            raise _changed(self.path)
        checker = RowChecker(
            self.header,
            default_region=self.default_region,
            needs_settings=self.needs_settings,
            profiles=self.profiles,
            role_name=self.role_name,
            setting=self.setting,
        )
        return checker, records

    def _verdict(
        self, checker: RowChecker, records: Records, number: int, record: list[str]
    ) -> Row | InvalidRow:
        checked = _check(checker, self.header, records, number, record)
        problems = checked.problems
        other = self._duplicate_of.get(number)
        key = checker.key(record)
        if other is not None and key is not None:
            problems += (duplicate_problem(number, other, key),)
        if bool(problems) != (number in self._invalid):
            raise _changed(self.path)
        if checked.row is not None and not problems:
            return checked.row
        return InvalidRow(number, checked.values, problems)


def _changed(path: Path) -> UsageError:
    return UsageError(f"{printable_path(path)} changed after it was validated; run the command again")


def _check(checker: RowChecker, header: Header, records: Records, number: int, record: list[str]) -> Checked:
    """The row's verdict by the field rules, plus a problem for each cell holding a NUL byte.

    A NUL is never text in a CSV (it is what a damaged or UTF-16 file looks like) and the field rules
    would let one through in an id; so it is refused whatever the column, even an ignored one.
    """
    checked = checker.check(number, record)
    if not records.nul.seen:  # no NUL read yet: the common case costs two attribute look-ups
        return checked
    at = nul_columns(record)
    if not at:
        return checked
    extra = tuple(_nul_problem(header, number, position, record[position]) for position in at)
    return Checked(checked.values, None, checked.problems + extra)


def _nul_problem(header: Header, number: int, position: int, value: str) -> Problem:
    if position >= len(header.names):
        column = str(position + 1)
    else:
        column = header.columns[position] or header.names[position] or str(position + 1)
    if column in model.sensitive_member_names():
        value = mask(value)
    return Problem(
        number,
        column,
        value,
        "holds a NUL byte, which no CSV text has; remove it (the file may be damaged, or not UTF-8 text)",
    )


class _RowNumbers(Collection[int]):
    """1 to the last data row, less the blank lines: a few bytes however many rows there are."""

    def __init__(self, count: int, last: int, blank: array[int]) -> None:
        self._count, self._last, self._blank = count, last, blank

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int) or not 1 <= number <= self._last:
            return False
        at = bisect.bisect_left(self._blank, number)
        return at == len(self._blank) or self._blank[at] != number

    def __iter__(self) -> Iterator[int]:
        return (number for number in range(1, self._last + 1) if number in self)

    def __len__(self) -> int:
        return self._count


class _Tally:
    """Counts problems, marks their rows invalid, and keeps the lowest FIRST_PROBLEMS for stderr."""

    def __init__(self) -> None:
        self.count = 0
        self.invalid = Bitmap()
        # Duplicates are found after the main pass, so a later problem can belong to an earlier row.
        self._lowest: list[tuple[tuple[int, int], Problem]] = []

    def add(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.count += 1
            self.invalid.add(problem.row)
            order = (problem.row, self.count)
            if len(self._lowest) < FIRST_PROBLEMS or order < self._lowest[-1][0]:
                bisect.insort(self._lowest, (order, problem), key=itemgetter(0))
                del self._lowest[FIRST_PROBLEMS:]

    @property
    def first(self) -> tuple[Problem, ...]:
        return tuple(problem for _, problem in self._lowest)


Input = str | os.PathLike[str] | InputSource


def _as_source(path: Input) -> InputSource:
    """A source given as such (``open_input``), else a path that must be a regular file."""
    return path if isinstance(path, InputSource) else source_of(path)


def read_input_header(
    path: Input, *, needs_settings: bool, setting: settings.Setting | None = None
) -> Header:
    """The header of ``path``, checked as ``scan`` checks it, for a caller that needs it before the rows.

    Raises ``UsageError`` as ``scan`` does for a file that cannot be used at all.
    """
    source = _as_source(path)
    # Only the first record is read; the file closes as soon as the reader is dropped.
    records = Records(source)
    setting = setting or settings.setting("proxy")
    try:
        return _read_header(source, records, needs_settings, setting)
    finally:
        records.close()


def _read_header(
    source: InputSource, records: Records, needs_settings: bool, setting: settings.Setting
) -> Header:
    """The header, with the columns a put of ``setting`` needs (or only the connector's)."""
    required = settings.required_columns(setting) if needs_settings else columns.REQUIRED_FOR_TARGET
    header = read_header(source, records.rows, required=required, setting=setting)
    members = set(settings.column_names(setting)) - {columns.VOICE_CONNECTOR_ID}
    if needs_settings and not members.intersection(header.columns):
        # A setting whose columns are all optional (logging) would otherwise put an empty setting:
        # most likely a file written for another --setting.
        raise UsageError(
            f"{printable_path(source.path)}: the header names none of the {setting.name} setting's "
            f"columns ({', '.join(sorted(members))}); is this the file for another --setting?"
        )
    return header


def scan(
    path: Input,
    *,
    default_region: str | None,
    needs_settings: bool,
    key_hash: KeyHash = default_key_hash,
    observe: Observer | None = None,
    profiles: Profiles | None = None,
    role_name: str | None = None,
    setting: settings.Setting | None = None,
) -> Scan:
    """Validate every row of ``path`` (docs/reference.md §1, §7) without holding the file in memory.

    ``path`` is an ``InputSource`` from ``open_input`` (which also takes pipes and FIFOs) or a path to a
    regular file. Raises ``UsageError`` when the file cannot be used at all: not a regular file,
    unreadable, not UTF-8, malformed CSV, empty, a header lacking a required column or naming one twice,
    another separator than the comma. Row problems (a NUL byte among them) do not raise; they are
    in the returned ``Scan``. ``observe`` sees each data row as it is checked, so a caller that needs
    something of every row gets it from this pass instead of validating the file again in another.
    ``profiles`` checks Profile cells and gives a row with no Region its profile's region when
    ``default_region`` is None. ``role_name`` (--role-name) is the role an AccountId cell means.
    ``setting`` (default: the proxy) says which columns the file has and, with ``needs_settings``, how
    its cells are checked. ``key_hash`` exists for tests that force hash collisions.
    """
    if default_region is not None and not looks_like_region(default_region):
        raise UsageError(f"--region {shown(default_region)} is not an AWS region name such as us-east-1")
    source = _as_source(path)
    stamp = source.stamp()
    records = Records(source)
    setting = setting or settings.setting("proxy")
    header = _read_header(source, records, needs_settings, setting)
    checker = RowChecker(
        header,
        default_region=default_region,
        needs_settings=needs_settings,
        profiles=profiles,
        role_name=role_name,
        setting=setting,
    )
    tally, finder, blank = _Tally(), DuplicateFinder(key_hash), array("I")
    row_count, last_row = _check_rows(records, header, checker, tally, finder, observe=observe, blank=blank)
    duplicate_of = RowMap(last_row)
    for number, other, key in finder.confirm(lambda: _keyed_rows(source, checker)):
        duplicate_of[number] = other
        tally.add([duplicate_problem(number, other, key)])
    if source.stamp() != stamp:
        raise _changed(source.path)
    return Scan(
        path=source.path,
        header=header,
        default_region=default_region,
        needs_settings=needs_settings,
        row_count=row_count,
        last_row_number=last_row,
        problem_count=tally.count,
        first_problems=tally.first,
        _source=source,
        _stamp=stamp,
        _invalid=tally.invalid,
        _duplicate_of=duplicate_of,
        _blank=blank,
        profiles=profiles,
        role_name=role_name,
        setting=setting,
    )


def _check_rows(
    records: Records,
    header: Header,
    checker: RowChecker,
    tally: _Tally,
    finder: DuplicateFinder,
    *,
    observe: Observer | None,
    blank: array[int],
) -> tuple[int, int]:
    """The main pass: every row's problems into ``tally``, its key into ``finder``, the numbers of blank
    lines before the last data row into ``blank``; returns (count, last row)."""
    count = last = 0
    for number, record in data_records(records.rows):
        if number != last + 1:
            blank.extend(range(last + 1, number))
        count, last = count + 1, number
        checked = _check(checker, header, records, number, record)
        row = checked.row
        if row is not None:
            finder.add((row.target.region, row.target.voice_connector_id))  # what ``key`` would say
            if observe is not None:
                observe(row)
            continue
        tally.add(checked.problems)
        key = checker.key(record)
        if key is not None:
            finder.add(key)
        if observe is not None:
            observe(InvalidRow(number, checked.values, checked.problems))
    return count, last


def _keyed_rows(source: InputSource, checker: RowChecker) -> Iterator[tuple[int, Key]]:
    records = Records(source).rows
    next(records, None)  # the header
    for number, record in data_records(records):
        key = checker.key(record)
        if key is not None:
            yield number, key
