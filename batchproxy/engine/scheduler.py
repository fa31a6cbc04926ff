"""The scheduler: rows in, outcomes out, under the concurrency and rate ceilings.

One anyio task group owns everything: a producer that feeds rows (wave by wave) into the queue of their
(profile, region) domain, ONE shared pool of ``--concurrency`` workers, and the watchers for signals,
the journal's group commit and the progress display. A worker *is* a concurrency slot: it takes the
next row from the domain that can send soonest (its limiter's ``ready_in``), so a throttled domain never
holds the pool while rows of other domains could go, and each request is sent the moment its rate
permit is granted — the ceiling of every domain holds exactly. The queues are the backpressure: the
reader runs only a few rows ahead of the workers, so memory does not grow with the input, and a slow
domain's backlog never stops the other domains' rows (see ``queue``).

Stopping, whatever the reason (signal, failure threshold, auth breaker), goes one way: no new rows
start, rows in flight finish within the grace period or are cancelled, and every row that did not reach
an outcome is recorded ``skipped`` — so the results file always accounts for every row.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from batchproxy.engine.breaker import BreakerOpen, Trip
from batchproxy.engine.breaker import describe as describe_trip
from batchproxy.engine.caller import RowCaller
from batchproxy.engine.domains import Domains, RateDomain
from batchproxy.engine.outcomes import failed, ok, skipped
from batchproxy.engine.retry import RetryPolicy
from batchproxy.engine.stats import RunStats
from batchproxy.errors import CallFailed, CredentialsRefused
from batchproxy.interrupts import hold_repeats
from batchproxy.logs import get_logger
from batchproxy.operations import Operation
from batchproxy.principal import describe
from batchproxy.rows import FailureKind, Outcome, Row, Status

if TYPE_CHECKING:
    from batchproxy.report.observer import RunObserver

__all__ = ["Background", "Recorder", "Scheduler", "StopControl", "Waves"]

Background = Callable[[], Coroutine[Any, Any, None]]  # runs beside the workers until they are done

log = get_logger(__name__)

# The cyclic GC's young-generation threshold while rows are in flight (CPython's default is 700).
# Each request in flight keeps a few hundred young objects alive (botocore's request, aiohttp's
# response, futures), so at 700 allocations the collector runs every couple of requests and promotes
# and re-scans objects that die a moment later: 18% of a --rate 0 run's CPU in bench/compare.py (c).
# At 10,000 it runs ~15 times less often and the run uses about a tenth less CPU per row; the extra
# garbage it lets accumulate is a few MB at most.
GC_YOUNG_THRESHOLD = 10_000


class Recorder(Protocol):
    """Where outcomes go: the results journal (or the plan writer)."""

    def record(self, row: Row, outcome: Outcome) -> None: ...


class Waves(Protocol):
    """Rollout gating between waves (canary, sizes, pauses, failure threshold)."""

    def sizes(self) -> Iterator[int]:
        """Rows per wave, in order; the iterator never ends (the last size repeats)."""
        ...

    async def between(self, wave: int, stats: RunStats) -> str | None:
        """Called when wave ``wave`` (0-based) has fully finished; a reason to stop, or None."""
        ...

    def after_outcome(self, stats: RunStats) -> str | None:
        """Called after every outcome; a reason to abort now (e.g. --max-failures exceeded), or None."""
        ...


@dataclass(slots=True)
class StopControl:
    """Why the run is stopping, if it is. The first reason given wins; ``on_stop`` hears of it."""

    reason: str | None = None
    interrupted: bool = False
    on_stop: Callable[[], None] | None = None

    def stop(self, reason: str, *, interrupted: bool = False) -> None:
        if self.reason is None:
            self.reason = reason
            self.interrupted = interrupted
            if self.on_stop is not None:
                self.on_stop()

    @property
    def stopping(self) -> bool:
        return self.reason is not None


class Scheduler:
    def __init__(
        self,
        *,
        operation: Operation,
        domains: Domains,
        policy: RetryPolicy,
        recorder: Recorder,
        stats: RunStats,
        concurrency: int,
        grace_seconds: float,
        waves: Waves | None = None,
        handle_signals: bool = True,
        observer: RunObserver | None = None,
    ) -> None:
        self._operation = operation
        self._domains = domains
        self._policy = policy
        self._recorder = recorder
        self._stats = stats
        self._concurrency = max(concurrency, 1)
        self._grace = grace_seconds
        self._waves = waves
        self._handle_signals = handle_signals
        self._observer = observer  # --events and the timeline (None: nobody is watching)
        self._read_all = False  # the producer has handed out the last row
        self._producing = True  # the producer may still hand out rows
        self.control = StopControl(on_stop=self._on_stop)
        self._dispatched = 0  # rows handed to the domains' queues
        self._finished = 0  # of those, rows with an outcome
        self._caught_up = anyio.Event()
        self._handing_over: Row | None = None
        self._work_scope = anyio.CancelScope()
        self._gate = anyio.CancelScope()  # the wait between two waves (a pause, the --approve question)

    async def run(self, rows: Iterator[Row], *, background: tuple[Background, ...] = ()) -> StopControl:
        """Carry every row of ``rows`` to an outcome; rows not attempted are recorded ``skipped``.

        ``background`` tasks (journal group commit, progress display) run until the rows are done.
        """
        with _collector_tuned():
            await self._run(rows, background)
        self._skip_rest(rows)
        self._stats.finished = time.monotonic()
        return self.control

    async def _run(self, rows: Iterator[Row], background: tuple[Background, ...]) -> None:
        async with anyio.create_task_group() as outer:
            if self._handle_signals:
                outer.start_soon(self._watch_signals)
            for task in background:
                outer.start_soon(task)
            with self._work_scope:
                async with anyio.create_task_group() as workers:
                    workers.start_soon(self._produce, rows)
                    for _ in range(self._concurrency):
                        workers.start_soon(self._work)
            outer.cancel_scope.cancel()

    def _stop(self, reason: str, *, interrupted: bool = False) -> None:
        self.control.stop(reason, interrupted=interrupted)

    def _on_stop(self) -> None:
        """The first reason to stop: tell the event stream, and wake everyone up."""
        if self._observer is not None and self.control.reason is not None:
            self._observer.events.stopping(reason=self.control.reason)
        self._wake_everyone()

    def abort(self, reason: str) -> None:
        """Stop now, cancelling requests in flight: their outcomes could not be recorded anyway (a
        results file that cannot be written). Callable from a worker or a background task."""
        self._stop(reason)
        self._work_scope.cancel()

    def _wake_everyone(self) -> None:
        """The run is stopping: idle workers and a waiting reader wake up, see it and leave."""
        self._domains.rows_changed()
        self._domains.room_changed()
        self._gate.cancel()  # a pause or a question ends now: nothing waits for its answer any more

    # -- producer ---------------------------------------------------------------------------------

    async def _produce(self, rows: Iterator[Row]) -> None:
        try:
            if await self._feed(rows):
                self._read_all = True
                self._stop_if_all_refused()
                for domain in list(self._domains):
                    await self._release_if_done(domain)
        finally:
            self._producing = False
            self._domains.rows_changed()

    async def _feed(self, rows: Iterator[Row]) -> bool:
        """Hand every row to its domain's queue, wave by wave; False when the run stopped first."""
        sizes = self._waves.sizes() if self._waves else None
        left = next(sizes) if sizes else -1
        wave = 0
        for row in rows:
            # Held until its queue takes it: if the run stops first, _skip_rest records it.
            self._handing_over = row
            if sizes is not None and left == 0:
                # A wave ends only when a row follows it: no pause or question after the last one.
                if reason := await self._finish_wave(wave):
                    self._stop(reason)
                    return False
                wave, left = wave + 1, next(sizes)
            domain = self._domains.get(row.target.domain)
            while not (self._domains.has_room(domain) or self.control.stopping):
                await self._domains.wait_room()
            if self.control.stopping:
                return False  # the row stays in hand: _skip_rest records it
            domain.queue.put(row)
            self._handing_over = None
            self._dispatched += 1
            self._domains.rows_changed()
            left -= 1
        return True

    async def _finish_wave(self, wave: int) -> str | None:
        """Wait until every row handed out so far has an outcome, then let the rollout gate decide.

        A stop (Ctrl-C at the --approve question, say) cancels the gate at once; ``_feed`` then sees it.
        """
        while self._finished < self._dispatched:
            self._caught_up = anyio.Event()
            await self._caught_up.wait()
        assert self._waves is not None
        self._gate = anyio.CancelScope()
        if self.control.stopping:
            self._gate.cancel()
        with self._gate:
            return await self._waves.between(wave, self._stats)
        return None

    # -- workers ----------------------------------------------------------------------------------

    async def _work(self) -> None:
        """One concurrency slot: carry rows, each from the domain that can send soonest."""
        while not self.control.stopping:
            picked = self._domains.soonest()
            if picked is None:
                if not self._producing:
                    return
                await self._domains.wait_rows()
                continue
            domain, wait = picked
            if wait > 0:
                # Not yet: look again when its permit is due, or sooner if other rows arrive.
                with anyio.move_on_after(wait):
                    await self._domains.wait_rows()
                continue
            row = domain.queue.take()
            self._domains.room_changed()
            if domain.refused:
                code = domain.refusal.code if domain.refusal is not None else None
                self._record(row, skipped(self._refusal(domain), attempts=0, code=code))
                continue
            await self._carry(domain, row)
            await self._release_if_done(domain)

    async def _carry(self, domain: RateDomain, row: Row) -> None:
        started = time.monotonic()
        domain.carrying += 1
        try:
            try:
                send = await domain.send()
            except CredentialsRefused as refused:  # its AssumeRole was refused (asked once per run)
                self._refuse(domain, refused)
                self._record(row, skipped(refused.reason, attempts=0, code=refused.code))
                return
            caller = RowCaller(
                send=send,
                limiter=domain.limiter,
                policy=self._policy,
                stats=self._stats,
                breaker=domain.breaker,
                domain=domain.key,
                backlog=domain.backlog,
                observer=self._observer,
                seen=domain.seen,
            )
            await self._apply(domain, row, caller, started)
        finally:
            domain.carrying -= 1

    async def _apply(self, domain: RateDomain, row: Row, caller: RowCaller, started: float) -> None:
        try:
            # The permit for the row's first request, taken now: this worker chose the domain because
            # it could grant one, and other workers see the domain's queue of waiters grow at once.
            await caller.take_permit()
            applied = await self._operation.apply(row, caller)
        except anyio.get_cancelled_exc_class():
            # Cancelled mid-request: it may have reached AWS. ``skipped`` makes --resume send it again.
            kind = FailureKind.UNKNOWN_OUTCOME if caller.attempts else None
            self._record(row, skipped("Cancelled", caller.attempts, started, caller, kind))
            raise
        except BreakerOpen:
            self._record(row, skipped(self._refusal(domain), caller.attempts, started, caller))
            self._check_breaker(domain)
        except CallFailed as failure:
            await self._failed(domain, row, caller, started, failure)
        else:
            self._record(row, ok(applied.extra, caller, started))

    async def _failed(
        self, domain: RateDomain, row: Row, caller: RowCaller, started: float, failure: CallFailed
    ) -> None:
        """Record a row's failure: ``skipped`` when its domain's breaker explains it, else ``failed``."""
        if domain.breaker.doubts(failure):
            try:
                await domain.breaker.verdict()
            except anyio.get_cancelled_exc_class():
                # Stopped while waiting: the row still gets its line, resumable.
                self._record(row, skipped("Cancelled", caller.attempts, started, caller))
                raise
        if domain.breaker.covers(failure):
            # Nothing was wrong with the row: the domain stopped working. --resume sends it again.
            outcome = skipped(self._refusal(domain), caller.attempts, started, caller)
            self._record(row, replace(outcome, error_code=failure.code))
        else:
            self._record(row, failed(failure, caller, started))
        self._check_breaker(domain)

    async def _release_if_done(self, domain: RateDomain) -> None:
        """After a domain's last row: its client goes back (``Domains.release``)."""
        if self._read_all and domain.queue.empty and not domain.carrying:
            await self._domains.release(domain)

    def _record(self, row: Row, outcome: Outcome) -> None:
        self._recorder.record(row, outcome)
        self._finished += 1
        if self._finished >= self._dispatched:
            self._caught_up.set()
        self._stats.on_outcome(row.target.domain, outcome)
        if outcome.status is Status.FAILED:
            log.warning(
                "row failed",
                row=row.number,
                voice_connector_id=row.target.voice_connector_id,
                region=row.target.region,
                error_code=outcome.error_code,
                error=outcome.error_message,
                attempts=outcome.attempts,
            )
        if self._waves is not None and (reason := self._waves.after_outcome(self._stats)):
            self._stop(reason)

    def _check_breaker(self, domain: RateDomain) -> None:
        """A domain whose breaker tripped gets no more requests: its rows are skipped.

        The run does not stop for it, since rows further down may belong to a profile whose key works
        (the reader is only a few rows ahead). Once every row is read and every domain is refused, the
        run counts as stopped by the breaker, so the summary says why.
        """
        if domain.refused or not domain.breaker.tripped or self.control.stopping:
            return
        domain.refused = True
        principal, region = domain.key
        reason = self._refusal(domain)
        self._stats.refused.setdefault(describe(principal), reason)
        trip = domain.breaker.trip
        cause = trip.value if trip else "refused"
        log.warning(f"{cause}: skipping the rest of its rows", who=describe(principal), region=region)
        self._domains.rows_changed()  # its queued rows can be skipped right away
        if trip is Trip.UNREACHABLE and self._domains.shared_endpoint is not None:
            # One endpoint for every domain: the others cannot reach it either.
            self._stop(self._refusal(domain))
            return
        self._stop_if_all_refused()

    def _refuse(self, domain: RateDomain, refused: CredentialsRefused) -> None:
        """Credentials for ``domain`` cannot be had at all: skip its rows, as a tripped breaker does."""
        if domain.refused:
            return
        domain.refused = True
        domain.refusal = refused
        self._stats.refused.setdefault(describe(domain.key[0]), refused.reason)
        self._domains.rows_changed()
        self._stop_if_all_refused()

    def _stop_if_all_refused(self) -> None:
        domains = list(self._domains)
        if self._read_all and domains and all(domain.refused for domain in domains):
            self._stop(self._refusal(domains[0]))

    def _refusal(self, domain: RateDomain) -> str:
        if domain.refusal is not None:
            return domain.refusal.reason
        principal, region = domain.key
        return describe_trip(domain.breaker, principal, region, shared_endpoint=self._domains.shared_endpoint)

    # -- stopping ---------------------------------------------------------------------------------

    async def _watch_signals(self) -> None:
        try:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    if self.control.interrupted:
                        log.warning("second signal: cancelling requests in flight")
                        self._work_scope.cancel()
                        return
                    name = signal.Signals(signum).name
                    self._stop(f"interrupted by {name}", interrupted=True)
                    log.warning("stopping: no new rows start", signal=name, grace_seconds=self._grace)
                    self._work_scope.deadline = anyio.current_time() + self._grace
        finally:
            if self.control.interrupted:
                hold_repeats()  # no longer watched: one more Ctrl-C must not cut the ending short

    def _skip_rest(self, rows: Iterator[Row]) -> None:
        """Record ``skipped`` for rows still queued or never read, so every row has a line."""
        reason = self.control.reason or "Aborted"
        if self._handing_over is not None:
            self._record(self._handing_over, skipped(reason, attempts=0))
        for row in self._domains.drain():
            self._record(row, skipped(reason, attempts=0))
        for row in rows:
            self._record(row, skipped(reason, attempts=0))


@contextlib.contextmanager
def _collector_tuned() -> Iterator[None]:
    """Collect young objects less often while the scheduler runs (see ``GC_YOUNG_THRESHOLD``)."""
    young, *older = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), *older)
    try:
        yield
    finally:
        gc.set_threshold(young, *older)
