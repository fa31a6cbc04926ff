"""An aioboto3 client (the one batchproxy itself uses) against the emulator in the same event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aioboto3
import botocore.exceptions
import pytest
from aiobotocore.config import AioConfig

from batchproxy.emulator import Emulator, EmulatorConfig, serve
from tests.emulator.helpers import ACCESS_KEY


@asynccontextmanager
async def async_client(url: str, region: str = "us-east-1", key: str = ACCESS_KEY) -> AsyncIterator[Any]:
    session = aioboto3.Session()
    config = AioConfig(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10)
    async with session.client(
        "chime-sdk-voice",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key="x",
        config=config,
    ) as client:
        yield client


async def test_every_operation_round_trips(emulator: Emulator) -> None:
    """Create, get, list (paged), put/get/delete proxy and delete connector, through aiobotocore."""
    async with async_client(emulator.url) as client:
        created = await client.create_voice_connector(Name="async", RequireEncryption=False)
        vc_id = created["VoiceConnector"]["VoiceConnectorId"]
        assert (await client.get_voice_connector(VoiceConnectorId=vc_id))["VoiceConnector"]["Name"] == "async"

        first = await client.list_voice_connectors(MaxResults=1)
        second = await client.list_voice_connectors(MaxResults=1, NextToken=first["NextToken"])
        assert [p["VoiceConnectors"][0]["VoiceConnectorId"] for p in (first, second)] == ["vc-1", vc_id]
        assert "NextToken" not in second

        put = await client.put_voice_connector_proxy(
            VoiceConnectorId=vc_id,
            DefaultSessionExpiryMinutes=15,
            PhoneNumberPoolCountries=["DE"],
            Disabled=True,
        )
        assert put["Proxy"] == {
            "DefaultSessionExpiryMinutes": 15,
            "Disabled": True,
            "PhoneNumberCountries": ["DE"],
        }
        got = await client.get_voice_connector_proxy(VoiceConnectorId=vc_id)
        assert got["Proxy"] == put["Proxy"]
        await client.delete_voice_connector_proxy(VoiceConnectorId=vc_id)
        assert emulator.state.proxy("us-east-1", vc_id) is None
        await client.delete_voice_connector(VoiceConnectorId=vc_id)
    assert emulator.state.connector("us-east-1", vc_id) is None


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
    """aiobotocore maps each injected status to the same modeled exception class as boto3."""
    emulator.set_faults(faults)
    async with async_client(emulator.url) as client:
        with pytest.raises(getattr(client.exceptions, exception)):
            await client.get_voice_connector_proxy(VoiceConnectorId="vc-1")


async def test_error_paths_raise_the_modeled_exceptions(emulator: Emulator) -> None:
    """Unknown connector, no proxy configured and an invalid put each raise their modeled exception."""
    async with async_client(emulator.url) as client:
        with pytest.raises(client.exceptions.NotFoundException):
            await client.get_voice_connector(VoiceConnectorId="missing")
        with pytest.raises(client.exceptions.NotFoundException):
            await client.get_voice_connector_proxy(VoiceConnectorId="vc-1")
        with pytest.raises(client.exceptions.BadRequestException):
            await client.put_voice_connector_proxy(
                VoiceConnectorId="vc-1", DefaultSessionExpiryMinutes=0, PhoneNumberPoolCountries=["US"]
            )


async def test_denied_key_raises_access_denied() -> None:
    """The key the auth circuit breaker is tested with is refused as AccessDeniedException (403)."""
    config = EmulatorConfig(connectors=(("us-east-1", "vc-1"),), denied_access_keys=frozenset({"AKIDGONE"}))
    async with serve(config) as emulator, async_client(emulator.url, key="AKIDGONE") as client:
        with pytest.raises(client.exceptions.AccessDeniedException):
            await client.get_voice_connector(VoiceConnectorId="vc-1")


async def test_state_is_kept_per_region(emulator: Emulator) -> None:
    """A proxy put through eu-west-2 lands in eu-west-2's state only."""
    emulator.state.add_connector("eu-west-2", "vc-1")
    async with async_client(emulator.url, region="eu-west-2") as client:
        await client.put_voice_connector_proxy(
            VoiceConnectorId="vc-1", DefaultSessionExpiryMinutes=5, PhoneNumberPoolCountries=["GB"]
        )
    proxy = emulator.state.proxy("eu-west-2", "vc-1")
    assert proxy is not None
    assert proxy.phone_number_countries == ("GB",)
    assert emulator.state.proxy("us-east-1", "vc-1") is None


async def test_reset_on_a_kept_alive_connection_arrives_twice(emulator: Emulator) -> None:
    """aiohttp silently re-sends an idempotent request once after a reset on a reused connection.

    So one aiobotocore call shows up as two arrivals, and aiobotocore reports the failure as
    EndpointConnectionError. This pins the behaviour the client must prevent or count (docs/reference.md §7).
    """
    async with async_client(emulator.url) as client:
        await client.get_voice_connector(VoiceConnectorId="vc-1")  # opens the connection to reuse
        emulator.set_faults({"reset": 1.0})
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            await client.put_voice_connector_proxy(
                VoiceConnectorId="vc-1", DefaultSessionExpiryMinutes=5, PhoneNumberPoolCountries=["US"]
            )
    assert emulator.stats.count("PutVoiceConnectorProxy", "reset") == 2


async def test_settings_with_assumed_role_credentials(emulator: Emulator) -> None:
    """The client side's path: aioboto3 assumes a role, then puts/gets/deletes a setting in that account."""
    session = aioboto3.Session()
    config = AioConfig(retries={"total_max_attempts": 1})
    common = {"endpoint_url": emulator.url, "region_name": "eu-west-2", "config": config}
    async with session.client(
        "sts", aws_access_key_id=ACCESS_KEY, aws_secret_access_key="x", **common
    ) as sts:
        granted = await sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/Ops", RoleSessionName="bp")
    credentials = granted["Credentials"]
    emulator.account("111122223333").add_connector("eu-west-2", "vc-x")
    routes = [{"Host": "sbc.example.com", "Port": 5061, "Protocol": "TCP", "Priority": 1, "Weight": 5}]
    async with session.client(
        "chime-sdk-voice",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        **common,
    ) as client:
        await client.put_voice_connector_origination(VoiceConnectorId="vc-x", Origination={"Routes": routes})
        got = await client.get_voice_connector_origination(VoiceConnectorId="vc-x")
        assert got["Origination"] == {"Routes": routes, "Disabled": False}
        await client.delete_voice_connector_origination(VoiceConnectorId="vc-x")
        with pytest.raises(client.exceptions.NotFoundException):
            await client.get_voice_connector_origination(VoiceConnectorId="vc-x")
    assert emulator.stats.writes_by_account == {"111122223333": 2}
