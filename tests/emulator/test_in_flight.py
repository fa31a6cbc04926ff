"""The emulator's in-flight high-water mark: how many API requests it served at once."""

from __future__ import annotations

import asyncio

import aiohttp

from batchproxy.emulator import EmulatorConfig, serve
from tests.emulator.helpers import PUT_BODY, auth_header, proxy_path


async def _put(session: aiohttp.ClientSession, url: str) -> int:
    headers = {"Authorization": auth_header()}
    async with session.put(proxy_path(url, "vc-1"), json=PUT_BODY, headers=headers) as response:
        await response.read()
        return response.status


async def test_peak_in_flight_counts_requests_served_at_once() -> None:
    """Six puts held by 200 ms of latency overlap: the peak is 6, in flight is 0 after, reset clears it."""
    config = EmulatorConfig(seed=1, latency=0.2, connectors=(("us-east-1", "vc-1"),))
    async with serve(config) as emulator, aiohttp.ClientSession() as session:
        statuses = await asyncio.wait_for(
            asyncio.gather(*(_put(session, emulator.url) for _ in range(6))), timeout=10
        )
        assert statuses == [200] * 6
        assert (emulator.stats.peak_in_flight, emulator.stats.in_flight) == (6, 0)
        async with session.get(f"{emulator.url}/_emulator/stats") as response:
            body = await response.json()
        assert (body["peak_in_flight"], body["in_flight"]) == (6, 0)
        await _put(session, emulator.url)
        assert emulator.stats.peak_in_flight == 6
        emulator.stats.reset()
        assert emulator.stats.peak_in_flight == 0


async def test_sequential_requests_peak_at_one() -> None:
    """Requests sent one after another never overlap, so the peak stays 1."""
    async with (
        serve(EmulatorConfig(seed=1, connectors=(("us-east-1", "vc-1"),))) as emulator,
        aiohttp.ClientSession() as session,
    ):
        for _ in range(3):
            assert await asyncio.wait_for(_put(session, emulator.url), timeout=10) == 200
        assert emulator.stats.peak_in_flight == 1
