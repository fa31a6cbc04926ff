"""``Domains``: one ``RateDomain`` per (profile, region), owning its limiter, breaker, queue, counters and
client handle; and the choice the shared worker pool makes between them."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from batchproxy.engine.domains import Domains
from batchproxy.engine.stats import Domain, RunStats
from batchproxy.engine.transport import Send
from tests.conftest import make_row


class StillClock:
    """A ``Clock`` that moves only when told to."""

    def __init__(self) -> None:
        self.time = 100.0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += seconds


class Opener:
    """Counts how often each domain's send handle is opened and released."""

    def __init__(self) -> None:
        self.opened: list[Domain] = []
        self.released: list[Domain] = []

    async def connect(self, key: Domain) -> Send:
        self.opened.append(key)
        await anyio.sleep(0.01)  # let a second caller arrive while the first is opening

        async def send(method: str, params: dict[str, Any]) -> dict[str, Any]:
            return {"method": method}

        return send

    async def release(self, key: Domain) -> None:
        self.released.append(key)


def _domains(opener: Opener, clock: StillClock, **options: Any) -> Domains:
    settings: dict[str, Any] = {"rate": 10.0, "burst": 5, "memory_rows": 4}
    settings.update(options)
    return Domains(opener.connect, release=opener.release, stats=RunStats(), clock=clock, **settings)


def test_each_profile_and_region_gets_its_own_state() -> None:
    """Same key, same object; another region or another profile in the same region, another object."""
    clock, opener = StillClock(), Opener()
    domains = _domains(opener, clock)
    east = domains.get((None, "us-east-1"))
    assert domains.get((None, "us-east-1")) is east
    west, other_account = domains.get((None, "us-west-2")), domains.get(("prod", "us-east-1"))
    for part in ("limiter", "breaker", "queue", "stats"):
        assert len({id(getattr(d, part)) for d in (east, west, other_account)}) == 3, part
    assert set(domains.by_key) == {(None, "us-east-1"), (None, "us-west-2"), ("prod", "us-east-1")}


def test_learned_rates_start_their_domains_and_only_learned_ones_are_reported() -> None:
    """A learned rate passed in starts that domain there; a domain that learned nothing is not saved."""
    domains = _domains(Opener(), StillClock(), start_rates={(None, "eu-west-1"): 4.0})
    assert domains.get((None, "eu-west-1")).limiter.current_rate == pytest.approx(4.0)
    domains.get((None, "us-east-1"))
    assert domains.learned_rates() == {(None, "eu-west-1"): pytest.approx(4.0)}


def test_the_pool_picks_the_domain_that_can_send_soonest() -> None:
    """Only domains with rows count; among them the earliest permit wins, then the fewest rows in hand."""
    clock = StillClock()
    domains = _domains(Opener(), clock, burst=1)
    assert domains.soonest() is None
    busy, idle = domains.get((None, "us-east-1")), domains.get((None, "eu-west-2"))
    busy.queue.put(make_row(1))
    idle.queue.put(make_row(2, "eu-west-2"))
    busy.carrying = 3
    picked = domains.soonest()
    assert picked is not None
    assert picked[0] is idle
    assert picked[1] == 0.0
    idle.limiter._bucket.drain()  # its next permit is a tenth of a second away at 10/s
    picked = domains.soonest()
    assert picked is not None
    assert picked[0] is busy


async def test_a_domain_opens_its_client_once_and_gives_it_back() -> None:
    """Two workers asking at once open one handle; ``release`` hands it back and forgets it."""
    opener = Opener()
    domains = _domains(opener, StillClock())
    domain = domains.get(("p", "us-east-1"))
    sends: list[Send] = []

    async def ask() -> None:
        sends.append(await domain.send())

    async with anyio.create_task_group() as group:
        group.start_soon(ask)
        group.start_soon(ask)
    assert opener.opened == [("p", "us-east-1")]
    assert sends[0] is sends[1]
    await domains.release(domain)
    assert opener.released == [("p", "us-east-1")]
    assert not domain.opened
