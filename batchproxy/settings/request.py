"""A validated row's setting members -> the keyword arguments of the botocore client call.

The put request carries the setting either in one structure member (``Termination``, …) or as its own
members (proxy, external systems); the catalog read which from the model, so this is the one place
that knows the difference.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from batchproxy.settings.catalog import CONNECTOR_MEMBER, Setting

__all__ = ["connector_request", "members_code", "put_request"]


def put_request(setting: Setting, voice_connector_id: str, members: Mapping[str, Any]) -> dict[str, Any]:
    """The put's kwargs. Values are copied into fresh lists and dicts: checked values are shared by rows."""
    body = {name: _fresh(value) for name, value in members.items()}
    if setting.structure is None:
        return {CONNECTOR_MEMBER: voice_connector_id, **body}
    return {CONNECTOR_MEMBER: voice_connector_id, setting.structure: body}


def connector_request(voice_connector_id: str) -> dict[str, Any]:
    """The kwargs of a Get or Delete: every one names only the connector."""
    return {CONNECTOR_MEMBER: voice_connector_id}


def members_code(setting: Setting, members: Mapping[str, Any]) -> str:
    """A canonical text of what a row asks for, for the results file's fingerprint.

    Equal requests give equal text whatever order the JSON cell listed its members in; the setting's
    name is part of it, so a row re-run under another setting does not look unchanged.
    """
    plain = {name: _fresh(value) for name, value in members.items()}
    return setting.name + json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _fresh(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_fresh(item) for item in value]
    if isinstance(value, dict):
        return {name: _fresh(item) for name, item in value.items()}
    return value
