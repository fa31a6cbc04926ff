"""The ``/_emulator/*`` endpoints and the Python-side counters they mirror."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp

import batchproxy.emulator
from batchproxy.emulator import Emulator
from tests.emulator.helpers import PUT_BODY, auth_header, proxy_path, sync_client


async def _control(emulator: Emulator, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{emulator.url}/_emulator/{path}", json=body) as response,
    ):
        return response.status, await response.json()


async def test_stats_count_by_operation_and_status(emulator: Emulator) -> None:
    """GET /_emulator/stats counts each operation's answers by status and the writes accepted."""
    before = time.monotonic()

    def traffic(client: Any) -> None:
        client.put_voice_connector_proxy(VoiceConnectorId="vc-1", **PUT_BODY)
        client.get_voice_connector_proxy(VoiceConnectorId="vc-1")
        client.get_voice_connector_proxy(VoiceConnectorId="vc-1")
        with contextlib.suppress(client.exceptions.NotFoundException):
            client.get_voice_connector_proxy(VoiceConnectorId="other")

    with sync_client(emulator.url) as client:
        await asyncio.to_thread(traffic, client)
    status, stats = await _control(emulator, "GET", "stats?arrivals=1")
    assert status == 200
    assert stats["by_operation"] == {
        "GetVoiceConnectorProxy": {"200": 2, "404": 1},
        "PutVoiceConnectorProxy": {"200": 1},
    }
    assert stats["accepted_writes"] == {"PutVoiceConnectorProxy": 1}
    assert stats["total"] == 4
    arrivals = stats["arrivals"]
    assert arrivals[0][1:] == ["PutVoiceConnectorProxy", "200"]
    assert all(before <= a[0] <= stats["now"] for a in arrivals)  # one monotonic clock across processes
    assert emulator.stats.count(outcome=404) == 1
    assert [a.operation for a in emulator.stats.arrivals(since=before)][-1] == "GetVoiceConnectorProxy"


async def test_stats_can_be_zeroed(emulator: Emulator) -> None:
    """DELETE /_emulator/stats starts the counters afresh (between benchmark phases)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(proxy_path(emulator.url, "vc-1"), headers={"Authorization": auth_header()}),
    ):
        pass
    assert emulator.stats.count() == 1
    assert (await _control(emulator, "DELETE", "stats"))[0] == 200
    assert (await _control(emulator, "GET", "stats"))[1]["total"] == 0


async def test_state_dumps_connectors_and_proxies_per_region(emulator: Emulator) -> None:
    """GET /_emulator/state lists every region's connectors with their proxy (or null)."""
    emulator.state.add_connector("eu-west-2", "vc-9")
    with sync_client(emulator.url) as client:
        await asyncio.to_thread(client.put_voice_connector_proxy, VoiceConnectorId="vc-1", **PUT_BODY)
    status, body = await _control(emulator, "GET", "state")
    assert status == 200
    assert body["regions"]["us-east-1"]["vc-1"]["Proxy"]["PhoneNumberCountries"] == ["US"]
    assert body["regions"]["eu-west-2"]["vc-9"]["Proxy"] is None


async def test_connectors_endpoint_seeds_connectors(emulator: Emulator) -> None:
    """POST /_emulator/connectors creates connectors; without a Region they go to the default region."""
    seeds = {"connectors": [{"VoiceConnectorId": "a"}, {"VoiceConnectorId": "b", "Region": "ap-southeast-2"}]}
    assert await _control(emulator, "POST", "connectors", seeds) == (200, {"created": 2})
    assert emulator.state.connector("us-east-1", "a") is not None
    assert emulator.state.connector("ap-southeast-2", "b") is not None
    status, body = await _control(emulator, "POST", "connectors", {"connectors": [{"Region": "x"}]})
    assert status == 400
    assert "VoiceConnectorId" in body["error"]


async def test_config_endpoint_changes_faults_latency_and_auto_create(emulator: Emulator) -> None:
    """POST /_emulator/config turns dials while serving; a bad value is a 400 that changes nothing."""
    status, dials = await _control(
        emulator, "POST", "config", {"faults": "503=0.5", "latency": "5ms", "auto_create": True}
    )
    assert status == 200
    assert dials["faults"] == {"503": 0.5}
    assert dials["latency"] == 0.005
    assert emulator.state.lookup("us-east-1", "made-on-demand") is not None
    status, body = await _control(emulator, "POST", "config", {"faults": "teapot=1"})
    assert status == 400
    assert "unknown fault" in body["error"]
    assert emulator.faults.faults == {"503": 0.5}


async def test_auto_create_makes_unknown_connectors_exist(emulator: Emulator) -> None:
    """With auto-create on, a put to a connector nobody seeded succeeds and creates it."""
    emulator.state.auto_create = True
    with sync_client(emulator.url, region="ca-central-1") as client:
        await asyncio.to_thread(client.put_voice_connector_proxy, VoiceConnectorId="fresh", **PUT_BODY)
    assert emulator.state.proxy("ca-central-1", "fresh") is not None


def test_public_api_is_exported() -> None:
    """``batchproxy.emulator`` exports exactly its documented API, and each name resolves."""
    assert sorted(batchproxy.emulator.__all__) == [
        "ACCOUNT_ID",
        "Accounts",
        "Arrival",
        "Connector",
        "Emulator",
        "EmulatorConfig",
        "EmulatorState",
        "Proxy",
        "Setting",
        "Stats",
        "serve",
        "settings",
    ]
    for name in batchproxy.emulator.__all__:
        assert getattr(batchproxy.emulator, name) is not None
