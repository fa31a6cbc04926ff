"""The shape of a results line, and how a row's outcome becomes its cells (docs/reference.md §3, §7).

A results line is ``row``, the input's cells exactly as read, then ``columns.RESULT_COLUMNS``. The one
liberty taken: input columns that batchproxy itself writes (``row``, ``status`` … — present when the
input is a failure report or a results file) are not repeated. They are ignored on input anyway, and
repeating them would give the results file two ``status`` columns and make each failure report one
set of columns wider than the last.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from batchproxy import columns
from batchproxy.redact import redact_secrets
from batchproxy.rows import Outcome

__all__ = ["Layout", "LineFormatter", "iso_utc", "spreadsheet_safe"]

# What makes Excel, LibreOffice and Google Sheets read a cell as a formula (docs/reference.md §7).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Text that came from the service, as our files write it (results, failure report, plan file).

    Credentials are removed first (``redact.redact_secrets``: AWS quotes the canonical request, session
    token included, when it refuses a signature); then a leading ``'`` is added if a spreadsheet would
    otherwise evaluate the cell as a formula. Phone numbers stay: these files are 0600 and hold the
    input's numbers anyway. Never applied to input values, which round-trip unchanged.
    """
    if not text:
        return text  # most service cells are empty (no error): nothing to redact or escape
    text = redact_secrets(text)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def iso_utc(moment: datetime) -> str:
    """``2026-11-26T17:30:00.123Z``; a naive datetime is taken to be UTC already."""
    # isoformat is C code, strftime-style formatting is not: one of these per results line.
    if moment.tzinfo is UTC:  # the usual case: ``…+00:00`` becomes ``…Z``
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


class LineFormatter:
    """Formats one CSV record as bytes, so each record can go to the file in a single write."""

    def __init__(self) -> None:
        self._line = ""
        # csv's default "\r\n" (RFC 4180) on purpose: with a "\n" terminator, csv.writer does not quote a
        # cell holding a bare "\r", and such an input value would split its record when read back.
        self._writer = csv.writer(self)

    def write(self, text: str) -> int:
        """Called by ``csv.writer`` with the whole formatted record."""
        self._line = text
        return len(text)

    def __call__(self, cells: Sequence[str]) -> bytes:
        self._writer.writerow(cells)
        return self._line.encode("utf-8")


def _cell(values: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(values):
        return ""
    return values[index]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything sits in a results line, for one input header."""

    input_header: tuple[str, ...]
    kept: tuple[int, ...]  # positions in the input header of the columns repeated in our files
    # Where VoiceConnectorId and Region are: in an input row, and in a results line.
    identity_in_input: tuple[int | None, int | None]
    identity_in_line: tuple[int | None, int | None]

    @classmethod
    def for_input(cls, header: Sequence[str]) -> Layout:
        canonical = [columns.canonical_input_column(name) for name in header]
        kept = tuple(i for i, name in enumerate(header) if not columns.is_result_column(name))
        in_input = tuple(
            canonical.index(name) if name in canonical else None
            for name in (columns.VOICE_CONNECTOR_ID, columns.REGION)
        )
        # Input columns are never result columns, so both are among the kept ones.
        in_line = tuple(None if i is None else 1 + kept.index(i) for i in in_input)
        return cls(tuple(header), kept, (in_input[0], in_input[1]), (in_line[0], in_line[1]))

    @property
    def kept_names(self) -> tuple[str, ...]:
        return tuple(self.input_header[i] for i in self.kept)

    @property
    def results_header(self) -> tuple[str, ...]:
        return (columns.ROW_COLUMN, *self.kept_names, *columns.RESULT_COLUMNS)

    @property
    def failure_header(self) -> tuple[str, ...]:
        return (*self.kept_names, *columns.FAILURE_COLUMNS)

    @property
    def width(self) -> int:
        return 1 + len(self.kept) + len(columns.RESULT_COLUMNS)

    def result_at(self, name: str) -> int:
        """Position of a result column in a results line."""
        return 1 + len(self.kept) + columns.RESULT_COLUMNS.index(name)

    def input_cells(self, values: Sequence[str]) -> list[str]:
        """The repeated input cells, untouched; a short row is padded rather than shifting columns."""
        return [_cell(values, i) for i in self.kept]

    def input_identity(self, values: Sequence[str]) -> int:
        """Which connector an input row names, as a hash (cheap to keep for a million rows).

        ``hash`` is salted per process; both sides of every comparison are computed in this process.
        """
        connector, region = self.identity_in_input
        if connector is not None and region is not None and len(values) > max(connector, region):
            return hash((values[connector], values[region]))  # the usual row: both cells present
        return hash((_cell(values, connector), _cell(values, region)))

    def line_identity(self, cells: Sequence[str]) -> int:
        """Which connector a well-formed results line names; comparable with ``input_identity``."""
        # Well-formed lines have every column, so plain indexing is safe (and this runs once per line).
        connector, region = self.identity_in_line
        return hash(("" if connector is None else cells[connector], "" if region is None else cells[region]))

    def result_line(
        self, number: int, values: Sequence[str], outcome: Outcome, fingerprint: str
    ) -> list[str]:
        return [str(number), *self.input_cells(values), *outcome_cells(outcome, fingerprint)]


def outcome_cells(outcome: Outcome, fingerprint: str) -> list[str]:
    """The result columns of one outcome, in ``columns.RESULT_COLUMNS`` order (one call per row)."""
    finished = outcome.finished_at or datetime.now(UTC)  # a skipped row is finished when it is written
    http_status, kind = outcome.http_status, outcome.failure_kind
    ours = [  # in columns.OUTCOME_COLUMNS order
        outcome.status.value,
        str(outcome.attempts),
        "" if http_status is None else str(http_status),
        # Text from the service: credentials removed, never read as a formula.
        spreadsheet_safe(outcome.error_code),
        spreadsheet_safe(outcome.error_message),
        spreadsheet_safe(outcome.request_id),
        str(outcome.duration_ms),
        iso_utc(finished),
        "" if kind is None else kind.value,
        fingerprint,
    ]
    # The other result columns (previous_state, action) are operation-specific text from ``extra``,
    # which came from the service too; most rows have none.
    extra = outcome.extra
    if not extra:
        return ours + _NO_EXTRA
    return ours + [spreadsheet_safe(extra.get(name, "")) for name in columns.EXTRA_RESULT_COLUMNS]


_NO_EXTRA = [""] * len(columns.EXTRA_RESULT_COLUMNS)
