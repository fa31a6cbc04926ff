"""Rollback: put back what ``--snapshot`` recorded, or delete the proxy where there was none."""

from __future__ import annotations

from dataclasses import dataclass

from batchproxy.operations.base import Applied, Caller
from batchproxy.rows import Row

__all__ = ["RestoreProxy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreProxy:
    """Rows carry the previous settings, or ``settings=None`` when the connector had no proxy before."""

    name = "RestoreVoiceConnectorProxy"
    needs_settings = False
    writes = True

    async def apply(self, row: Row, call: Caller) -> Applied:
        connector = row.target.voice_connector_id
        if row.settings is None:
            await call("delete_voice_connector_proxy", VoiceConnectorId=connector)
            return Applied(extra={"action": "deleted"})
        await call("put_voice_connector_proxy", VoiceConnectorId=connector, **row.settings.as_request())
        return Applied(extra={"action": "restored"})
