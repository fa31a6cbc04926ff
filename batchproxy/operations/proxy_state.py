"""Reading a connector's current proxy, and comparing it with what a row asks for (CONTRACT §8).

A put replaces the whole configuration, so the comparison is with what the connector will hold after
the put: no FallBackPhoneNumber means none, no Disabled means false, countries compare as sets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from batchproxy import columns
from batchproxy.errors import CallFailed
from batchproxy.operations.base import Caller
from batchproxy.rows import ProxySettings

__all__ = ["NO_PROXY", "differences", "read_proxy", "settings_from_proxy", "snapshot_text"]

NO_PROXY = "none"
_MISSING = "(none)"


async def read_proxy(call: Caller, voice_connector_id: str) -> dict[str, Any] | None:
    """The connector's ``Proxy`` as GetVoiceConnectorProxy returns it, or None when it has none.

    AWS answers "no proxy" either with 404 NotFoundException or with a 200 that has no ``Proxy``
    (CONTRACT §7); both mean None here. A 404 because the connector itself does not exist also comes
    back as None: callers that must tell the two apart ask ``connector_exists``.
    """
    try:
        response = await call("get_voice_connector_proxy", VoiceConnectorId=voice_connector_id)
    except CallFailed as failure:
        if failure.http_status == 404:
            return None
        raise
    proxy = response.get("Proxy")
    return dict(proxy) if proxy else None


async def connector_exists(call: Caller, voice_connector_id: str) -> bool:
    try:
        await call("get_voice_connector", VoiceConnectorId=voice_connector_id)
    except CallFailed as failure:
        if failure.http_status == 404:
            return False
        raise
    return True


def snapshot_text(proxy: Mapping[str, Any] | None) -> str:
    """``previous_state``: the Proxy object as returned, compact JSON, or ``none``."""
    if proxy is None:
        return NO_PROXY
    return json.dumps(proxy, separators=(",", ":"), default=str)


def settings_from_proxy(proxy: Mapping[str, Any]) -> ProxySettings:
    """The put that recreates ``proxy`` exactly (used by rollback)."""
    fallback = proxy.get("FallBackPhoneNumber")
    return ProxySettings(
        default_session_expiry_minutes=int(proxy["DefaultSessionExpiryMinutes"]),
        phone_number_pool_countries=tuple(proxy.get("PhoneNumberCountries") or ()),
        fall_back_phone_number=fallback or None,
        disabled=bool(proxy.get("Disabled", False)),
    )


def differences(current: Mapping[str, Any] | None, desired: ProxySettings) -> list[str]:
    """``Field: old -> new`` for each field that differs, in input column names; empty when equal.

    With ``current`` None (no proxy yet) every field the put sets is listed against ``(none)``.
    The text goes to files only (0600, like the input that holds the same numbers), never to a log.
    """
    now = _comparable(current) if current is not None else None
    after = _comparable_settings(desired)
    changes = []
    for column, new in after.items():
        old = None if now is None else now[column]
        if old != new:
            changes.append(_describe(column, old, new))
    return changes


def _comparable(proxy: Mapping[str, Any]) -> dict[str, Any]:
    return {
        columns.DEFAULT_SESSION_EXPIRY_MINUTES: proxy.get("DefaultSessionExpiryMinutes"),
        columns.PHONE_NUMBER_POOL_COUNTRIES: frozenset(proxy.get("PhoneNumberCountries") or ()),
        columns.FALL_BACK_PHONE_NUMBER: proxy.get("FallBackPhoneNumber") or None,
        columns.DISABLED: bool(proxy.get("Disabled", False)),
    }


def _comparable_settings(settings: ProxySettings) -> dict[str, Any]:
    return {
        columns.DEFAULT_SESSION_EXPIRY_MINUTES: settings.default_session_expiry_minutes,
        columns.PHONE_NUMBER_POOL_COUNTRIES: frozenset(settings.phone_number_pool_countries),
        columns.FALL_BACK_PHONE_NUMBER: settings.fall_back_phone_number,
        columns.DISABLED: bool(settings.disabled),
    }


def _describe(column: str, old: Any, new: Any) -> str:
    return f"{column}: {_show(old)} -> {_show(new)}"


def _show(value: Any) -> str:
    if value is None:
        return _MISSING
    if isinstance(value, frozenset):
        return ";".join(sorted(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
