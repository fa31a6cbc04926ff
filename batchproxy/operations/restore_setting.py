"""Rollback: put back what ``--snapshot`` recorded, or delete the setting where there was none
(for a setting the API cannot delete, logging, put the service's defaults back).

Its input is a ``run --snapshot`` results file: the whole file is checked first (``check_snapshots``),
and each row is prepared from its ``previous_state`` (``restorable``) before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from batchproxy import input as input_file
from batchproxy import settings
from batchproxy.operations.base import Applied, Caller, NextCommands, OutputPaths
from batchproxy.operations.journaled import Journaled, resend_argv, resume_argv
from batchproxy.operations.restore_rows import check_snapshots, restorable
from batchproxy.rows import Outcome, Row

if TYPE_CHECKING:
    from batchproxy.config import RunConfig

__all__ = ["RestoreSetting"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreSetting(Journaled):
    """Rows carry the previous values, or ``settings=None`` when the connector had no such setting."""

    setting: settings.Setting = settings.SETTINGS["proxy"]

    command = "rollback"
    needs_settings = False
    writes = True
    extra_columns = ("action",)

    @property
    def name(self) -> str:
        return f"RestoreVoiceConnector{self.setting.suffix}"

    def default_paths(self, input_path: Path) -> OutputPaths:
        # docs/reference.md §8: <stem of RESULTS>.rollback.csv, not the generic <stem>.results.csv naming.
        stem = input_path.with_name(input_path.stem + ".rollback")
        return OutputPaths(
            results=stem.with_name(stem.name + ".csv"), failures=stem.with_name(stem.name + ".failed.csv")
        )

    def check(self, scan: input_file.Scan) -> None:
        check_snapshots(scan)

    def prepare(self, row: Row, header: input_file.Header) -> Row | Outcome:
        return restorable(row, header, self.setting)

    def next_commands(self, config: RunConfig) -> NextCommands:
        # A failure report has no previous_state column, so rollback would refuse it: go on from the
        # rollback's own journal instead.
        argv = list(config.argv) or ["batchproxy", self.command, str(config.input_path)]
        resend = resend_argv(argv)
        return NextCommands(resume=resume_argv(argv), retry=resend, resend=resend)

    async def apply(self, row: Row, call: Caller) -> Applied:
        setting, connector = self.setting, row.target.voice_connector_id
        if row.settings is None:
            how = settings.restore(setting, connector, settings.NO_STATE)
            await call(how.method, **how.kwargs)
            return Applied(extra={"action": "deleted" if how.action == "delete" else "restored"})
        await call(setting.put_method, **settings.put_request(setting, connector, row.settings.members))
        return Applied(extra={"action": "restored"})
