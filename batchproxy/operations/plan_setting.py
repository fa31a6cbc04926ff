"""The read-only half of a rollout: what would each row's put change? (docs/reference.md §8, §9 ``plan``).

Outcomes go to a plan file, not a results journal: nothing is changed, so there is nothing to resume
or retry, and the summary suggests no next command.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from batchproxy import columns, settings
from batchproxy import input as input_file
from batchproxy.errors import CallFailed
from batchproxy.operations.base import Applied, Caller, NextCommands, OutputPaths, Sink, SinkOpening
from batchproxy.operations.plan_file import PlanFile
from batchproxy.operations.setting_state import connector_exists, read_setting
from batchproxy.rows import FailureKind, Outcome, Row

if TYPE_CHECKING:
    from batchproxy.config import RunConfig

__all__ = ["PlanSetting"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSetting:
    setting: settings.Setting = settings.SETTINGS["proxy"]

    command = "plan"
    needs_settings = True
    writes = False
    extra_columns = columns.PLAN_COLUMNS

    @property
    def name(self) -> str:
        return self.setting.get_operation

    def default_paths(self, input_path: Path) -> OutputPaths:
        return OutputPaths(results=input_path.with_name(input_path.stem + ".plan.csv"))

    def check(self, scan: input_file.Scan) -> None:
        """Nothing to check beyond each row's own validation."""

    def prepare(self, row: Row, header: input_file.Header) -> Row | Outcome:
        return row

    def open_sink(self, opening: SinkOpening) -> contextlib.AbstractContextManager[Sink]:
        config = opening.config
        return PlanFile.create(config.results_path, opening.header, force=config.force)

    def next_commands(self, config: RunConfig) -> NextCommands:
        return NextCommands()

    async def apply(self, row: Row, call: Caller) -> Applied:
        assert row.settings is not None, "plan rows are validated with settings"
        setting, connector = self.setting, row.target.voice_connector_id
        current = await read_setting(call, setting, connector)
        if current is None:
            if not await connector_exists(call, connector):
                raise CallFailed(
                    kind=FailureKind.PERMANENT,
                    code="NotFoundException",
                    message=f"voice connector {connector} does not exist in {row.target.region}",
                    http_status=404,
                )
            return Applied(extra={"action": "create", "changes": ""})
        changes = settings.differences(setting, current, row.settings.members)
        action = "change" if changes else "unchanged"
        return Applied(extra={"action": action, "changes": "; ".join(changes)})
