"""Turning a ``run --snapshot`` results file back into rows to restore (CONTRACT §8 rollback).

Only rows whose status was ``ok`` were changed by that run, so only they are restored; the others get
a ``skipped`` line saying why. A row whose snapshot is missing or unreadable fails without a request.
"""

from __future__ import annotations

import json
from dataclasses import replace

from batchproxy import input as input_file
from batchproxy.errors import UsageError
from batchproxy.operations.proxy_state import NO_PROXY, settings_from_proxy
from batchproxy.rows import Outcome, Row, Status

__all__ = ["RESTORE_COLUMN", "check_snapshots", "restorable"]

RESTORE_COLUMN = "previous_state"
_STATUS_COLUMN = "status"


def check_snapshots(scan: input_file.Scan) -> None:
    """Refuse the file as a whole (CONTRACT §8) unless every ``ok`` row carries a ``previous_state``.

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


def restorable(row: Row, header: input_file.Header) -> Row | Outcome:
    """``row`` carrying the settings to restore (None: delete the proxy), or the outcome to record."""
    status = _cell(row, header, _STATUS_COLUMN)
    if status != Status.OK.value:
        return Outcome(
            status=Status.SKIPPED,
            error_code="NotApplied",
            error_message=f"status was {status or '(empty)'} in the results file: nothing to restore",
        )
    snapshot = _cell(row, header, RESTORE_COLUMN)
    if snapshot == NO_PROXY:
        return replace(row, settings=None)
    try:
        return replace(row, settings=settings_from_proxy(json.loads(snapshot)))
    except (ValueError, KeyError, TypeError):
        return Outcome(
            status=Status.FAILED,
            error_code="NoSnapshot",
            error_message=f"{RESTORE_COLUMN} is empty or not a recorded proxy: refusing to guess",
        )


def _cell(row: Row, header: input_file.Header, name: str) -> str:
    at = header.names.index(name) if name in header.names else None
    return row.values[at] if at is not None and at < len(row.values) else ""
