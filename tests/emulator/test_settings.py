"""Every voice-connector setting through an unmodified boto3 client: put, get, delete, validation."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from botocore import xform_name

from batchproxy import model
from batchproxy.emulator import Emulator, settings
from batchproxy.emulator.protocol import OPERATIONS
from tests.emulator.helpers import auth_header, sync_client

# One valid put per setting, keyword arguments as boto3 takes them, and the setting Get answers.
EXAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "Termination": (
        {"Termination": {"CpsLimit": 5, "CallingRegions": ["US"], "CidrAllowedList": ["10.0.0.0/24"]}},
        {"CpsLimit": 5, "CallingRegions": ["US"], "CidrAllowedList": ["10.0.0.0/24"], "Disabled": False},
    ),
    "Origination": (
        {
            "Origination": {
                "Routes": [
                    {"Host": "sbc1.example.com", "Port": 5060, "Protocol": "TCP", "Priority": 1, "Weight": 10}
                ]
            }
        },
        {
            "Routes": [
                {"Host": "sbc1.example.com", "Port": 5060, "Protocol": "TCP", "Priority": 1, "Weight": 10}
            ],
            "Disabled": False,
        },
    ),
    "LoggingConfiguration": (
        {"LoggingConfiguration": {"EnableSIPLogs": True}},
        {"EnableSIPLogs": True, "EnableMediaMetricLogs": False},
    ),
    "StreamingConfiguration": (
        {
            "StreamingConfiguration": {
                "DataRetentionInHours": 24,
                "Disabled": False,
                "StreamingNotificationTargets": [{"NotificationTarget": "SQS"}],
            }
        },
        {
            "DataRetentionInHours": 24,
            "Disabled": False,
            "StreamingNotificationTargets": [{"NotificationTarget": "SQS"}],
        },
    ),
    "EmergencyCallingConfiguration": (
        {
            "EmergencyCallingConfiguration": {
                "DNIS": [{"EmergencyPhoneNumber": "+15550100", "CallingCountry": "US"}]
            }
        },
        {"DNIS": [{"EmergencyPhoneNumber": "+15550100", "CallingCountry": "US"}]},
    ),
    "ExternalSystemsConfiguration": (
        {
            "SessionBorderControllerTypes": ["RIBBON_SBC"],
            "ContactCenterSystemTypes": ["AVAYA_AURA_CONTACT_CENTER"],
        },
        {
            "SessionBorderControllerTypes": ["RIBBON_SBC"],
            "ContactCenterSystemTypes": ["AVAYA_AURA_CONTACT_CENTER"],
        },
    ),
}


def _method(client: Any, operation: str) -> Any:
    """boto3's method for an operation: PutVoiceConnectorTermination → put_voice_connector_termination."""
    return getattr(client, xform_name(operation))


def test_every_setting_is_served_from_the_model() -> None:
    """Six settings, each with Put and Get (and Delete where the model has one) routed."""
    served = {setting.key: setting for setting in settings()}
    assert set(served) == set(EXAMPLES)
    assert served["LoggingConfiguration"].delete is None
    assert served["ExternalSystemsConfiguration"].request_member is None
    assert served["Termination"].request_member == "Termination"
    for setting in served.values():
        assert set(setting.operations) <= set(OPERATIONS)
    names = set(model.service_model().operation_names)
    assert "DeleteVoiceConnectorLoggingConfiguration" not in names


@pytest.mark.parametrize("key", list(EXAMPLES))
async def test_put_get_delete_round_trip(emulator: Emulator, key: str) -> None:
    """Put answers the stored setting, Get returns it, Delete (204) removes it; state shows each step."""
    setting = next(s for s in settings() if s.key == key)
    sent, answered = EXAMPLES[key]
    with sync_client(emulator.url) as client:
        put = await asyncio.to_thread(_method(client, setting.put), VoiceConnectorId="vc-1", **sent)
        got = await asyncio.to_thread(_method(client, setting.get), VoiceConnectorId="vc-1")
        assert put[key] == answered
        assert got[key] == answered
        assert emulator.state.setting("us-east-1", "vc-1", key) == answered
        if setting.delete is None:
            return
        deleted = await asyncio.to_thread(_method(client, setting.delete), VoiceConnectorId="vc-1")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert emulator.state.setting("us-east-1", "vc-1", key) is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("Termination", "NotFoundException"),
        ("Origination", "NotFoundException"),
        ("StreamingConfiguration", "NotFoundException"),
        ("EmergencyCallingConfiguration", None),
        ("ExternalSystemsConfiguration", None),
        ("LoggingConfiguration", {"EnableSIPLogs": False, "EnableMediaMetricLogs": False}),
    ],
)
async def test_get_of_a_setting_never_put(emulator: Emulator, key: str, expected: Any) -> None:
    """Never put: a 404 NotFoundException, a 200 without the member, or (logging) the defaults."""
    setting = next(s for s in settings() if s.key == key)
    with sync_client(emulator.url) as client:
        get = _method(client, setting.get)
        if expected == "NotFoundException":
            with pytest.raises(client.exceptions.NotFoundException) as caught:
                await asyncio.to_thread(get, VoiceConnectorId="vc-1")
            assert "vc-1" in caught.value.response["Error"]["Message"]
            return
        answer = await asyncio.to_thread(get, VoiceConnectorId="vc-1")
    assert answer.get(key) == expected


async def test_settings_of_an_unknown_connector_are_not_found(emulator: Emulator) -> None:
    """Every setting operation on a connector that does not exist is 404 NotFoundException."""

    def calls(client: Any) -> list[str]:
        codes = []
        for setting in settings():
            sent, _ = EXAMPLES[setting.key]
            for operation, kwargs in [(setting.put, sent), (setting.get, {}), (setting.delete, {})]:
                if operation is None:
                    continue
                try:
                    _method(client, operation)(VoiceConnectorId="nope", **kwargs)
                except client.exceptions.NotFoundException as error:
                    codes.append(error.response["Error"]["Code"])
        return codes

    with sync_client(emulator.url) as client:
        codes = await asyncio.to_thread(calls, client)
    assert codes == ["NotFoundException"] * 17


@pytest.mark.parametrize(
    ("call", "kwargs", "fragment"),
    [
        (
            "put_voice_connector_origination",
            {"Origination": {"Routes": [{"Host": "a", "Port": 1}, {"Host": "b", "Port": 70000}]}},
            "Origination.Routes[1].Port must be at most 65535",
        ),
        (
            "put_voice_connector_streaming_configuration",
            {
                "StreamingConfiguration": {
                    "DataRetentionInHours": 1,
                    "Disabled": False,
                    "StreamingNotificationTargets": [],
                }
            },
            "StreamingConfiguration.StreamingNotificationTargets must have at least 1 items",
        ),
        (
            "put_voice_connector_emergency_calling_configuration",
            {
                "EmergencyCallingConfiguration": {
                    "DNIS": [{"EmergencyPhoneNumber": "+15550100", "CallingCountry": "us"}]
                }
            },
            "EmergencyCallingConfiguration.DNIS[0].CallingCountry must match",
        ),
        (
            "put_voice_connector_termination",
            {"Termination": {"CpsLimit": 2147483648}},
            "Termination.CpsLimit must be at most 2147483647",
        ),
        (
            "put_voice_connector_proxy",
            {"DefaultSessionExpiryMinutes": 2147483648, "PhoneNumberPoolCountries": ["US"]},
            "DefaultSessionExpiryMinutes must be at most 2147483647",
        ),
    ],
    ids=["nested-range", "list-size", "nested-pattern", "int32-setting", "int32-proxy"],
)
async def test_invalid_settings_are_bad_requests_naming_the_member(
    emulator: Emulator, call: str, kwargs: dict[str, Any], fragment: str
) -> None:
    """Rules inside nested structures and lists are checked; integers are held to 32 bits.

    boto3's own checks are off, as in an SDK that has none: the emulator must refuse what AWS refuses.
    """
    with (
        sync_client(emulator.url, parameter_validation=False) as client,
        pytest.raises(client.exceptions.BadRequestException) as caught,
    ):
        await asyncio.to_thread(getattr(client, call), VoiceConnectorId="vc-1", **kwargs)
    assert fragment in caught.value.response["Error"]["Message"]
    assert "+15550100" not in caught.value.response["Error"]["Message"]  # sensitive, never echoed
    assert emulator.state.connector("us-east-1", "vc-1").settings == {}  # type: ignore[union-attr]
    assert emulator.state.proxy("us-east-1", "vc-1") is None


def test_the_model_holds_unbounded_integers_to_32_bits() -> None:
    """An integer member without a modeled maximum refuses 2**31, as the service would."""
    shape = model.operation("PutVoiceConnectorProxy").input_shape
    params = {
        "VoiceConnectorId": "vc",
        "DefaultSessionExpiryMinutes": 2**31,
        "PhoneNumberPoolCountries": ["US"],
    }
    assert model.validate_members(shape, params) == [
        ("DefaultSessionExpiryMinutes", "must be at most 2147483647")
    ]
    assert not model.acceptor(shape.members["DefaultSessionExpiryMinutes"])(2**31)
    assert model.acceptor(shape.members["DefaultSessionExpiryMinutes"])(2**31 - 1)


async def test_a_put_replaces_the_whole_setting(emulator: Emulator) -> None:
    """A second put without a member leaves that member absent (flags false), not the old value."""
    with sync_client(emulator.url) as client:
        await asyncio.to_thread(
            client.put_voice_connector_termination,
            VoiceConnectorId="vc-1",
            Termination={"CpsLimit": 3, "Disabled": True, "CallingRegions": ["US"]},
        )
        await asyncio.to_thread(
            client.put_voice_connector_termination,
            VoiceConnectorId="vc-1",
            Termination={"CidrAllowedList": ["10.0.0.0/8"]},
        )
    assert emulator.state.setting("us-east-1", "vc-1", "Termination") == {
        "CidrAllowedList": ["10.0.0.0/8"],
        "Disabled": False,
    }


async def _control(emulator: Emulator, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{emulator.url}/_emulator/{path}", json=body) as response,
    ):
        return response.status, await response.json()


async def test_seeded_settings_are_what_get_answers(emulator: Emulator) -> None:
    """POST /_emulator/connectors can seed a setting; Get answers it and the state endpoint shows it."""
    seed = {"VoiceConnectorId": "vc-s", "LoggingConfiguration": {"EnableMediaMetricLogs": True}}
    assert await _control(emulator, "POST", "connectors", {"connectors": [seed]}) == (200, {"created": 1})
    with sync_client(emulator.url) as client:
        got = await asyncio.to_thread(
            client.get_voice_connector_logging_configuration, VoiceConnectorId="vc-s"
        )
    expected = {"EnableSIPLogs": False, "EnableMediaMetricLogs": True}
    assert got["LoggingConfiguration"] == expected
    status, state = await _control(emulator, "GET", "state")
    assert status == 200
    assert state["regions"]["us-east-1"]["vc-s"]["LoggingConfiguration"] == expected
    assert state["regions"]["us-east-1"]["vc-s"]["Termination"] is None


async def test_a_bad_seeded_setting_creates_nothing(emulator: Emulator) -> None:
    """A seeded setting is checked by the model; one bad entry is a 400 naming the path, nothing created."""
    seeds = [
        {"VoiceConnectorId": "good"},
        {"VoiceConnectorId": "bad", "Origination": {"Routes": [{"Protocol": "SCTP"}]}},
    ]
    status, body = await _control(emulator, "POST", "connectors", {"connectors": seeds})
    assert status == 400
    assert body["error"] == "connectors[1].Origination.Routes[0].Protocol must be one of TCP, UDP"
    assert emulator.state.connector("us-east-1", "good") is None


async def test_logging_has_no_delete_route(emulator: Emulator) -> None:
    """DELETE …/logging-configuration is not an operation: 404 UnknownOperationException, as JSON."""
    async with (
        aiohttp.ClientSession() as session,
        session.delete(
            f"{emulator.url}/voice-connectors/vc-1/logging-configuration",
            headers={"Authorization": auth_header()},
        ) as response,
    ):
        body = await response.json()
    assert response.status == 404
    assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert body["Code"] == "UnknownOperation"


async def test_absent_answers_can_be_switched_per_setting(emulator: Emulator) -> None:
    """POST /_emulator/config absent_answers makes a never-put setting answer the other allowed way."""
    status, dials = await _control(
        emulator,
        "POST",
        "config",
        {"absent_answers": {"Termination": "empty", "ExternalSystemsConfiguration": "not-found"}},
    )
    assert status == 200
    assert dials["absent_answers"]["Termination"] == "empty"
    assert dials["absent_answers"]["Origination"] == "not-found"
    with sync_client(emulator.url) as client:
        answer = await asyncio.to_thread(client.get_voice_connector_termination, VoiceConnectorId="vc-1")
        assert "Termination" not in answer
        with pytest.raises(client.exceptions.NotFoundException):
            await asyncio.to_thread(
                client.get_voice_connector_external_systems_configuration, VoiceConnectorId="vc-1"
            )
    status, body = await _control(emulator, "POST", "config", {"absent_answers": {"Termination": "maybe"}})
    assert status == 400
    assert "must be one of" in body["error"]


async def test_members_the_model_does_not_know_are_ignored_at_every_depth(emulator: Emulator) -> None:
    """As AWS does, unknown members are neither refused nor kept, inside lists of structures too."""
    body = (
        b'{"Origination": {"Routes": [{"Host": "h", "Port": 5060, "Colour": "red"}], "Extra": 1}, "More": 2}'
    )
    async with (
        aiohttp.ClientSession() as session,
        session.put(
            f"{emulator.url}/voice-connectors/vc-1/origination",
            data=body,
            headers={"Authorization": auth_header(), "Content-Type": "application/json"},
        ) as response,
    ):
        assert response.status == 200
    assert emulator.state.setting("us-east-1", "vc-1", "Origination") == {
        "Routes": [{"Host": "h", "Port": 5060}],
        "Disabled": False,
    }
