"""An unmodified, synchronous boto3 client against the emulator: every operation and error path.

boto3 blocks, and the emulator runs in the test's event loop, so each call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import botocore.exceptions
import pytest
from botocore import UNSIGNED

from batchproxy.emulator import Emulator, EmulatorConfig, Proxy, serve
from tests.emulator.helpers import sync_client


async def test_every_operation_round_trips(emulator: Emulator) -> None:
    """Create, get, list, put/get/delete proxy and delete connector all parse as boto3 expects."""

    def story(client: Any) -> None:
        created = client.create_voice_connector(Name="first one", RequireEncryption=True)
        assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
        vc = created["VoiceConnector"]
        assert isinstance(vc["CreatedTimestamp"], datetime)
        vc_id = vc["VoiceConnectorId"]
        assert client.get_voice_connector(VoiceConnectorId=vc_id)["VoiceConnector"]["Name"] == "first one"

        put = client.put_voice_connector_proxy(
            VoiceConnectorId=vc_id,
            DefaultSessionExpiryMinutes=60,
            PhoneNumberPoolCountries=["US", "CA"],
            FallBackPhoneNumber="+14155550100",
        )
        expected = {
            "DefaultSessionExpiryMinutes": 60,
            "Disabled": False,
            "FallBackPhoneNumber": "+14155550100",
            "PhoneNumberCountries": ["US", "CA"],
        }
        assert put["Proxy"] == expected
        assert client.get_voice_connector_proxy(VoiceConnectorId=vc_id)["Proxy"] == expected

        deleted = client.delete_voice_connector_proxy(VoiceConnectorId=vc_id)
        assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
        with pytest.raises(client.exceptions.NotFoundException):
            client.get_voice_connector_proxy(VoiceConnectorId=vc_id)

        assert (
            client.delete_voice_connector(VoiceConnectorId=vc_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
        )
        with pytest.raises(client.exceptions.NotFoundException):
            client.get_voice_connector(VoiceConnectorId=vc_id)

    with sync_client(emulator.url) as client:
        await asyncio.to_thread(story, client)


async def test_put_without_optional_members_answers_disabled_false_and_no_fallback(
    emulator: Emulator,
) -> None:
    """A put replaces the whole proxy: Disabled defaults to false and no FallBackPhoneNumber is shown."""
    emulator.state.set_proxy(
        "us-east-1",
        "vc-1",
        Proxy(default_session_expiry_minutes=5, phone_number_countries=("GB",), disabled=True),
    )
    with sync_client(emulator.url) as client:
        answer = await asyncio.to_thread(
            client.put_voice_connector_proxy,
            VoiceConnectorId="vc-1",
            DefaultSessionExpiryMinutes=10,
            PhoneNumberPoolCountries=["US"],
        )
    assert answer["Proxy"] == {
        "DefaultSessionExpiryMinutes": 10,
        "Disabled": False,
        "PhoneNumberCountries": ["US"],
    }
    assert emulator.state.proxy("us-east-1", "vc-1") == Proxy(
        default_session_expiry_minutes=10, phone_number_countries=("US",)
    )


async def test_list_pages_through_every_connector() -> None:
    """MaxResults bounds a page and NextToken leads to the next one until every connector was listed."""
    ids = tuple(("us-east-1", f"vc-{n}") for n in range(7))
    async with serve(EmulatorConfig(connectors=ids)) as emulator:

        def pages(client: Any) -> list[list[str]]:
            found, token = [], None
            while True:
                kwargs = {"MaxResults": 3} | ({"NextToken": token} if token else {})
                page = client.list_voice_connectors(**kwargs)
                found.append([vc["VoiceConnectorId"] for vc in page["VoiceConnectors"]])
                token = page.get("NextToken")
                if not token:
                    return found

        with sync_client(emulator.url) as client:
            listed = await asyncio.to_thread(pages, client)
    assert listed == [["vc-0", "vc-1", "vc-2"], ["vc-3", "vc-4", "vc-5"], ["vc-6"]]


async def test_delete_proxy_when_none_is_configured_succeeds(emulator: Emulator) -> None:
    """Deleting an absent proxy is 204, so a retried delete whose first attempt was lost succeeds."""
    with sync_client(emulator.url) as client:
        answer = await asyncio.to_thread(client.delete_voice_connector_proxy, VoiceConnectorId="vc-1")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204


@pytest.mark.parametrize(
    ("faults", "exception"),
    [
        ({"429": 1.0}, "ThrottledClientException"),
        ({"503": 1.0}, "ServiceUnavailableException"),
        ({"500": 1.0}, "ServiceFailureException"),
    ],
)
async def test_injected_errors_raise_the_modeled_exception(
    emulator: Emulator, faults: dict[str, float], exception: str
) -> None:
    """Each injected error status reaches boto3 as the exception class the model declares for it."""
    emulator.set_faults(faults)
    with sync_client(emulator.url) as client, pytest.raises(getattr(client.exceptions, exception)) as caught:
        await asyncio.to_thread(
            client.put_voice_connector_proxy,
            VoiceConnectorId="vc-1",
            DefaultSessionExpiryMinutes=10,
            PhoneNumberPoolCountries=["US"],
        )
    assert caught.value.response["ResponseMetadata"]["RequestId"]
    assert emulator.state.proxy("us-east-1", "vc-1") is None


@pytest.mark.parametrize(
    "call",
    [
        {"VoiceConnectorId": "vc-1", "DefaultSessionExpiryMinutes": 0, "PhoneNumberPoolCountries": ["US"]},
        {"VoiceConnectorId": "vc-1", "DefaultSessionExpiryMinutes": 5, "PhoneNumberPoolCountries": ["us"]},
        {
            "VoiceConnectorId": "vc-1",
            "DefaultSessionExpiryMinutes": 5,
            "PhoneNumberPoolCountries": ["US"],
            "FallBackPhoneNumber": "0123",
        },
    ],
    ids=["expiry-zero", "lowercase-country", "fallback-not-e164"],
)
async def test_invalid_puts_raise_bad_request(emulator: Emulator, call: dict[str, Any]) -> None:
    """What botocore lets through but the model's patterns (or expiry >= 1) forbid is a 400."""
    with sync_client(emulator.url) as client, pytest.raises(client.exceptions.BadRequestException) as caught:
        await asyncio.to_thread(client.put_voice_connector_proxy, **call)
    assert caught.value.response["Error"]["Message"].startswith("Invalid input")
    assert "0123" not in caught.value.response["Error"]["Message"]  # a sensitive value is never echoed


async def test_unknown_connector_raises_not_found(emulator: Emulator) -> None:
    """Every connector-addressed operation answers 404 NotFoundException for an unknown id."""

    def calls(client: Any) -> list[str]:
        names = []
        for method, extra in [
            (client.get_voice_connector, {}),
            (client.delete_voice_connector, {}),
            (client.get_voice_connector_proxy, {}),
            (client.delete_voice_connector_proxy, {}),
            (
                client.put_voice_connector_proxy,
                {"DefaultSessionExpiryMinutes": 5, "PhoneNumberPoolCountries": ["US"]},
            ),
        ]:
            try:
                method(VoiceConnectorId="nope", **extra)
            except client.exceptions.NotFoundException as error:
                names.append(error.response["Error"]["Code"])
        return names

    with sync_client(emulator.url) as client:
        assert await asyncio.to_thread(calls, client) == ["NotFoundException"] * 5


@pytest.mark.parametrize(
    ("deny_error", "status"),
    [("AccessDeniedException", 403), ("UnauthorizedClientException", 401), ("ForbiddenException", 403)],
)
async def test_denied_access_key_raises_the_configured_exception(deny_error: str, status: int) -> None:
    """A denied key is refused with the chosen modeled exception; other keys still work."""
    config = EmulatorConfig(
        connectors=(("us-east-1", "vc-1"),), denied_access_keys=frozenset({"AKIDBAD"}), deny_error=deny_error
    )
    async with serve(config) as emulator:
        with (
            sync_client(emulator.url, key="AKIDBAD") as bad,
            pytest.raises(getattr(bad.exceptions, deny_error)) as e,
        ):
            await asyncio.to_thread(bad.get_voice_connector, VoiceConnectorId="vc-1")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        with sync_client(emulator.url) as good:
            await asyncio.to_thread(good.get_voice_connector, VoiceConnectorId="vc-1")


async def test_unsigned_request_is_refused_as_missing_authentication_token(emulator: Emulator) -> None:
    """Without an Authorization header AWS's front end answers 403 MissingAuthenticationTokenException."""
    unsigned = sync_client(emulator.url, signature_version=UNSIGNED)
    with unsigned as client, pytest.raises(botocore.exceptions.ClientError) as caught:
        await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")
    assert caught.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


async def test_state_is_kept_per_region(emulator: Emulator) -> None:
    """The signing region selects the state: a connector of us-east-1 does not exist in eu-west-2."""
    with sync_client(emulator.url, region="eu-west-2") as client:
        with pytest.raises(client.exceptions.NotFoundException):
            await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")
        created = await asyncio.to_thread(
            client.create_voice_connector, Name="london", RequireEncryption=False
        )
    vc_id = created["VoiceConnector"]["VoiceConnectorId"]
    assert emulator.state.connector("eu-west-2", vc_id) is not None
    assert emulator.state.connector("us-east-1", vc_id) is None
    assert [c.voice_connector_id for c in emulator.state.connectors("us-east-1")] == ["vc-1"]
