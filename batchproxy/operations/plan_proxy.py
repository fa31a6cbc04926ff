"""The read-only half of a rollout: what would each row's put change? (CONTRACT §8 ``plan``)."""

from __future__ import annotations

from dataclasses import dataclass

from batchproxy.errors import CallFailed
from batchproxy.operations.base import Applied, Caller
from batchproxy.operations.proxy_state import connector_exists, differences, read_proxy
from batchproxy.rows import FailureKind, Row

__all__ = ["PlanProxy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanProxy:
    name = "GetVoiceConnectorProxy"
    needs_settings = True
    writes = False

    async def apply(self, row: Row, call: Caller) -> Applied:
        assert row.settings is not None, "plan rows are validated with settings"
        connector = row.target.voice_connector_id
        current = await read_proxy(call, connector)
        if current is None:
            if not await connector_exists(call, connector):
                raise CallFailed(
                    kind=FailureKind.PERMANENT,
                    code="NotFoundException",
                    message=f"voice connector {connector} does not exist in {row.target.region}",
                    http_status=404,
                )
            return Applied(extra={"action": "create", "changes": ""})
        changes = differences(current, row.settings)
        action = "change" if changes else "unchanged"
        return Applied(extra={"action": action, "changes": "; ".join(changes)})
