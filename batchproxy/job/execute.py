"""execute: endpoint (credentials, or the emulator) ─► the operation's sink ─► scheduler.

The pass that feeds the scheduler reads the input again and reads past done rows without checking
them again, so a resume starts sending soon after the scan.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from batchproxy import columns
from batchproxy.endpoint import endpoint
from batchproxy.engine.domains import Domains
from batchproxy.engine.retry import RetryPolicy
from batchproxy.engine.scheduler import Scheduler, StopControl
from batchproxy.engine.stats import RunStats
from batchproxy.errors import JournalWriteError
from batchproxy.job.prepare import Prepared, invalid_outcome, total_rows
from batchproxy.journal import ResumeReason, load_meta
from batchproxy.logs import get_logger
from batchproxy.operations import Sink, SinkOpening
from batchproxy.principal import Domain
from batchproxy.report.progress import ProgressDisplay
from batchproxy.report.run_observing import ObservedWaves, sample, watcher
from batchproxy.rows import Outcome, Row
from batchproxy.shard_part import save_record
from batchproxy.write_guard import WriteGuard

__all__ = ["Executed", "execute"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Executed:
    """Every row has an outcome in the sink, which is still open: ``finish`` writes what is left."""

    sink: Sink
    stats: RunStats
    control: StopControl
    learned_rates: dict[Domain, float]
    closing: contextlib.ExitStack  # closes the sink (and the journal's lock) after finish
    write_error: JournalWriteError | None = None  # a record failed: the run was aborted, not finished


async def execute(prepared: Prepared) -> Executed:
    """Open the endpoint and the sink, and carry every row to an outcome."""
    config = prepared.config
    stats = RunStats(total=total_rows(prepared), already_done=prepared.gathered.already_done)
    observing = prepared.observing
    learned = load_meta(config.results_path).learned_rates if config.resume else {}
    with contextlib.ExitStack() as closing:
        opening = SinkOpening(
            config=config, header=prepared.scan.header.names, reservation=prepared.reservation
        )
        async with endpoint(config, prepared.gathered.targets, prepared.regions.profiles) as where:
            sink = closing.enter_context(prepared.operation.open_sink(opening))
            if prepared.shard is not None and prepared.operation.writes:
                save_record(config.results_path, config.input_path, prepared.scan.row_count, prepared.shard)
            observer = None
            if observing is not None:
                region_at = prepared.scan.header.index(columns.REGION)
                region = prepared.regions.default
                operation = prepared.operation
                sink, observer = observing.attach(config, operation, sink, region_at=region_at, region=region)
            guard = WriteGuard(sink)
            domains = Domains.over_pool(
                where.clients,
                rate=config.rate,
                burst=config.burst,
                stats=stats,
                memory_rows=config.concurrency * 2,
                breaker_threshold=min(config.concurrency, 5),
                start_rates=learned,
                silence_budget=config.retry_budget,
                shared_endpoint=config.endpoint_url or where.url,
            )
            waves = prepared.rollout if observing is None else observing.gate(prepared.rollout)
            scheduler = Scheduler(
                operation=prepared.operation,
                domains=domains,
                policy=RetryPolicy(config.max_attempts, budget=config.retry_budget),
                recorder=guard,
                stats=stats,
                concurrency=config.concurrency,
                grace_seconds=config.grace_seconds,
                waves=waves,
                observer=observer,
            )
            guard.on_failure = scheduler.abort
            progress = ProgressDisplay(stats, sys.stderr)
            watch = () if observer is None else (watcher(observer, domains),)
            with progress.shown():
                rows = _rows_to_send(prepared, guard, stats)
                control = await scheduler.run(rows, background=(*guard.background(), progress.run, *watch))
            if isinstance(waves, ObservedWaves):
                waves.after_run(control, stats)
            if observer is not None:
                sample(observer, domains)  # the limiters' last rates, into the last second
        return Executed(
            sink=sink,
            stats=stats,
            control=control,
            learned_rates=domains.learned_rates(),
            closing=closing.pop_all(),
            write_error=guard.error,
        )


def _rows_to_send(prepared: Prepared, sink: WriteGuard, stats: RunStats) -> Iterator[Row]:
    """The input's rows that need a request; the others are recorded on the way, never sent.

    Invalid rows, and rows the operation answers itself (rollback: nothing to restore), are recorded
    here. On resume, rows the plan found done are read past without being checked again.
    """
    plan = prepared.gathered.plan
    header = prepared.scan.header
    shard = prepared.shard
    for item in prepared.scan.rows(select=None if plan is None else plan.selects):
        if shard is not None and not (shard.owns(item) if isinstance(item, Row) else shard.takes_invalid):
            continue  # another shard's row (--shard); invalid rows are shard 1's
        if not isinstance(item, Row):
            outcome = invalid_outcome(item)
            sink.record_invalid(item, outcome)
            stats.on_outcome(None, outcome)
            continue
        row = prepared.operation.prepare(item, header)
        if isinstance(row, Outcome):
            sink.record(item, row)
            stats.on_outcome(item.target.domain, row)
            continue
        reason = None if plan is None else plan.reason(row.number)
        if reason is not None and reason is not ResumeReason.NO_LINE:
            log.info("sending again", row=row.number, reason=reason.value)
        yield row
