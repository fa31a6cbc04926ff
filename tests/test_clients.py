"""``ClientPool`` against the in-process emulator over real loopback sockets: one call, one request."""

from __future__ import annotations

from typing import Any

import aioboto3
import anyio
import botocore.exceptions
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession

from batchproxy.clients import ClientPool
from batchproxy.emulator import Emulator
from batchproxy.errors import CredentialsError

OPERATION = "PutVoiceConnectorProxy"
KEY, SECRET = "AKIDCLIENTPOOLTEST01", "not-a-secret"
PUT: dict[str, Any] = {
    "VoiceConnectorId": "vc-1",
    "DefaultSessionExpiryMinutes": 30,
    "PhoneNumberPoolCountries": ["US"],
}


def _pool(url: str, *, static: bool = True) -> ClientPool:
    return ClientPool(
        endpoint_url=url,
        max_connections=1,  # one connection, so the second call surely reuses the first one's
        connect_timeout=5,
        read_timeout=5,
        static_credentials=(KEY, SECRET) if static else None,
    )


async def _reset_on_kept_alive_connection(emulator: Emulator, client: Any) -> int:
    """Warm a kept-alive connection with one good put, then make one call the emulator resets.

    Returns how many requests the emulator saw for that one call.
    """
    with anyio.fail_after(10):
        await client.put_voice_connector_proxy(**PUT)
        before = emulator.stats.count(OPERATION)
        emulator.set_faults({"reset": 1.0})
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            await client.put_voice_connector_proxy(**PUT)
    return emulator.stats.count(OPERATION) - before


async def test_a_reset_kept_alive_connection_is_not_silently_re_sent(emulator: Emulator) -> None:
    """One pool client call on a kept-alive connection that gets reset is exactly one arrival.

    aiohttp would re-send it once on a fresh connection, unseen by our rate limiter and attempt count
    (CONTRACT §7); the pool's HTTP session switches that off, so the reset surfaces as an error.
    """
    async with _pool(emulator.url) as pool:
        client = await pool.client((None, "us-east-1"))
        assert await _reset_on_kept_alive_connection(emulator, client) == 1
    assert emulator.stats.count(OPERATION, "reset") == 1


async def test_the_stock_aiobotocore_session_would_re_send(emulator: Emulator) -> None:
    """The hazard is real: with aiobotocore's own HTTP session the same single call arrives twice.

    If this ever starts failing, aiohttp stopped re-sending and the pool's override may go.
    """
    config = AioConfig(
        retries={"total_max_attempts": 1}, max_pool_connections=1, http_session_cls=AIOHTTPSession
    )
    session = aioboto3.Session(aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1")
    async with session.client("chime-sdk-voice", endpoint_url=emulator.url, config=config) as client:
        assert await _reset_on_kept_alive_connection(emulator, client) == 2


async def test_botocore_retries_are_off(emulator: Emulator) -> None:
    """A 503 comes back to the caller after one request: botocore does not retry behind our back."""
    emulator.set_faults({"503": 1.0})
    async with _pool(emulator.url) as pool:
        client = await pool.client((None, "us-east-1"))
        with anyio.fail_after(10), pytest.raises(botocore.exceptions.ClientError) as raised:
            await client.put_voice_connector_proxy(**PUT)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert emulator.stats.count(OPERATION) == 1


async def test_one_client_per_profile_and_region(emulator: Emulator) -> None:
    """The pool opens one client per (profile, region), reuses it, and signs for that region."""
    emulator.state.add_connector("eu-west-2", "vc-1")
    async with _pool(emulator.url) as pool:
        east = await pool.client((None, "us-east-1"))
        assert await pool.client((None, "us-east-1")) is east
        west = await pool.client((None, "eu-west-2"))
        assert west is not east
        with anyio.fail_after(10):
            await west.put_voice_connector_proxy(**PUT)
    assert emulator.state.proxy("eu-west-2", "vc-1") is not None
    assert emulator.state.proxy("us-east-1", "vc-1") is None


async def test_missing_credentials_are_a_credentials_error(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """With no key in the environment and empty config files, the credential check names the region."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    async with _pool(emulator.url, static=False) as pool:
        with pytest.raises(CredentialsError, match=r"no AWS credentials found.*us-east-1"):
            await pool.check_credentials((None, "us-east-1"))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        await pool.check_credentials((None, "us-east-1"))
    assert emulator.stats.count() == 0
