"""The job's side of ``--events`` and the timeline: open them, feed them, close them with the exit code.

``RunObserver`` (observer.py) is what the engine calls per request; this module holds what the job
needs around it, so that the job gains a few calls rather than the logic:

- ``Observing`` opens the event sink before anything else happens (a bad ``--events`` path is a usage
  error before the input is read), emits ``run_started`` once the run's rows are known, attaches the
  timeline once the results file is opened, and ends both with the exit code — also when the run
  ends in a usage error or an interrupt, so ``run_finished`` is always the last event of a started run;
- ``ObservedSink`` turns every recorded outcome into ``row_finished`` (wrapping the sink, so every
  place that records an outcome is covered without the engine knowing about events);
- ``ObservedWaves`` emits ``wave_finished`` after each wave's gate, and for the last wave at the end;
- ``watch`` runs beside the journal's syncer: once a second, each domain's limiter rate and the
  timeline's closed seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import anyio

from batchproxy import principal
from batchproxy.errors import BatchproxyError
from batchproxy.exit_codes import ExitCode
from batchproxy.report.domain import Domain
from batchproxy.report.events import EventSink
from batchproxy.report.observer import RunObserver
from batchproxy.report.timeline import Timeline
from batchproxy.rows import Outcome, Row

if TYPE_CHECKING:
    from batchproxy.config import RunConfig
    from batchproxy.engine.domains import Domains
    from batchproxy.engine.scheduler import StopControl, Waves
    from batchproxy.engine.stats import RunStats
    from batchproxy.input import InvalidRow
    from batchproxy.operations import Operation, Sink, SinkEnding, SinkResult
    from batchproxy.operations.base import Background

__all__ = [
    "ObservedSink",
    "ObservedWaves",
    "Observing",
    "counts_of",
    "sample",
    "seen_domain",
    "watch",
    "watcher",
]

# How often the watcher samples the limiters and closes the timeline's elapsed seconds.
WATCH_INTERVAL = 1.0


def seen_domain(key: principal.Domain) -> Domain:
    """The engine's (principal, region) as events and the timeline name it (profile or account)."""
    return Domain(*principal.kinded(key))


def counts_of(stats: RunStats) -> dict[str, int]:
    """Rows per status (the ones that occurred), as ``run_finished`` and ``wave_finished`` carry them."""
    return {status.value: n for status, n in stats.statuses.items() if n}


class Observing:
    """One run's event sink and timeline, from the first line of the job to its exit code."""

    def __init__(self, events: EventSink, *, to_stdout: bool) -> None:
        self.observer = RunObserver(events, Timeline.null())
        self.to_stdout = to_stdout  # --events -: stdout carries events only, no summary
        self._started = False
        self._finished = False
        self._timeline_kept = False

    @classmethod
    def open(cls, config: RunConfig) -> Observing:
        """``--events`` opened (appended to on --resume, replaced with --force, else a new file)."""
        target = config.events
        events = EventSink.open(target, overwrite=config.force, append=config.resume)
        return cls(events, to_stdout=target == "-")

    @property
    def events(self) -> EventSink:
        return self.observer.events

    def started(self, config: RunConfig, operation: Operation, *, total_rows: int) -> None:
        self._started = True
        self.events.run_started(
            command=operation.command,
            setting=operation.setting.name,
            input=str(config.input_path),
            total_rows=total_rows,
            rate=config.rate,
            concurrency=config.concurrency,
            max_attempts=config.max_attempts,
        )

    def keep_timeline(self, config: RunConfig, operation: Operation) -> None:
        """Start this run's segment of ``<results>.timeline.jsonl`` (after the results file is opened,
        so a run refused for an existing results file leaves that file's timeline alone)."""
        if operation.writes:
            self.observer.timeline = Timeline.open(
                config.results_path, command=operation.command, resume=config.resume, input=config.input_path
            )
            self._timeline_kept = True

    def attach(
        self,
        config: RunConfig,
        operation: Operation,
        sink: Sink,
        *,
        region_at: int | None,
        region: str | None,
    ) -> tuple[Sink, RunObserver | None]:
        """Once the results file is open: the timeline kept, the sink that emits ``row_finished``, and
        the observer for the engine (None when nothing reads it: plan without --events)."""
        self.keep_timeline(config, operation)
        if self.events.enabled:
            sink = ObservedSink(sink, self.events, region_at=region_at, default_region=region or "-")
        return sink, self.observer if self.watching else None

    def gate(self, waves: Waves | None) -> Waves | None:
        """The rollout gate, announcing each finished wave when --events is given."""
        return ObservedWaves(waves, self.events) if waves is not None and self.events.enabled else waves

    @property
    def watching(self) -> bool:
        """Does anything read what the engine would tell the observer? (plan without --events: no)"""
        return self.events.enabled or self._timeline_kept

    def finish(self, *, counts: Mapping[str, int], exit_code: int, reason: str | None = None) -> None:
        if self._finished:
            return
        self._finished = True
        if self._started:
            self.observer.finish(counts=counts, exit_code=exit_code, reason=reason)
        else:
            self.observer.timeline.close(exit_code=exit_code, reason=reason)
            self.events.close()

    def abort(self, error: BaseException, counts: Mapping[str, int]) -> None:
        """The run ended by an exception: close both with the exit code the CLI will give it."""
        if isinstance(error, KeyboardInterrupt):
            self.finish(counts=counts, exit_code=ExitCode.INTERRUPTED, reason="interrupted")
        elif isinstance(error, BatchproxyError):
            self.finish(counts=counts, exit_code=ExitCode.USAGE, reason=type(error).__name__)
        else:  # a crash: the stream ends without run_finished, as it would after a kill
            self.events.close()


class ObservedSink:
    """A ``Sink`` that also emits ``row_finished`` for every outcome it records."""

    def __init__(self, sink: Sink, events: EventSink, *, region_at: int | None, default_region: str) -> None:
        self._sink = sink
        self._events = events
        self._region_at = region_at  # the Region column of an invalid row, when the input has one
        self._default_region = default_region
        self._domains: dict[principal.Domain, Domain] = {}

    def record(self, row: Row, outcome: Outcome) -> None:
        self._sink.record(row, outcome)
        key = row.target.domain
        domain = self._domains.get(key)
        if domain is None:
            domain = self._domains[key] = seen_domain(key)
        self._emit(row.number, outcome, domain)

    def record_invalid(self, row: InvalidRow, outcome: Outcome) -> None:
        self._sink.record_invalid(row, outcome)
        # An invalid row may have no usable region; the cell as read, else the run's default, else "-".
        cell = row.values[self._region_at] if self._region_at is not None else ""
        region = cell.strip() if cell.strip().isprintable() and cell.strip() else self._default_region
        self._emit(row.number, outcome, Domain("profile", None, region[:64]))

    def background(self) -> Sequence[Background]:
        return self._sink.background()

    def finish(self, ending: SinkEnding) -> SinkResult:
        return self._sink.finish(ending)

    def _emit(self, number: int, outcome: Outcome, domain: Domain) -> None:
        self._events.row_finished(
            row=number,
            status=outcome.status.value,
            attempts=outcome.attempts,
            http_status=outcome.http_status,
            error_code=outcome.error_code,
            duration_ms=max(outcome.duration_ms, 0),
            domain=domain,
        )


class ObservedWaves:
    """The rollout gate, with ``wave_finished`` after each wave (``Waves`` protocol)."""

    def __init__(self, waves: Waves, events: EventSink) -> None:
        self._waves = waves
        self._events = events
        self._started = 0  # waves begun: the scheduler draws one size per wave
        self._announced = 0

    def sizes(self) -> Iterator[int]:
        for size in self._waves.sizes():
            self._started += 1
            yield size

    async def between(self, wave: int, stats: RunStats) -> str | None:
        self._announce(wave + 1, stats)
        return await self._waves.between(wave, stats)

    def after_outcome(self, stats: RunStats) -> str | None:
        return self._waves.after_outcome(stats)

    def after_run(self, control: StopControl, stats: RunStats) -> None:
        """The last wave has no gate after it: it is finished when the run ends without stopping."""
        if not control.stopping and self._started > self._announced and stats.done:
            self._announce(self._started, stats)

    def _announce(self, wave: int, stats: RunStats) -> None:
        self._announced = wave
        self._events.wave_finished(wave=wave, counts=counts_of(stats))


def watcher(observer: RunObserver, domains: Domains) -> Background:
    """The once-a-second task for the scheduler's background tuple."""

    async def run() -> None:
        await watch(observer, domains)

    return run


async def watch(observer: RunObserver, domains: Domains, interval: float = WATCH_INTERVAL) -> None:
    """Until cancelled: each domain's limiter rate (``rate_changed`` when it moved), closed seconds."""
    while True:
        await anyio.sleep(interval)
        sample(observer, domains)


def sample(observer: RunObserver, domains: Domains) -> None:
    for domain in list(domains):
        observer.rate(domain.seen, domain.limiter.current_rate)
    observer.tick()
