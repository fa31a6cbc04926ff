"""Turning a ``run --snapshot`` results file back into rows to restore (CONTRACT §8 rollback).

Only rows whose status was ``ok`` were changed by that run, so only they are restored; the others get
a ``skipped`` line saying why. A row whose snapshot is missing or unreadable fails without a request.
"""

from __future__ import annotations

import json
from dataclasses import replace

from batchproxy import input as input_file
from batchproxy.operations.proxy_state import NO_PROXY, settings_from_proxy
from batchproxy.rows import Outcome, Row, Status

__all__ = ["RESTORE_COLUMN", "restorable"]

RESTORE_COLUMN = "previous_state"
_STATUS_COLUMN = "status"


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
