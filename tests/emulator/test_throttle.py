"""The server-side token bucket: real 429s above the rate, none below it, adjustable while serving."""

from __future__ import annotations

import asyncio

import aiohttp

from batchproxy.emulator import Emulator, EmulatorConfig, serve
from batchproxy.emulator.faults import Throttle, TokenBucket
from tests.emulator.helpers import PUT_BODY, auth_header, proxy_path

CONNECTORS = (("us-east-1", "vc-1"), ("eu-west-2", "vc-1"))


async def _put(session: aiohttp.ClientSession, url: str, region: str = "us-east-1") -> aiohttp.ClientResponse:
    async with session.put(
        proxy_path(url, "vc-1"), json=PUT_BODY, headers={"Authorization": auth_header(region)}
    ) as response:
        await response.read()
        return response


async def test_driving_faster_than_the_rate_gets_throttled() -> None:
    """200 puts as fast as possible against rate 50, burst 5: most are 429 ThrottledClientException."""
    config = EmulatorConfig(rate=50, burst=5, connectors=CONNECTORS)
    async with serve(config) as emulator, aiohttp.ClientSession() as session:
        responses = await asyncio.gather(*(_put(session, emulator.url) for _ in range(200)))
    throttled = [r for r in responses if r.status == 429]
    assert len(throttled) > 100
    assert {r.headers["x-amzn-ErrorType"] for r in throttled} == {"ThrottledClientException"}
    assert "Retry-After" not in throttled[0].headers  # off unless asked for
    assert emulator.stats.count("PutVoiceConnectorProxy", 429) == len(throttled)


async def test_driving_under_the_rate_is_never_throttled() -> None:
    """20 puts spaced at 10/s against rate 50, burst 5: not a single 429."""
    config = EmulatorConfig(rate=50, burst=5, connectors=CONNECTORS)
    statuses = []
    async with serve(config) as emulator, aiohttp.ClientSession() as session:
        for _ in range(20):
            statuses.append((await _put(session, emulator.url)).status)
            await asyncio.sleep(0.1)
    assert statuses == [200] * 20


async def test_each_region_has_its_own_bucket_and_rate() -> None:
    """Exhausting us-east-1 leaves eu-west-2 untouched, and a region override applies only there."""
    # No explicit burst: each bucket holds one second of its own rate (1 here, 1000 there).
    config = EmulatorConfig(rate=1000, region_rates={"us-east-1": 1}, connectors=CONNECTORS)
    async with serve(config) as emulator, aiohttp.ClientSession() as session:
        east = [(await _put(session, emulator.url, "us-east-1")).status for _ in range(6)]
        west = [(await _put(session, emulator.url, "eu-west-2")).status for _ in range(6)]
    assert east == [200] + [429] * 5
    assert west == [200] * 6


async def test_rate_changes_at_runtime_and_retry_after_is_sent_when_configured() -> None:
    """set_rate throttles a running emulator at once; --retry-after puts the header on every 429."""
    config = EmulatorConfig(retry_after=2, connectors=CONNECTORS)
    async with serve(config) as emulator, aiohttp.ClientSession() as session:
        assert [(await _put(session, emulator.url)).status for _ in range(5)] == [200] * 5
        emulator.set_rate(0.5, burst=1)
        statuses = [await _put(session, emulator.url) for _ in range(3)]
        assert [r.status for r in statuses] == [200, 429, 429]
        assert statuses[1].headers["Retry-After"] == "2"
        emulator.set_rate(0)
        assert (await _put(session, emulator.url)).status == 200


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_at_its_rate() -> None:
    """A bucket starts full, then earns ``rate`` tokens per second and says how long the wait is."""
    bucket = TokenBucket(rate=2, capacity=2, now=0.0)
    assert [bucket.take(0.0), bucket.take(0.0)] == [0.0, 0.0]
    assert bucket.take(0.0) == 0.5
    assert bucket.take(0.5) == 0.0
    assert bucket.take(10.0) == 0.0  # capped at capacity, not 20 tokens
    assert bucket.take(10.0) == 0.0
    assert bucket.take(10.0) > 0


def test_rate_schedule_steps_the_default_rate() -> None:
    """``--rate-schedule 0:100,20:0,40:1`` changes the default rate as time passes since start."""
    clock = FakeClock()
    throttle = Throttle(rate=5, burst=1, region_rates={}, schedule=((0, 100), (20, 0), (40, 1)), clock=clock)
    throttle.take("r")
    assert throttle.rate_for("r") == 100
    clock.now = 25
    assert throttle.take("r") == 0.0
    assert throttle.rate_for("r") == 0
    clock.now = 41
    assert throttle.take("r") == 0.0
    assert throttle.take("r") > 0
    assert throttle.rate_for("r") == 1


def test_explicit_rate_ends_the_schedule() -> None:
    """Setting the rate by hand wins over the steps of a schedule still to come."""
    clock = FakeClock()
    throttle = Throttle(rate=0, burst=None, region_rates={}, schedule=((10, 5),), clock=clock)
    throttle.set_rate(7)
    clock.now = 11
    throttle.take("r")
    assert throttle.rate_for("r") == 7


def test_each_account_has_its_own_bucket_per_region() -> None:
    """AWS limits each account in each region: one account's burst does not throttle another's."""
    clock = FakeClock()
    throttle = Throttle(rate=1, burst=1, region_rates={}, clock=clock)
    assert throttle.take("r", "111122223333") == 0.0
    assert throttle.take("r", "111122223333") > 0
    assert throttle.take("r", "444455556666") == 0.0
    assert throttle.take("r") == 0.0  # the default account
    throttle.set_rate(100, region="r")  # a region's new rate reaches every account's bucket there
    clock.now += 0.02
    assert throttle.take("r", "111122223333") == 0.0
    assert throttle.take("r", "444455556666") == 0.0


async def test_control_endpoint_changes_the_rate(emulator: Emulator) -> None:
    """POST /_emulator/config with a rate throttles the running emulator."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.url}/_emulator/config", json={"rate": 1, "burst": 1}) as response:
            assert response.status == 200
            assert (await response.json())["rate"] == 1
        statuses = [(await _put(session, emulator.url)).status for _ in range(3)]
    assert statuses[0] == 200
    assert 429 in statuses[1:]
