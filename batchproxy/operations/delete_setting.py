"""``delete``: ``DeleteVoiceConnector<Setting>`` in bulk, e.g. taking proxy configurations down after AWS
ended proxy sessions. A setting with no delete operation (logging) is refused before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass

from batchproxy import input as input_file
from batchproxy import settings
from batchproxy.errors import UsageError
from batchproxy.operations.base import Applied, Caller
from batchproxy.operations.journaled import Journaled
from batchproxy.operations.setting_state import read_setting
from batchproxy.rows import Row

__all__ = ["DeleteSetting", "refuse_undeletable"]


def refuse_undeletable(setting: settings.Setting) -> None:
    """``UsageError`` for a setting the API cannot delete (docs/reference.md §9: ``delete --setting
    logging``)."""
    if setting.delete_method is None:
        raise UsageError(
            f"the {setting.name} setting has no delete operation in the API; to return it to the "
            "service's defaults, run a file that sets them (or roll back a run that changed it)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteSetting(Journaled):
    setting: settings.Setting = settings.SETTINGS["proxy"]
    snapshot: bool = False

    command = "delete"
    extra_columns = ("previous_state",)
    needs_settings = False
    writes = True

    @property
    def name(self) -> str:
        return self.setting.delete_operation or f"DeleteVoiceConnector{self.setting.suffix}"

    def check(self, scan: input_file.Scan) -> None:
        refuse_undeletable(self.setting)

    async def apply(self, row: Row, call: Caller) -> Applied:
        setting, connector = self.setting, row.target.voice_connector_id
        assert setting.delete_method is not None, "refused by check() before anything is sent"
        extra: dict[str, str] = {}
        if self.snapshot:
            extra["previous_state"] = settings.snapshot_text(await read_setting(call, setting, connector))
        await call(setting.delete_method, **settings.connector_request(connector))
        return Applied(extra=extra)
