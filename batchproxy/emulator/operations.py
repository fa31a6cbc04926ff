"""What each served operation does to the state, given its already validated input.

An operation returns its output structure (None when it has none) or raises ``ApiError``. Nothing
here knows about HTTP beyond the exception names the model declares.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from batchproxy.emulator.protocol import ApiError, render_output
from batchproxy.emulator.settings import Absent, Setting, settings
from batchproxy.emulator.state import Connector, EmulatorState, Proxy

__all__ = ["OPERATION_HANDLERS", "Context", "Output"]


@dataclass(frozen=True, slots=True)
class Context:
    state: EmulatorState
    region: str  # from the request's credential scope
    page_size: int  # ListVoiceConnectors' page when MaxResults is not given
    # Per setting key, how a Get of a setting never put answers, where a test chose another way.
    absent_answers: Mapping[str, Absent] = field(default_factory=dict)


Output = dict[str, Any] | None  # the output structure; None for operations that answer 204


def _existing(ctx: Context, params: dict[str, Any]) -> Connector:
    vc_id: str = params["VoiceConnectorId"]
    connector = ctx.state.lookup(ctx.region, vc_id)
    if connector is None:
        raise ApiError("NotFoundException", f"The requested voice connector {vc_id} was not found.")
    return connector


def create_voice_connector(ctx: Context, params: dict[str, Any]) -> Output:
    connector = ctx.state.add_connector(ctx.region, name=params["Name"])
    connector.require_encryption = params["RequireEncryption"]
    connector.aws_region = params.get("AwsRegion", ctx.region)
    return {"VoiceConnector": connector.to_wire()}


def get_voice_connector(ctx: Context, params: dict[str, Any]) -> Output:
    return {"VoiceConnector": _existing(ctx, params).to_wire()}


def delete_voice_connector(ctx: Context, params: dict[str, Any]) -> Output:
    connector = _existing(ctx, params)
    ctx.state.delete_connector(ctx.region, connector.voice_connector_id)
    return None


def list_voice_connectors(ctx: Context, params: dict[str, Any]) -> Output:
    start = _decode_token(params.get("NextToken"))
    size = params.get("MaxResults") or ctx.page_size
    connectors, following = ctx.state.page(ctx.region, start, size)
    output: dict[str, Any] = {"VoiceConnectors": [c.to_wire() for c in connectors]}
    if following is not None:
        output["NextToken"] = _encode_token(following)
    return output


def _encode_token(offset: int) -> str:
    # Opaque to clients, as AWS tokens are; an offset is enough for an emulator.
    return base64.urlsafe_b64encode(f"vc:{offset}".encode()).decode()


def _decode_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        kind, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "vc" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError("BadRequestException", "Invalid input: NextToken is not a token this service issued")


def put_voice_connector_proxy(ctx: Context, params: dict[str, Any]) -> Output:
    connector = _existing(ctx, params)
    # A put replaces the whole configuration: members not sent fall back to their defaults.
    connector.proxy = Proxy(
        default_session_expiry_minutes=params["DefaultSessionExpiryMinutes"],
        phone_number_countries=tuple(params["PhoneNumberPoolCountries"]),
        disabled=params.get("Disabled", False),
        fall_back_phone_number=params.get("FallBackPhoneNumber"),
    )
    connector.updated = datetime.now(UTC)
    return {"Proxy": connector.proxy.to_wire()}


def get_voice_connector_proxy(ctx: Context, params: dict[str, Any]) -> Output:
    connector = _existing(ctx, params)
    if connector.proxy is None:
        # docs/reference.md §7: "no proxy configured" is a 404, told apart from "no connector" by its message.
        raise ApiError(
            "NotFoundException",
            f"No proxy configuration found for voice connector {connector.voice_connector_id}.",
        )
    return {"Proxy": connector.proxy.to_wire()}


def delete_voice_connector_proxy(ctx: Context, params: dict[str, Any]) -> Output:
    connector = _existing(ctx, params)
    # Deleting a proxy that is not there succeeds (204): the caller's goal, "no proxy", holds, and
    # it keeps a retried delete whose first attempt was lost from failing.
    if connector.proxy is not None:
        connector.proxy = None
        connector.updated = datetime.now(UTC)
    return None


def put_setting(setting: Setting, ctx: Context, params: dict[str, Any]) -> Output:
    connector = _existing(ctx, params)
    # A put replaces the whole setting; ``from_request`` answers unsent flags as false, as AWS does,
    # and members the model does not know (AWS ignores them) are dropped at every depth.
    connector.settings[setting.key] = stored = render_output(setting.shape, setting.from_request(params))
    connector.updated = datetime.now(UTC)
    return {setting.key: stored}


def get_setting(setting: Setting, ctx: Context, params: dict[str, Any]) -> Output:
    connector = _existing(ctx, params)
    stored = connector.settings.get(setting.key)
    if stored is not None:
        return {setting.key: stored}
    absent = ctx.absent_answers.get(setting.key, setting.absent)
    if absent == "defaults":
        return {setting.key: setting.defaults}
    if absent == "empty":
        return {}
    # Told apart from "no such connector" by its message, as for the proxy (docs/reference.md §7).
    raise ApiError(
        "NotFoundException",
        f"No {setting.key} found for voice connector {connector.voice_connector_id}.",
    )


def delete_setting(setting: Setting, ctx: Context, params: dict[str, Any]) -> Output:
    connector = _existing(ctx, params)
    # As for the proxy: deleting what is not there is a 204, so a retried delete succeeds.
    if connector.settings.pop(setting.key, None) is not None:
        connector.updated = datetime.now(UTC)
    return None


Handler = Callable[[Context, dict[str, Any]], Output]


def _setting_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for setting in settings():
        handlers[setting.put] = functools.partial(put_setting, setting)
        handlers[setting.get] = functools.partial(get_setting, setting)
        if setting.delete is not None:
            handlers[setting.delete] = functools.partial(delete_setting, setting)
    return handlers


OPERATION_HANDLERS: dict[str, Handler] = {
    "CreateVoiceConnector": create_voice_connector,
    "GetVoiceConnector": get_voice_connector,
    "ListVoiceConnectors": list_voice_connectors,
    "DeleteVoiceConnector": delete_voice_connector,
    "PutVoiceConnectorProxy": put_voice_connector_proxy,
    "GetVoiceConnectorProxy": get_voice_connector_proxy,
    "DeleteVoiceConnectorProxy": delete_voice_connector_proxy,
    **_setting_handlers(),
}
