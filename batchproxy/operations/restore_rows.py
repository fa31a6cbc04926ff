"""Turning a ``run --snapshot`` results file back into rows to restore (docs/reference.md §8, §9 rollback).

Only rows whose status was ``ok`` were changed by that run, so only they are restored; the others get
a ``skipped`` line saying why. A row whose snapshot is missing or cannot be put back fails without a
request.
"""

from __future__ import annotations

from dataclasses import replace

from batchproxy import input as input_file
from batchproxy import settings
from batchproxy.errors import UsageError
from batchproxy.rows import Outcome, Row, SettingValues, Status

__all__ = ["RESTORE_COLUMN", "check_snapshots", "restorable"]

RESTORE_COLUMN = "previous_state"
_STATUS_COLUMN = "status"


def check_snapshots(scan: input_file.Scan) -> None:
    """Refuse the file as a whole (docs/reference.md §8) unless every ``ok`` row carries a ``previous_state``.

    A results file always has the column; a run without ``--snapshot`` (or resumed without it) leaves
    it empty, and restoring part of such a run would leave the rest in a state no one chose.
    """
    header = scan.header
    why = "it was not written by `run --snapshot`, so there is nothing to roll back to; nothing was sent"
    if RESTORE_COLUMN not in header.names:
        raise UsageError(f"{scan.path} has no {RESTORE_COLUMN} column: {why}")
    for item in scan.rows():
        if not isinstance(item, Row) or _cell(item, header, _STATUS_COLUMN) != Status.OK.value:
            continue
        if not _cell(item, header, RESTORE_COLUMN):
            raise UsageError(f"{scan.path}: row {item.number} is ok but has no {RESTORE_COLUMN}: {why}")


def restorable(row: Row, header: input_file.Header, setting: settings.Setting) -> Row | Outcome:
    """``row`` carrying the values to put back (None: there was no such setting), or the outcome to record."""
    status = _cell(row, header, _STATUS_COLUMN)
    if status != Status.OK.value:
        return Outcome(
            status=Status.SKIPPED,
            error_code="NotApplied",
            error_message=f"status was {status or '(empty)'} in the results file: nothing to restore",
        )
    snapshot = _cell(row, header, RESTORE_COLUMN)
    if snapshot == settings.NO_STATE:
        return replace(row, settings=None)
    try:
        members = settings.previous_members(setting, snapshot)
    except ValueError as exc:
        # The message names members, never their values: a snapshot can hold a sensitive number.
        return Outcome(
            status=Status.FAILED,
            error_code="NoSnapshot",
            error_message=(
                f"{RESTORE_COLUMN} is empty or not a recorded {setting.name} ({exc}): refusing to guess"
            ),
        )
    return replace(row, settings=SettingValues.of(setting, members))


def _cell(row: Row, header: input_file.Header, name: str) -> str:
    at = header.names.index(name) if name in header.names else None
    return row.values[at] if at is not None and at < len(row.values) else ""
