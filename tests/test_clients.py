"""``ClientPool`` against the in-process emulator over real loopback sockets: one call, one request."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import replace
from pathlib import Path
from typing import Any

import aioboto3
import anyio
import botocore.configloader
import botocore.exceptions
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession

from batchproxy import model
from batchproxy.clients import ClientPool
from batchproxy.emulator import Emulator
from batchproxy.errors import CredentialsError
from batchproxy.profiles import AwsProfiles

OPERATION = "PutVoiceConnectorProxy"
KEY, SECRET = "AKIDCLIENTPOOLTEST01", "not-a-secret"
PUT: dict[str, Any] = {
    "VoiceConnectorId": "vc-1",
    "DefaultSessionExpiryMinutes": 30,
    "PhoneNumberPoolCountries": ["US"],
}


def _pool(url: str, *, static: bool = True, profiles: AwsProfiles | None = None) -> ClientPool:
    return ClientPool(
        endpoint_url=url,
        max_connections=1,  # one connection, so the second call surely reuses the first one's
        connect_timeout=5,
        read_timeout=5,
        static_credentials=(KEY, SECRET) if static else None,
        profiles=profiles,
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
    (docs/reference.md §7); the pool's HTTP session switches that off, so the reset surfaces as an error.
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


async def test_release_closes_one_domain_and_a_later_call_reopens(emulator: Emulator) -> None:
    """``release`` closes that domain's client only, twice is harmless, and ``client`` opens anew."""
    emulator.state.add_connector("eu-west-2", "vc-1")
    east, west = (None, "us-east-1"), (None, "eu-west-2")
    async with _pool(emulator.url) as pool:
        first = await pool.client(east)
        await pool.client(west)
        await pool.release(east)
        await pool.release(east)
        assert pool.open_domains == {west}
        again = await pool.client(east)
        assert again is not first
        with anyio.fail_after(10):
            await again.put_voice_connector_proxy(**PUT)
        assert pool.open_domains == {east, west}
    assert pool.open_domains == frozenset()
    assert emulator.state.proxy("us-east-1", "vc-1") is not None


def _profiles_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """``count`` profiles with keys of their own in real config and credentials files."""
    config = tmp_path / "config"
    credentials = tmp_path / "credentials"
    config.write_text("".join(f"[profile p{n}]\nregion = eu-west-2\n" for n in range(count)))
    credentials.write_text(
        "".join(
            f"[p{n}]\naws_access_key_id = AKIDPROFILE{n:09d}\naws_secret_access_key = s{n}\n"
            for n in range(count)
        )
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))


async def test_profiles_share_the_model_and_the_parsed_files(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every profile's client has the process's one data loader, the files parsed once, one event
    emitter and one set of API methods, and is signed with its own profile's key (the emulator
    refuses p1's)."""
    _profiles_files(tmp_path, monkeypatch, 3)
    profiles = AwsProfiles.load(profile=None)
    emulator.state.add_connector("eu-west-2", "vc-1")
    emulator.config = replace(emulator.config, denied_access_keys=frozenset({"AKIDPROFILE000000001"}))
    async with _pool(emulator.url, static=False, profiles=profiles) as pool:
        first = await pool.client(("p0", "eu-west-2"))
        heard: list[str] = []
        profiles.session("p0").register("batchproxy-probe", lambda who, **_: heard.append(who))
        for name in ("p0", "p1", "p2"):
            session = profiles.session(name)
            assert session.get_component("data_loader") is model.loader()
            assert session.full_config is profiles.session("p0").full_config
            heard.clear()
            await session.emit("batchproxy-probe", who=name)
            assert heard == [name]  # one emitter: a handler registered through p0 hears p1 and p2
            client = await pool.client((name, "eu-west-2"))
            assert type(client).put_voice_connector_proxy is type(first).put_voice_connector_proxy
            with anyio.fail_after(10):
                if name == "p1":
                    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
                        await client.put_voice_connector_proxy(**PUT)
                else:
                    await client.put_voice_connector_proxy(**PUT)
    assert emulator.stats.count(OPERATION, 200) == 2


async def test_the_aws_files_are_parsed_once_for_every_profile(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ten profiles' credentials checked and clients opened: botocore parses each file once in all
    (it used to parse both per profile, and the credentials file again per credential lookup)."""
    _profiles_files(tmp_path, monkeypatch, 10)
    parsed: list[str] = []
    real_parse = botocore.configloader.raw_config_parse

    def counting_parse(path: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(Path(path).name)
        return real_parse(path, *args, **kwargs)

    monkeypatch.setattr(botocore.configloader, "raw_config_parse", counting_parse)
    profiles = AwsProfiles.load(profile="p0")
    async with _pool(emulator.url, static=False, profiles=profiles) as pool:
        for n in range(10):
            await pool.check_credentials((f"p{n}", "eu-west-2"))
            await pool.client((f"p{n}", "eu-west-2"))
        await pool.check_credentials((None, "eu-west-2"))
    assert sorted(parsed) == ["config", "credentials"]


async def test_the_shared_tls_context_still_verifies_certificates(self_signed: ssl.SSLContext) -> None:
    """Clients of two domains (one TLS context between them) refuse a server whose certificate no CA
    in the bundle signed: sharing the context did not switch verification off."""
    server = await asyncio.start_server(
        lambda _reader, writer: writer.close(), "127.0.0.1", 0, ssl=self_signed
    )
    port = server.sockets[0].getsockname()[1]
    try:
        pool = ClientPool(
            endpoint_url=f"https://127.0.0.1:{port}",
            max_connections=1,
            connect_timeout=5,
            read_timeout=5,
            static_credentials=(KEY, SECRET),
        )
        async with pool:
            for region in ("us-east-1", "eu-west-2"):
                client = await pool.client((None, region))
                with anyio.fail_after(10), pytest.raises(botocore.exceptions.SSLError, match="certif"):
                    await client.put_voice_connector_proxy(**PUT)
    finally:
        server.close()
        await server.wait_closed()
