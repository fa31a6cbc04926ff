"""One streaming pass over a results file: counts, error codes and a few example rows per code.

A results file may hold a million lines, and an interrupted run's file may hold several lines for one
row (the latest wins, as in ``--resume``). So what is kept per row is two small integers in flat arrays
(3 bytes a row), and the example rows — at most ``EXAMPLES`` per error code — are the only cells held.
Input setting columns (FallBackPhoneNumber above all) are never kept: an example names the row, the
connector, its region and profile, and what went wrong.
"""

from __future__ import annotations

import csv
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from batchproxy import columns
from batchproxy.errors import UsageError
from batchproxy.journal.layout import Layout
from batchproxy.journal.reader import JournalReader
from batchproxy.report.domain import redact
from batchproxy.rows import FailureKind, Status

__all__ = ["EXAMPLES", "Example", "ResultsScan", "scan_results"]

EXAMPLES = 5
# Candidates kept per code: a later line for the same row (a resumed run) may take one away.
_CANDIDATES = 2 * EXAMPLES
# Per-row state codes; "unsure" is a failure whose last attempt went unanswered: --resume sends it again.
_OK, _FAILED, _UNSURE, _INVALID, _SKIPPED = 1, 2, 3, 4, 5
_CODE = {Status.OK: _OK, Status.FAILED: _FAILED, Status.INVALID: _INVALID, Status.SKIPPED: _SKIPPED}


@dataclass(frozen=True, slots=True)
class Example:
    row: int
    connector: str
    region: str
    profile: str
    http_status: str
    attempts: str
    message: str  # the service's or our message, with phone numbers and secrets blanked


@dataclass(slots=True)
class ResultsScan:
    path: Path
    counts: Counter[str] = field(default_factory=Counter)  # per status, one per row (latest line)
    error_codes: Counter[str] = field(default_factory=Counter)  # rows not ok, per error_code
    examples: dict[str, list[Example]] = field(default_factory=dict)
    unfinished: int = 0  # rows --resume would send again (skipped, or no answer to the last attempt)
    lines: int = 0

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def not_ok(self) -> int:
        return self.rows - self.counts[Status.OK.value]


class _Columns:
    """Where the cells the report needs sit in a results line of this file."""

    def __init__(self, header: list[str]) -> None:
        results = columns.RESULT_COLUMNS
        if len(header) <= len(results) or tuple(header[-len(results) :]) != results or header[0] != "row":
            raise UsageError("not a batchproxy results file (its first line is not a results header)")
        self.layout = Layout.for_input(header[1 : -len(results)])
        canonical = [columns.canonical_input_column(name) for name in header]
        self.connector, self.region, self.profile = (
            canonical.index(name) if name in canonical else None
            for name in (columns.VOICE_CONNECTOR_ID, columns.REGION, columns.PROFILE)
        )
        at = self.layout.result_at
        self.status, self.kind, self.code = at("status"), at("failure_kind"), at("error_code")
        self.http, self.attempts, self.message = at("http_status"), at("attempts"), at("error_message")

    def cell(self, cells: list[str], index: int | None) -> str:
        return "" if index is None else cells[index]


def scan_results(path: Path) -> ResultsScan:
    """Read ``path`` once; a torn last line (a killed run) is ignored like ``--resume`` does."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read results file {path}: {exc.strerror}") from None
    with raw:
        header = next(csv.reader([raw.readline().decode("utf-8", "replace")]), [])
        where = _Columns(header)
        raw.seek(0)
        reader = JournalReader(raw, where.layout, path)
        if not reader.read_header():
            return ResultsScan(path)
        return _Scanner(path, where).scan(reader)


class _Scanner:
    def __init__(self, path: Path, where: _Columns) -> None:
        self.scan_result = ResultsScan(path)
        self.where = where
        self.states = array("B")
        self.codes = array("H")
        self.code_names: list[str] = [""]
        self.code_index: dict[str, int] = {"": 0}
        self.example_of: dict[int, str] = {}  # row → the error code it is an example of

    def scan(self, reader: JournalReader) -> ResultsScan:
        for _start, _end, number, cells in reader:
            self._line(number, cells)
        result = self.scan_result
        result.lines = reader.records
        for status, code in _CODE.items():
            result.counts[status.value] = self.states.count(code)
        result.counts[Status.FAILED.value] += self.states.count(_UNSURE)
        result.unfinished = self.states.count(_SKIPPED) + self.states.count(_UNSURE)
        for index, n in Counter(self.codes).items():
            if index:
                result.error_codes[self.code_names[index]] = n
        result.counts = +result.counts
        result.examples = {code: found[:EXAMPLES] for code, found in result.examples.items() if found}
        return result

    def _line(self, number: int, cells: list[str]) -> None:
        if number >= len(self.states):
            grow = number + 1 - len(self.states)
            self.states.extend(bytes(grow))
            self.codes.extend([0] * grow)
        status = Status(cells[self.where.status])
        state = _CODE[status]
        if status is Status.FAILED and cells[self.where.kind] == FailureKind.UNKNOWN_OUTCOME.value:
            state = _UNSURE
        self.states[number] = state
        code = "" if status is Status.OK else (cells[self.where.code] or f"({status.value})")
        self.codes[number] = self._code_index(code)
        self._example(number, code, cells)

    def _code_index(self, code: str) -> int:
        index = self.code_index.get(code)
        if index is None:
            index = self.code_index[code] = len(self.code_names)
            self.code_names.append(code)
        return index

    def _example(self, number: int, code: str, cells: list[str]) -> None:
        examples = self.scan_result.examples
        earlier = self.example_of.pop(number, None)
        if earlier is not None:  # a later line for this row replaces what it said before
            examples[earlier] = [e for e in examples[earlier] if e.row != number]
        if not code or len(examples.setdefault(code, [])) >= _CANDIDATES:
            return
        where = self.where
        examples[code].append(
            Example(
                row=number,
                connector=where.cell(cells, where.connector),
                region=where.cell(cells, where.region),
                profile=where.cell(cells, where.profile),
                http_status=cells[where.http],
                attempts=cells[where.attempts],
                message=redact(cells[where.message]),
            )
        )
        self.example_of[number] = code
