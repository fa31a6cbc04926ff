"""Injected faults: reproducible by seed, and ``reset``/``lost`` are real dropped connections."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import botocore.exceptions
import pytest

from batchproxy.emulator import EmulatorConfig, serve
from batchproxy.emulator.faults import FaultDice, Latency
from tests.emulator.helpers import PUT_BODY, auth_header, proxy_path, sync_client

CONNECTORS = (("us-east-1", "vc-1"),)
MIXED = {"429": 0.1, "500": 0.1, "502": 0.05, "503": 0.1, "504": 0.05, "reset": 0.1, "lost": 0.1}


async def _statuses(config: EmulatorConfig, count: int) -> list[str]:
    """Send ``count`` puts one after another on fresh connections; the outcome of each, as text."""
    outcomes = []
    # A fresh connection per request: aiohttp then never silently re-sends after a reset, which
    # would add a draw of the dice the test did not ask for.
    connector = aiohttp.TCPConnector(force_close=True)
    async with serve(config) as emulator, aiohttp.ClientSession(connector=connector) as session:
        for _ in range(count):
            try:
                async with session.put(
                    proxy_path(emulator.url, "vc-1"), json=PUT_BODY, headers={"Authorization": auth_header()}
                ) as response:
                    outcomes.append(str(response.status))
            except aiohttp.ClientError:
                outcomes.append("dropped")
    return outcomes


async def test_same_seed_same_sequence_of_statuses() -> None:
    """Two emulators with one seed answer the same request sequence with the same statuses."""
    config = EmulatorConfig(seed=42, faults=MIXED, connectors=CONNECTORS)
    first = await _statuses(config, 60)
    second = await _statuses(config, 60)
    assert first == second
    assert {"200", "429", "500", "503", "dropped"} <= set(first)
    other = await _statuses(EmulatorConfig(seed=43, faults=MIXED, connectors=CONNECTORS), 60)
    assert other != first


def test_fault_dice_follow_the_probabilities() -> None:
    """Over many draws each kind comes up about as often as configured, and none when none is set."""
    dice = FaultDice({"503": 0.2, "reset": 0.1}, seed=1)
    draws = [dice.roll() for _ in range(10_000)]
    assert 1800 < draws.count("503") < 2200
    assert 800 < draws.count("reset") < 1200
    assert FaultDice({}, seed=1).roll() is None


def test_latency_jitters_around_its_mean_reproducibly() -> None:
    """Latency draws stay within ±50% of the mean, average to it, and repeat with the seed."""
    draws = [Latency(0.02, seed=3).next() for _ in range(3)]
    assert len(set(draws)) == 1  # a fresh generator with the same seed starts the same way
    latency = Latency(0.02, seed=3)
    many = [latency.next() for _ in range(5000)]
    assert min(many) >= 0.01
    assert max(many) <= 0.03
    assert abs(sum(many) / len(many) - 0.02) < 0.001


async def test_latency_delays_answers() -> None:
    """With --latency 50ms a request takes at least 25 ms (the low end of the jitter)."""
    async with serve(EmulatorConfig(latency=0.05, connectors=CONNECTORS)) as emulator:
        with sync_client(emulator.url) as client:
            started = time.perf_counter()
            await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")
            assert time.perf_counter() - started >= 0.025


async def test_reset_drops_the_connection_without_applying() -> None:
    """``reset`` is a dropped connection (a client-side connection error, no status) and no change."""
    async with serve(EmulatorConfig(faults={"reset": 1.0}, connectors=CONNECTORS)) as emulator:
        with sync_client(emulator.url) as client, pytest.raises(botocore.exceptions.ConnectionClosedError):
            await asyncio.to_thread(
                client.put_voice_connector_proxy,
                VoiceConnectorId="vc-1",
                DefaultSessionExpiryMinutes=5,
                PhoneNumberPoolCountries=["US"],
            )
        assert emulator.state.proxy("us-east-1", "vc-1") is None
        assert emulator.stats.count("PutVoiceConnectorProxy", "reset") == 1
        assert emulator.stats.accepted_writes["PutVoiceConnectorProxy"] == 0


async def test_reset_seen_by_aiohttp_is_a_connection_error() -> None:
    """A raw aiohttp client sees the reset as an OS-level connection error, not an HTTP status."""
    config = EmulatorConfig(faults={"reset": 1.0}, connectors=CONNECTORS)
    async with serve(config) as emulator, aiohttp.ClientSession() as session:
        with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
            async with session.put(
                proxy_path(emulator.url, "vc-1"), json=PUT_BODY, headers={"Authorization": auth_header()}
            ):
                pass
    # aiohttp re-sends an idempotent request once when a reused connection drops; this one was
    # fresh, but allow for the re-send rather than depend on that detail.
    assert 1 <= emulator.stats.count("PutVoiceConnectorProxy", "reset") <= 2


async def test_lost_applies_the_change_then_drops_the_connection() -> None:
    """``lost`` is the unknown-outcome case: the client gets no answer, yet the put took effect."""
    async with serve(EmulatorConfig(faults={"lost": 1.0}, connectors=CONNECTORS)) as emulator:
        with sync_client(emulator.url) as client, pytest.raises(botocore.exceptions.ConnectionClosedError):
            await asyncio.to_thread(
                client.put_voice_connector_proxy,
                VoiceConnectorId="vc-1",
                DefaultSessionExpiryMinutes=7,
                PhoneNumberPoolCountries=["US"],
            )
        proxy = emulator.state.proxy("us-east-1", "vc-1")
        assert proxy is not None
        assert proxy.default_session_expiry_minutes == 7
        assert emulator.stats.count("PutVoiceConnectorProxy", "lost") == 1
        assert emulator.stats.accepted_writes["PutVoiceConnectorProxy"] == 1


async def test_gateway_faults_answer_with_a_bare_status() -> None:
    """502/504 have no modeled exception: boto3 sees a ClientError carrying just the status."""
    async with serve(EmulatorConfig(faults={"502": 1.0}, connectors=CONNECTORS)) as emulator:
        with sync_client(emulator.url) as client, pytest.raises(botocore.exceptions.ClientError) as caught:
            await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
