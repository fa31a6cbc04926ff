"""PutVoiceConnectorProxy: the main job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batchproxy.errors import CallFailed
from batchproxy.operations.base import Applied, Caller
from batchproxy.operations.journaled import Journaled
from batchproxy.operations.proxy_state import differences, read_proxy, snapshot_text
from batchproxy.rows import FailureKind, ProxySettings, Row

__all__ = ["PutProxy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PutProxy(Journaled):
    """Put each row's proxy settings; optionally read first to snapshot or to skip unchanged rows."""

    snapshot: bool = False
    skip_unchanged: bool = False

    name = "PutVoiceConnectorProxy"
    command = "run"
    extra_columns = ("previous_state", "action")
    needs_settings = True
    writes = True

    async def apply(self, row: Row, call: Caller) -> Applied:
        settings = _settings(row)
        connector = row.target.voice_connector_id
        extra: dict[str, str] = {}
        if self.snapshot or self.skip_unchanged:
            current = await read_proxy(call, connector)
            if self.snapshot:
                extra["previous_state"] = snapshot_text(current)
            if self.skip_unchanged and current is not None and not differences(current, settings):
                extra["action"] = "unchanged"
                return Applied(extra=extra)
        response = await call(
            "put_voice_connector_proxy", VoiceConnectorId=connector, **settings.as_request()
        )
        _check_read_back(response, settings)
        return Applied(extra=extra)


def _settings(row: Row) -> ProxySettings:
    if row.settings is None:
        raise ValueError(f"row {row.number} has no proxy settings")
    return row.settings


def _check_read_back(response: dict[str, Any], settings: ProxySettings) -> None:
    """The put's response echoes the stored proxy; anything but what we asked for is a failure.

    This costs no extra request and catches a service that silently drops or rewrites a field.
    """
    applied = response.get("Proxy")
    mismatched = differences(applied, settings) if applied else ["Proxy: missing from the response"]
    if mismatched:
        raise CallFailed(
            kind=FailureKind.PERMANENT,
            code="ReadBackMismatch",
            message="the service stored something else: " + "; ".join(mismatched),
            http_status=response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
            request_id=response.get("ResponseMetadata", {}).get("RequestId", ""),
        )
