"""One object per rate domain: everything the engine knows about one (profile or role, region).

A ``RateDomain`` owns its send handle (the client, opened when its first row is due and released when
its last row is done), its ``AdaptiveLimiter``, its ``DomainBreaker``, its ``RowQueue`` and its
``DomainStats``. ``Domains`` creates them on a domain's first row, and answers the two questions the
shared worker pool asks: which domain can send soonest, and may the reader put another row.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from batchproxy import principal
from batchproxy.engine.breaker import DomainBreaker
from batchproxy.engine.bucket import REAL_CLOCK, Clock
from batchproxy.engine.caller import Backlog
from batchproxy.engine.queue import RowQueue
from batchproxy.engine.ratelimit import AdaptiveLimiter
from batchproxy.engine.stats import Domain, DomainStats, RunStats
from batchproxy.engine.transport import ClientSend, Send
from batchproxy.errors import CredentialsRefused
from batchproxy.report.domain import Domain as SeenDomain

if TYPE_CHECKING:
    from batchproxy.clients import ClientPool

__all__ = ["Connect", "Domains", "RateDomain", "Release"]

Connect = Callable[[Domain], Awaitable[Send]]
"""Opens the send handle of a domain (production: its aioboto3 client, through ``ClientPool``)."""
Release = Callable[[Domain], Awaitable[None]]
"""Gives a domain's client back once its last row is done."""

# Refused breakers trip after this many auth refusals at most (fewer when concurrency is lower).
_BREAKER_THRESHOLD = 5


class RateDomain:
    """One (profile, region): its client handle, limiter, breaker, row queue and counters."""

    def __init__(
        self,
        key: Domain,
        *,
        limiter: AdaptiveLimiter,
        breaker: DomainBreaker,
        queue: RowQueue,
        stats: DomainStats,
        connect: Connect,
    ) -> None:
        self.key = key
        self.seen = SeenDomain(*principal.kinded(key))  # as events and the timeline name it
        self.limiter = limiter
        self.breaker = breaker
        self.queue = queue
        self.stats = stats
        self.refused = False  # the breaker tripped: the rest of its rows are skipped
        self.refusal: CredentialsRefused | None = None  # why, when its credentials could not be had
        self.carrying = 0  # rows taken from the queue and not finished yet
        self.backlog = Backlog()  # of those, rows backing off before a retry
        self._connect = connect
        self._send: Send | None = None
        self._opening = anyio.Lock()

    async def send(self) -> Send:
        """The domain's send handle; the first call opens it (once, however many workers ask)."""
        if self._send is None:
            async with self._opening:
                if self._send is None:
                    self._send = await self._connect(self.key)
        return self._send

    @property
    def opened(self) -> bool:
        return self._send is not None

    def ready_in(self) -> float:
        """Seconds until this domain may send its next request; refused domains skip rows at once."""
        return 0.0 if self.refused else self.limiter.ready_in(self.backlog.count)

    def forget_send(self) -> None:
        self._send = None


class Domains:
    """The run's rate domains, created on their first row."""

    def __init__(
        self,
        connect: Connect,
        *,
        rate: float,
        burst: float,
        stats: RunStats,
        memory_rows: int,
        breaker_threshold: int = _BREAKER_THRESHOLD,
        silence_budget: float | None = None,
        shared_endpoint: str | None = None,
        start_rates: Mapping[Domain, float] | None = None,
        release: Release | None = None,
        clock: Clock = REAL_CLOCK,
    ) -> None:
        self._connect = connect
        self._release = release
        self._rate, self._burst = rate, burst
        self._stats = stats
        self._memory_rows = memory_rows
        self._threshold = breaker_threshold
        self._silence_budget = silence_budget  # no answer for this long: the endpoint is unreachable
        # The one URL every domain sends to (--endpoint-url, the emulator), if there is one: a domain
        # that cannot reach it means none can.
        self.shared_endpoint = shared_endpoint
        self._start_rates = dict(start_rates or {})
        self._clock = clock
        self.by_key: dict[Domain, RateDomain] = {}
        # Two wake-ups, so that a row taken wakes only the reader and a row put wakes only workers.
        self._rows = anyio.Event()
        self._room = anyio.Event()
        self._room_awaited = False  # is the reader waiting on ``_room``?

    @classmethod
    def over_pool(cls, pool: ClientPool, **options: Any) -> Domains:
        """Domains whose clients come from a ``clients.ClientPool``, released when a domain is done."""

        async def connect(key: Domain) -> Send:
            return ClientSend(await pool.client(key))

        return cls(connect, release=pool.release, **options)

    def get(self, key: Domain) -> RateDomain:
        """The domain of ``key``, created on its first row (at its learned rate, if one was given)."""
        domain = self.by_key.get(key)
        if domain is None:
            domain = self.by_key[key] = RateDomain(
                key,
                limiter=AdaptiveLimiter(
                    self._rate, self._burst, clock=self._clock, start_rate=self._start_rates.get(key)
                ),
                breaker=DomainBreaker(self._threshold, silence_budget=self._silence_budget),
                queue=RowQueue(self._memory_rows),
                stats=self._stats.domain(key),
                connect=self._connect,
            )
        return domain

    def __iter__(self) -> Iterator[RateDomain]:
        return iter(self.by_key.values())

    def soonest(self) -> tuple[RateDomain, float] | None:
        """The domain with queued rows that can send soonest, and in how many seconds; None if no rows.

        Ties go to the domain with the fewest rows in hand, so unlimited domains share the pool evenly.
        """
        best: RateDomain | None = None
        best_key = (math.inf, math.inf)
        for domain in self.by_key.values():
            if domain.queue.empty:
                continue
            key = (domain.ready_in(), float(domain.carrying))
            if key < best_key:
                best, best_key = domain, key
                if key == (0.0, 0.0):
                    break  # nothing can beat a domain that is ready and idle
        return None if best is None else (best, best_key[0])

    def has_room(self, domain: RateDomain) -> bool:
        """May the reader put a row for ``domain``? Not while its queue is full and no other domain
        starves for rows: spilling to disk would then gain nothing, and waiting is the backpressure."""
        if not domain.queue.full:
            return True
        return any(other.queue.empty and not other.refused for other in self if other is not domain)

    async def wait_for_room(self, domain: RateDomain) -> None:
        while not self.has_room(domain):
            await self.wait_room()

    async def wait_room(self) -> None:
        room = self._room
        self._room_awaited = True
        await room.wait()

    def rows_changed(self) -> None:
        """Rows were put, a domain was refused, or the run is stopping: waiting workers look again."""
        self._rows.set()
        self._rows = anyio.Event()

    def room_changed(self) -> None:
        """A worker took a row: the reader may have room again.

        This runs for every row, and the reader is seldom waiting: only then is its event set and a
        fresh one made (an anyio event costs a look-up of the running library to make).
        """
        if self._room_awaited:
            self._room_awaited = False
            self._room.set()
            self._room = anyio.Event()

    async def wait_rows(self) -> None:
        rows = self._rows
        await rows.wait()

    async def release(self, domain: RateDomain) -> None:
        """``domain`` has no rows left: give its client back, if the pool can take it back early."""
        if self._release is not None and domain.opened:
            domain.forget_send()
            await self._release(domain.key)

    def learned_rates(self) -> dict[Domain, float]:
        """Rates worth keeping for the next run: only domains where throttling taught us something."""
        rates = {key: domain.limiter.learned_rate for key, domain in self.by_key.items()}
        return {key: rate for key, rate in rates.items() if rate is not None}

    def drain(self) -> Iterator[Any]:
        for domain in self:
            yield from domain.queue.drain()
