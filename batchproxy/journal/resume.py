"""Deciding, row by row, what ``--resume`` sends again; and noticing an input that is not the same file.

Edited input is detected, not trusted: each results line carries the row's fingerprint (a digest of its
target and settings), so a row edited since it was applied is sent again, and a row number that now
names another connector is sent as the new row it is. The old connector's line is reported as
disappeared, like rows past the end of a shortened input.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from batchproxy.errors import UsageError
from batchproxy.journal.state import JournalState, LatestLine
from batchproxy.rows import Row, Status

__all__ = [
    "DIFFERENT_INPUT_MIN_ROWS",
    "DIFFERENT_INPUT_SHARE",
    "InputCheck",
    "InputComparison",
    "NumberedRow",
    "ResumeDecision",
    "ResumePlan",
    "ResumeReason",
    "check_input",
    "plan_resume",
]

# A resume is refused as "another input file" when more than this share of the journaled rows that
# the input still has name a different connector at the same row number. Editing a few rows, or
# inserting one near the end, stays well below half; a different file, or rows inserted near the top
# (which shifts every later row number, and so would pair rows with the wrong lines), is above it.
DIFFERENT_INPUT_SHARE = 0.5
# ...but only once this many rows can be compared: with two or three, deliberate edits and a wrong
# file look alike, and refusing a tiny resume would only be in the way.
DIFFERENT_INPUT_MIN_ROWS = 5
# How many disappeared row numbers to name in a message; the count is always complete.
_SAMPLE = 20


class ResumeReason(enum.StrEnum):
    """Why a row is or is not sent; the text is fit for a log line."""

    NO_LINE = "no outcome recorded yet"
    NOT_FINAL = "its last outcome was not final: re-sending"
    OTHER_CONNECTOR = "the results file has another connector at this row number: sending"
    CHANGED = "settings changed since it was applied: re-sending"
    RETRY_FAILED = "it failed before: re-sending (--retry-failed)"
    DONE = "already done"


@dataclass(frozen=True, slots=True)
class ResumeDecision:
    send: bool
    reason: ResumeReason
    previous: Status | None = None  # the status of the row's latest line, if it has one


class NumberedRow(Protocol):
    """What ``check_input`` needs of an input row; ``rows.Row`` and ``input.InvalidRow`` both fit."""

    @property
    def number(self) -> int: ...

    @property
    def values(self) -> Sequence[str]: ...


def plan_resume(state: JournalState, row: Row, *, retry_failed: bool = False) -> ResumeDecision:
    """Whether to send ``row`` again, given what the results file says about its row number.

    Cheap: a few array reads; the row's fingerprint is computed only when its last outcome was final.
    """
    latest = state.latest(row.number)
    same = latest is not None and latest.identity == state.layout.input_identity(row.values)
    reason = _reason(latest, same, row, retry_failed)
    return ResumeDecision(reason is not ResumeReason.DONE, reason, None if latest is None else latest.status)


def _reason(latest: LatestLine | None, same: bool, row: Row, retry_failed: bool) -> ResumeReason:
    """``plan_resume`` once the row's latest line is looked up and its connector compared."""
    if latest is None:
        return ResumeReason.NO_LINE
    if not same:
        return ResumeReason.OTHER_CONNECTOR
    if not latest.is_final:
        return ResumeReason.NOT_FINAL
    if latest.fingerprint_hash != hash(row.fingerprint()):
        return ResumeReason.CHANGED
    if retry_failed and latest.status is Status.FAILED:
        return ResumeReason.RETRY_FAILED
    return ResumeReason.DONE


@dataclass(frozen=True, slots=True)
class InputCheck:
    """How the input compares with the results file, row number by row number."""

    compared: int  # journaled rows whose row number the input still has
    other_connector: int  # ... of which name another connector now
    disappeared: int  # journaled rows the input no longer has (past its end, blank, or another connector)
    disappeared_sample: tuple[int, ...]  # the first few of them, for the message

    def describe_disappeared(self) -> str:
        """One log-ready sentence, or "" when no row disappeared."""
        if not self.disappeared:
            return ""
        shown = ", ".join(map(str, self.disappeared_sample))
        more = (
            f" and {self.disappeared - len(self.disappeared_sample)} more"
            if self.disappeared > _SAMPLE
            else ""
        )
        return f"{self.disappeared} row(s) of the results file are no longer in the input: rows {shown}{more}"


_SAME, _OTHER = 1, 2


def check_input(state: JournalState, rows: Iterable[NumberedRow]) -> InputCheck:
    """Compare every input row (valid or not) with the journal; refuse an input that is another file.

    Call it once over the whole input before anything is sent. Memory: one byte per journaled row.
    """
    comparison = InputComparison(state)
    for row in rows:
        comparison.add(row)
    return comparison.result()


class InputComparison:
    """``check_input`` a row at a time, for a caller that reads the input for other reasons too."""

    def __init__(self, state: JournalState) -> None:
        self._state = state
        self._seen = bytearray(state.max_row + 1)
        self._compared = self._other = 0

    def add(self, row: NumberedRow) -> tuple[LatestLine | None, bool]:
        """Compare one input row; returns its latest line and whether that names the same connector."""
        state = self._state
        latest = state.latest(row.number)
        if latest is None:
            return None, False
        self._compared += 1
        same = latest.identity == state.layout.input_identity(row.values)
        self._seen[row.number] = _SAME if same else _OTHER
        self._other += not same
        return latest, same

    def result(self) -> InputCheck:
        """After the last row: the comparison, or ``UsageError`` when the input is another file."""
        compared, other, state = self._compared, self._other, self._state
        if compared >= DIFFERENT_INPUT_MIN_ROWS and other > compared * DIFFERENT_INPUT_SHARE:
            raise UsageError(
                f"this results file belongs to a different input file: {other} of the {compared} rows it "
                f"records name another VoiceConnectorId/Region than this input at the same row number "
                f"({state.path}). Resume with the input it was written for, or start over with --force."
            )
        gone = 0
        sample: list[int] = []
        for number in state.rows():
            if self._seen[number] != _SAME:
                gone += 1
                if len(sample) < _SAMPLE:
                    sample.append(number)
        return InputCheck(compared, other, gone, tuple(sample))


# A row's code in ``ResumePlan``: 0 while undecided, else 1 + the index of its reason.
_REASONS = tuple(ResumeReason)
_CODE = {reason: code for code, reason in enumerate(_REASONS, start=1)}
_DONE = _CODE[ResumeReason.DONE]


class ResumePlan:
    """What ``--resume`` does with every input row, decided during the pass that validates the input.

    ``check_input`` and ``plan_resume`` for each row as it goes by, sharing one look-up of its latest
    line; each decision is kept as one byte per row, so the pass that feeds the scheduler can skip the
    rows that are done without checking them again.
    """

    def __init__(self, state: JournalState, *, retry_failed: bool = False) -> None:
        self._state = state
        self._retry_failed = retry_failed
        self._comparison = InputComparison(state)
        self._codes = bytearray(state.max_row + 1)

    def add(self, row: NumberedRow, sendable: Row | None) -> None:
        """Take one input row, valid or not, in any order; every row before ``finish``.

        ``sendable`` is the row as it would be sent (for rollback, with the settings to restore), or
        None for a row that is never sent (invalid) or recorded without a request: it stays undecided,
        and ``selects`` it.
        """
        latest, same = self._comparison.add(row)
        if sendable is None:
            return
        number = row.number
        if number >= len(self._codes):
            self._codes.extend(bytes(max(number + 1, 2 * len(self._codes)) - len(self._codes)))
        self._codes[number] = _CODE[_reason(latest, same, sendable, self._retry_failed)]

    def finish(self) -> InputCheck:
        """After the last row: ``check_input``'s answer (``UsageError`` for another input file)."""
        return self._comparison.result()

    def selects(self, number: int) -> bool:
        """Whether the row must go through the engine: anything but a row decided done."""
        return number >= len(self._codes) or self._codes[number] != _DONE

    def reason(self, number: int) -> ResumeReason | None:
        """Why the row is sent or not; None while undecided."""
        code = self._codes[number] if number < len(self._codes) else 0
        return _REASONS[code - 1] if code else None

    def count(self, reason: ResumeReason) -> int:
        """How many rows were decided for ``reason``."""
        return self._codes.count(_CODE[reason])
