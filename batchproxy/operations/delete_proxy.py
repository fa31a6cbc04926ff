"""DeleteVoiceConnectorProxy in bulk: taking proxy configurations down after AWS ended proxy sessions."""

from __future__ import annotations

from dataclasses import dataclass

from batchproxy.operations.base import Applied, Caller
from batchproxy.operations.journaled import Journaled
from batchproxy.operations.proxy_state import read_proxy, snapshot_text
from batchproxy.rows import Row

__all__ = ["DeleteProxy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteProxy(Journaled):
    snapshot: bool = False

    name = "DeleteVoiceConnectorProxy"
    command = "delete"
    extra_columns = ("previous_state",)
    needs_settings = False
    writes = True

    async def apply(self, row: Row, call: Caller) -> Applied:
        connector = row.target.voice_connector_id
        extra: dict[str, str] = {}
        if self.snapshot:
            extra["previous_state"] = snapshot_text(await read_proxy(call, connector))
        await call("delete_voice_connector_proxy", VoiceConnectorId=connector)
        return Applied(extra=extra)
