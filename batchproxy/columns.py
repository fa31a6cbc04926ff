"""Column names of the files batchproxy reads and writes (docs/reference.md §1, §3, §7, §8).

Input columns are matched case-insensitively and in snake_case too; the results columns are what
batchproxy itself adds, which is also why they are ignored when a results file or failure report is
read back as input.
"""

from __future__ import annotations

import re

__all__ = [
    "EXTRA_RESULT_COLUMNS",
    "FAILURE_COLUMNS",
    "INPUT_COLUMNS",
    "OUTCOME_COLUMNS",
    "PLAN_COLUMNS",
    "REQUIRED_FOR_PUT",
    "REQUIRED_FOR_TARGET",
    "RESULT_COLUMNS",
    "ROW_COLUMN",
    "canonical_input_column",
    "is_result_column",
]

VOICE_CONNECTOR_ID = "VoiceConnectorId"
DEFAULT_SESSION_EXPIRY_MINUTES = "DefaultSessionExpiryMinutes"
PHONE_NUMBER_POOL_COUNTRIES = "PhoneNumberPoolCountries"
FALL_BACK_PHONE_NUMBER = "FallBackPhoneNumber"
DISABLED = "Disabled"
REGION = "Region"
PROFILE = "Profile"
ACCOUNT_ID = "AccountId"  # docs/reference.md §10: assume --role-name in this account
ROLE_ARN = "RoleArn"  # docs/reference.md §10: assume this role

INPUT_COLUMNS: tuple[str, ...] = (
    VOICE_CONNECTOR_ID,
    DEFAULT_SESSION_EXPIRY_MINUTES,
    PHONE_NUMBER_POOL_COUNTRIES,
    FALL_BACK_PHONE_NUMBER,
    DISABLED,
    REGION,
    PROFILE,
    ACCOUNT_ID,
    ROLE_ARN,
)
REQUIRED_FOR_TARGET: tuple[str, ...] = (VOICE_CONNECTOR_ID,)
REQUIRED_FOR_PUT: tuple[str, ...] = (
    VOICE_CONNECTOR_ID,
    DEFAULT_SESSION_EXPIRY_MINUTES,
    PHONE_NUMBER_POOL_COUNTRIES,
)

# Spellings accepted besides the canonical name and its snake_case form (docs/reference.md §7).
_EXTRA_ALIASES = {"fallback_phone_number": FALL_BACK_PHONE_NUMBER}

# The columns a results file has after the input columns, in order (docs/reference.md §3, plus ours:
# ``failure_kind`` says how the policy saw the last failure, ``fingerprint`` lets --resume notice
# an edited row, ``previous_state`` is written with --snapshot, ``action`` says what an ok row did when
# that is not simply "applied": ``unchanged`` with --skip-unchanged, ``deleted``/``restored`` in rollback).
# Every row's outcome fills the first ones; the operation-specific ones (``extra``) follow.
OUTCOME_COLUMNS: tuple[str, ...] = (
    "status",
    "attempts",
    "http_status",
    "error_code",
    "error_message",
    "request_id",
    "duration_ms",
    "finished_at",
    "failure_kind",
    "fingerprint",
)
EXTRA_RESULT_COLUMNS: tuple[str, ...] = ("previous_state", "action")
RESULT_COLUMNS: tuple[str, ...] = OUTCOME_COLUMNS + EXTRA_RESULT_COLUMNS
ROW_COLUMN = "row"

# The failure report's columns after the input columns (docs/reference.md §7).
FAILURE_COLUMNS: tuple[str, ...] = (
    ROW_COLUMN,
    "status",
    "error_code",
    "error_message",
    "http_status",
    "attempts",
)

# Written by ``plan`` (docs/reference.md §8); ignored on input like the results columns.
PLAN_COLUMNS: tuple[str, ...] = ("action", "changes", "error_code", "error_message")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_BY_LOWERED: dict[str, str] = {}
for _name in INPUT_COLUMNS:
    _BY_LOWERED[_name.lower()] = _name
    _BY_LOWERED[_snake(_name)] = _name
for _alias, _name in _EXTRA_ALIASES.items():
    _BY_LOWERED[_alias] = _name

_IGNORED_ON_INPUT = frozenset(c.lower() for c in (ROW_COLUMN, *RESULT_COLUMNS, *PLAN_COLUMNS))


def canonical_input_column(header: str) -> str | None:
    """The canonical name of an input column header, or None if it is not an input column."""
    return _BY_LOWERED.get(header.strip().lower())


def is_result_column(header: str) -> bool:
    """True for columns batchproxy writes itself: they are ignored, silently, on input."""
    return header.strip().lower() in _IGNORED_ON_INPUT
