"""Every voice-connector setting batchproxy serves, derived from the botocore model (docs/reference.md §9).

Pure logic over the model: no I/O, no engine. The input layer asks ``schema`` for a setting's columns
and ``cells`` to check its cells; an operation asks ``request`` for the call's kwargs and ``compare``
for plan ``changes``, ``previous_state`` and the rollback call.

    catalog  which settings exist, their operations and quirks
    schema   a setting's columns and the header spellings that name them
    cells    one CSV cell -> the API value, every model rule checked
    request  checked members -> the botocore client call's kwargs
    compare  now vs after the put; previous_state; the call that restores it
"""

from __future__ import annotations

from batchproxy.settings.catalog import SETTINGS, Setting, UnknownSetting, setting
from batchproxy.settings.cells import CellProblem, CheckedCells, SettingRules, rules
from batchproxy.settings.compare import (
    MISSING,
    NO_STATE,
    Restore,
    differences,
    previous_members,
    restore,
    setting_in,
    snapshot_text,
)
from batchproxy.settings.request import connector_request, members_code, put_request
from batchproxy.settings.schema import (
    Column,
    Kind,
    canonical_column,
    column_names,
    columns,
    required_columns,
)

__all__ = [
    "MISSING",
    "NO_STATE",
    "SETTINGS",
    "CellProblem",
    "CheckedCells",
    "Column",
    "Kind",
    "Restore",
    "Setting",
    "SettingRules",
    "UnknownSetting",
    "canonical_column",
    "column_names",
    "columns",
    "connector_request",
    "differences",
    "members_code",
    "previous_members",
    "put_request",
    "required_columns",
    "restore",
    "rules",
    "setting",
    "setting_in",
    "snapshot_text",
]
