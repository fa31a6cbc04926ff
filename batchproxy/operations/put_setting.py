"""``run``: put each row's setting (``PutVoiceConnector<Setting>``), the main job, for every setting.

A put replaces the whole setting. With ``--snapshot`` or ``--skip-unchanged`` the setting's Get is read
first; the put's response, where the model says it echoes the stored setting, is compared with what was
asked (the read-back check), at no extra request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from batchproxy import model, settings
from batchproxy.errors import CallFailed
from batchproxy.operations.base import Applied, Caller
from batchproxy.operations.journaled import Journaled
from batchproxy.operations.setting_state import read_setting
from batchproxy.rows import FailureKind, Row, SettingValues
from batchproxy.settings.catalog import CONNECTOR_MEMBER

__all__ = ["PutSetting"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PutSetting(Journaled):
    """Put each row's setting; optionally read first to snapshot or to skip unchanged rows."""

    setting: settings.Setting = settings.SETTINGS["proxy"]
    snapshot: bool = False
    skip_unchanged: bool = False

    command = "run"
    extra_columns = ("previous_state", "action")
    needs_settings = True
    writes = True

    @property
    def name(self) -> str:
        return self.setting.put_operation

    async def apply(self, row: Row, call: Caller) -> Applied:
        values = _values(row, self.setting)
        setting, connector = self.setting, row.target.voice_connector_id
        extra: dict[str, str] = {}
        if self.snapshot or self.skip_unchanged:
            current = await read_setting(call, setting, connector)
            if self.snapshot:
                extra["previous_state"] = settings.snapshot_text(current)
            if (
                self.skip_unchanged
                and current is not None
                and not settings.differences(setting, current, values.members)
            ):
                extra["action"] = "unchanged"
                return Applied(extra=extra)
        request = settings.put_request(setting, connector, values.members)
        response = await call(setting.put_method, **request)
        if echoes(setting):
            _check_read_back(setting, response, values, request)
        return Applied(extra=extra)


def _values(row: Row, setting: settings.Setting) -> SettingValues:
    if row.settings is None or row.settings.setting is not setting:
        raise ValueError(f"row {row.number} has no {setting.name} values")
    return row.settings


@functools.cache  # asked once per row; the answer is the model's, fixed per setting
def echoes(setting: settings.Setting) -> bool:
    """Whether the put's response carries the stored setting, by the model's output shape."""
    output = model.operation(setting.put_operation).output_shape
    return output is not None and setting.get_member in output.members


def _check_read_back(
    setting: settings.Setting, response: dict[str, Any], values: SettingValues, request: dict[str, Any]
) -> None:
    """The put's response echoes the stored setting; anything but what we asked for is a failure.

    This costs no extra request and catches a service that silently drops or rewrites a member.
    """
    applied = response.get(setting.get_member)  # an empty setting ({}) is an answer too
    if applied is not None and applied == _as_echoed(setting, request):
        return  # the usual answer, word for word what was sent: no need to compare member by member
    mismatched = (
        settings.differences(setting, applied, values.members)
        if applied is not None
        else [f"{setting.get_member}: missing from the response"]
    )
    if mismatched:
        metadata = response.get("ResponseMetadata", {})
        raise CallFailed(
            kind=FailureKind.PERMANENT,
            code="ReadBackMismatch",
            message="the service stored something else: " + "; ".join(mismatched),
            http_status=metadata.get("HTTPStatusCode"),
            request_id=metadata.get("RequestId", ""),
        )


def _as_echoed(setting: settings.Setting, request: dict[str, Any]) -> dict[str, Any]:
    """The setting as sent, under the names the service answers with."""
    body = request[setting.structure] if setting.structure is not None else request
    return {setting.get_name(name): value for name, value in body.items() if name != CONNECTOR_MEMBER}
