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
from batchproxy.journal.state import JournalState
from batchproxy.rows import Row, Status

__all__ = [
    "DIFFERENT_INPUT_MIN_ROWS",
    "DIFFERENT_INPUT_SHARE",
    "InputCheck",
    "NumberedRow",
    "ResumeDecision",
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
    if latest is None:
        return ResumeDecision(True, ResumeReason.NO_LINE)
    if latest.identity != state.layout.input_identity(row.values):
        return ResumeDecision(True, ResumeReason.OTHER_CONNECTOR, latest.status)
    if not latest.is_final:
        return ResumeDecision(True, ResumeReason.NOT_FINAL, latest.status)
    if latest.fingerprint_hash != hash(row.fingerprint()):
        return ResumeDecision(True, ResumeReason.CHANGED, latest.status)
    if retry_failed and latest.status is Status.FAILED:
        return ResumeDecision(True, ResumeReason.RETRY_FAILED, latest.status)
    return ResumeDecision(False, ResumeReason.DONE, latest.status)


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
    seen = bytearray(state.max_row + 1)
    compared = other = 0
    for row in rows:
        latest = state.latest(row.number)
        if latest is None:
            continue
        compared += 1
        same = latest.identity == state.layout.input_identity(row.values)
        seen[row.number] = _SAME if same else _OTHER
        other += not same
    if compared >= DIFFERENT_INPUT_MIN_ROWS and other > compared * DIFFERENT_INPUT_SHARE:
        raise UsageError(
            f"this results file belongs to a different input file: {other} of the {compared} rows it "
            f"records name another VoiceConnectorId/Region than this input at the same row number "
            f"({state.path}). Resume with the input it was written for, or start over with --force."
        )
    gone = 0
    sample: list[int] = []
    for number in state.rows():
        if seen[number] != _SAME:
            gone += 1
            if len(sample) < _SAMPLE:
                sample.append(number)
    return InputCheck(compared, other, gone, tuple(sample))
