"""Reading what a connector holds of one setting now, with the setting's own Get (docs/reference.md §8, §9).

AWS answers "this connector has no such setting" in two ways, depending on the setting: 404
NotFoundException, or 200 without the member; both mean None here. A 404 because the connector itself
does not exist looks the same, so a caller that must tell the two apart asks ``connector_exists``.
"""

from __future__ import annotations

from typing import Any

from batchproxy import settings
from batchproxy.errors import CallFailed
from batchproxy.operations.base import Caller

__all__ = ["connector_exists", "read_setting"]


async def read_setting(
    call: Caller, setting: settings.Setting, voice_connector_id: str
) -> dict[str, Any] | None:
    """The setting exactly as its Get returned it (API member names), or None when there is none."""
    try:
        response = await call(setting.get_method, **settings.connector_request(voice_connector_id))
    except CallFailed as failure:
        if failure.http_status == 404:
            return None
        raise
    return settings.setting_in(setting, response)


async def connector_exists(call: Caller, voice_connector_id: str) -> bool:
    try:
        await call("get_voice_connector", **settings.connector_request(voice_connector_id))
    except CallFailed as failure:
        if failure.http_status == 404:
            return False
        raise
    return True
