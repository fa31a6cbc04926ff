"""One command from start to exit code, in three phases: prepare → execute → finish.

    prepare   (--resume: lock and read the journal) ─► scan input (one validating pass) ─► the
              operation's whole-input check ─► (invalid? report, exit 2) ─► rollout gate
    execute   endpoint (credentials, or the emulator) ─► the operation's sink ─► scheduler
    finish    the sink finishes (journal finalized, failure report; or the plan file) ─► summary ─► exit code

Each phase is a small function returning a frozen dataclass, and none of them names a command: what
differs between commands is asked of the ``Operation``.

The input is validated in one pass, and everything else the run needs of every row is gathered from
that same pass (``Gathered``): the (profile, region) pairs whose credentials to check, the rows to seed
the emulator with, and on resume each row's decision. The pass that feeds the scheduler then reads past
done rows without checking them again, so a resume starts sending soon after the scan.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio

from batchproxy import columns, input_streams, settings
from batchproxy import input as input_file
from batchproxy.assume import check_role_options
from batchproxy.config import RunConfig
from batchproxy.endpoint import RowRegions, Targets, endpoint, row_regions
from batchproxy.engine.domains import Domains
from batchproxy.engine.retry import RetryPolicy
from batchproxy.engine.rollout import Rollout, build_rollout
from batchproxy.engine.scheduler import Scheduler, StopControl
from batchproxy.engine.stats import RunStats
from batchproxy.errors import JournalWriteError, UsageError
from batchproxy.exit_codes import ExitCode
from batchproxy.interrupts import guarded_ending
from batchproxy.journal import Journal, OpenMode, Reservation, ResumePlan, ResumeReason, load_meta
from batchproxy.logs import get_logger
from batchproxy.operations import Operation, Sink, SinkEnding, SinkOpening, SinkResult
from batchproxy.principal import Domain
from batchproxy.report.fit import WIDTH
from batchproxy.report.progress import ProgressDisplay
from batchproxy.report.run_observing import ObservedWaves, Observing, counts_of, sample, watcher
from batchproxy.report.summary import UNWRAPPED, Summary, render
from batchproxy.rows import Outcome, Row, Status
from batchproxy.shard_part import InvalidRows, ShardCounter, ShardPart, save_record
from batchproxy.write_guard import WriteGuard, write_failed

__all__ = ["Executed", "Finished", "Invalid", "Prepared", "execute", "finish", "prepare", "run", "validate"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A validated input, ready to send: nothing has been written yet."""

    config: RunConfig
    operation: Operation
    scan: input_file.Scan
    gathered: Gathered
    reservation: Reservation | None  # --resume: the journal, locked and read before the scan
    rollout: Rollout | None
    regions: RowRegions  # the AWS config files as the scan read them, and how a row finds its region
    shard: ShardPart | None = None  # --shard: the rows this process takes
    observing: Observing | None = None  # --events and the timeline


@dataclass(frozen=True, slots=True, kw_only=True)
class Invalid:
    """The input had problems and no --skip-invalid: they were reported, nothing was sent."""

    report: Path
    exit_code: ExitCode = ExitCode.USAGE
    rows: int = 0  # data rows in the input
    invalid_rows: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Executed:
    """Every row has an outcome in the sink, which is still open: ``finish`` writes what is left."""

    sink: Sink
    stats: RunStats
    control: StopControl
    learned_rates: dict[Domain, float]
    closing: contextlib.ExitStack  # closes the sink (and the journal's lock) after finish
    write_error: JournalWriteError | None = None  # a record failed: the run was aborted, not finished


@dataclass(frozen=True, slots=True, kw_only=True)
class Finished:
    summary: Summary
    exit_code: ExitCode


def run(config: RunConfig, operation: Operation) -> ExitCode:
    """The whole command: the exit code says how it went (docs/reference.md §5).

    The input is opened once for the whole command: a pipe or FIFO is copied to a private temporary
    file that every pass reads (``input_streams`` says where its reports go).
    """
    observing = Observing.open(config)  # a bad --events path is refused before the input is read
    try:
        input_streams.refuse_without_results(config, operation)
        with input_file.open_input(config.input_path) as source:
            config = input_streams.config_for(config, operation, source)
            return _run(config, operation, source, observing)
    except BaseException as exc:
        observing.abort(exc, counts={})
        raise


def _run(
    config: RunConfig, operation: Operation, source: input_file.InputSource, observing: Observing
) -> ExitCode:
    prepared = prepare(config, operation, source, observing=observing)
    if isinstance(prepared, Invalid):
        observing.started(config, operation, total_rows=prepared.rows)
        observing.finish(counts={Status.INVALID.value: prepared.invalid_rows}, exit_code=prepared.exit_code)
        return prepared.exit_code
    observing.started(config, operation, total_rows=_total_rows(prepared))
    with guarded_ending():  # after a Ctrl-C stopped the run, another one waits for the summary
        try:
            executed = anyio.run(execute, prepared)
        finally:
            if prepared.reservation is not None:
                prepared.reservation.release()  # a no-op once the journal took the lock over
        error, finished = executed.write_error, None
        try:
            with executed.closing:
                if error is None:
                    finished = finish(prepared, executed)
        except JournalWriteError as exc:
            error = error or exc
        counts = counts_of(executed.stats)
        if error is not None:
            # During the run: 1 if anything was sent, else 2; at finish (finalize, report): rows were done.
            sent = executed.stats.attempts > 0 or executed.write_error is None
            code = write_failed(error, failures_path=config.failures_path, sent=sent)
            observing.finish(counts=counts, exit_code=code, reason="cannot write the results file")
            return code
        assert finished is not None, "finish ran, since no write failed"
        observing.finish(counts=counts, exit_code=finished.exit_code, reason=executed.control.reason)
        if not observing.to_stdout:  # --events -: stdout is the event stream's alone
            print(render(finished.summary, width=WIDTH if sys.stdout.isatty() else UNWRAPPED))
    return finished.exit_code


def validate(
    path: Path,
    *,
    region: str | None,
    role_name: str | None = None,
    setting: settings.Setting | None = None,
) -> ExitCode:
    """``validate``: the scan a run would do, and nothing else."""
    regions = row_regions(region=region, env_region=None, profile=None, emulate=False)
    scan = _scan(path, regions=regions, needs_settings=True, role_name=role_name, setting=setting)
    if not scan.ok:
        return _report_invalid(scan).exit_code
    print(f"{path}: {scan.row_count} rows, all valid")
    return ExitCode.OK


# -- prepare ---------------------------------------------------------------------------------------


def prepare(
    config: RunConfig,
    operation: Operation,
    source: input_file.InputSource | None = None,
    *,
    observing: Observing | None = None,
) -> Prepared | Invalid:
    """Validate the input in one pass (deciding resume row by row on the way) and build the gate.

    ``source`` is the opened input (``job.run`` opens it); None reads ``config.input_path``.
    """
    reserved = reserve_for_resume(config, operation, source) if config.resume else None
    try:
        check_role_options(config)
        gathered = Gathered(config, operation, reserved)
        regions = row_regions(
            region=config.region,
            env_region=config.env_region,
            profile=config.profile,
            emulate=config.emulate,
        )
        scan = _scan(
            config.input_path if source is None else source,
            regions=regions,
            needs_settings=operation.needs_settings,
            observe=gathered,
            role_name=config.role_name,
            setting=operation.setting,
        )
        if reserved is not None and scan.header != reserved.header:
            raise UsageError(f"{scan.path} changed while it was read; run the command again")
        operation.check(scan)
        if not scan.ok and not config.skip_invalid:
            report = None if source is None else input_streams.invalid_report_path(config, source)
            invalid = _report_invalid(scan, report)
            if reserved is not None:
                reserved.reservation.release()
            return invalid
        gathered.settle(scan)
        shard = _shard_part(config, scan, gathered)
        # Before the journal exists: a bad --waves/--max-failures or --approve without a terminal is a
        # usage error that must leave no results file behind (a later run would find it and refuse).
        rollout = build_rollout(config.waves, scan.row_count if shard is None else shard.rows)
    except BaseException:
        if reserved is not None:
            reserved.reservation.release()
        raise
    reservation = None if reserved is None else reserved.reservation
    return Prepared(
        config=config,
        operation=operation,
        scan=scan,
        gathered=gathered,
        reservation=reservation,
        rollout=rollout,
        regions=regions,
        shard=shard,
        observing=observing,
    )


def _shard_part(config: RunConfig, scan: input_file.Scan, gathered: Gathered) -> ShardPart | None:
    """--shard: split the input's domains over the shards; credentials are checked for ours only."""
    if config.shard is None or gathered.shard is None:
        return None
    part = gathered.shard.part(config.shard, invalid=InvalidRows(scan), takes_invalid=config.shard.index == 1)
    gathered.targets.domains = {key for key in gathered.targets.domains if part.owns_domain(key)}
    return part


def _total_rows(prepared: Prepared) -> int:
    """Rows this process accounts for: the input's, or this shard's."""
    return prepared.scan.row_count if prepared.shard is None else prepared.shard.rows


def _scan(
    path: Path | input_file.InputSource,
    *,
    regions: RowRegions,
    needs_settings: bool,
    observe: input_file.Observer | None = None,
    role_name: str | None = None,
    setting: settings.Setting | None = None,
) -> input_file.Scan:
    scan = input_file.scan(
        path,
        default_region=regions.default,
        needs_settings=needs_settings,
        observe=observe,
        profiles=regions.profiles,
        role_name=role_name,
        setting=setting,
    )
    _warn_unknown(scan)
    return scan


# An input with thousands of unknown columns would otherwise log thousands of lines.
_UNKNOWN_SHOWN = 5


def _warn_unknown(scan: input_file.Scan) -> None:
    """One warning for every unknown column together: how many, and the first few names."""
    unknown = scan.header.unknown_columns
    if unknown:
        shown = list(unknown[:_UNKNOWN_SHOWN])
        log.warning("ignoring unknown columns", count=len(unknown), first=shown, file=str(scan.path))


def _report_invalid(scan: input_file.Scan, report_path: Path | None = None) -> Invalid:
    path = report_path or input_file.invalid_report_path(scan.path)
    report = scan.write_invalid_report(path)
    for problem in scan.first_problems:
        print(str(problem), file=sys.stderr)
    more = scan.problem_count - len(scan.first_problems)
    print(
        f"{scan.path}: {scan.problem_count} problem(s) in {scan.invalid_row_count} row(s)"
        + (f" ({more} more not shown)" if more > 0 else "")
        + f"; nothing was sent. Every problem is listed in {report}",
        file=sys.stderr,
    )
    return Invalid(report=report, rows=scan.row_count, invalid_rows=scan.invalid_row_count)


@dataclass(frozen=True, slots=True)
class Reserved:
    header: input_file.Header
    reservation: Reservation


def reserve_for_resume(
    config: RunConfig, operation: Operation, source: input_file.InputSource | None = None
) -> Reserved:
    """On --resume, lock and read the journal before the input is validated: the pass that validates
    the input also decides, row by row, what to send again. Nothing is written to the file yet."""
    where = config.input_path if source is None else source
    header = input_file.read_input_header(
        where, needs_settings=operation.needs_settings, setting=operation.setting
    )
    return Reserved(header, Journal.reserve(config.results_path, header.names, OpenMode.RESUME))


class Gathered:
    """What a run needs of every input row, taken from the pass that validates them (``scan``'s observer).

    Memory stays flat: a resume plan at a byte per row, the distinct (profile, region) pairs; the
    connectors to seed the emulator with only under --emulate.
    """

    def __init__(self, config: RunConfig, operation: Operation, reserved: Reserved | None) -> None:
        self.targets = Targets(emulate=config.emulate)
        self.plan = (
            None
            if reserved is None
            else ResumePlan(reserved.reservation.state, retry_failed=config.retry_failed)
        )
        self.already_done = 0  # rows the plan found final, once settled
        self._operation = operation
        self._header = None if reserved is None else reserved.header
        self._invalid = 0
        self.shard = ShardCounter() if config.shard is not None else None  # rows per domain, for --shard

    def __call__(self, item: Row | input_file.InvalidRow) -> None:
        if not isinstance(item, Row):
            self._invalid += 1
            if self.plan is not None:
                self.plan.add(item, None)
            return
        self.targets.add(item)
        if self.shard is not None:
            self.shard.add(item)
        if self.plan is not None:
            self.plan.add(item, self._sendable(item))

    def _sendable(self, row: Row) -> Row | None:
        assert self._header is not None, "a resume plan comes with the header it was reserved with"
        prepared = self._operation.prepare(row, self._header)
        return prepared if isinstance(prepared, Row) else None  # an outcome is recorded, never sent

    def settle(self, scan: input_file.Scan) -> None:
        """After the scan: account for rows found to be duplicates, and check the input on resume."""
        if scan.invalid_row_count > self._invalid:
            # Duplicates are found after the main pass, so a row this observer took as valid may not
            # be: gather the targets again from the valid rows only. Rare, and only with --skip-invalid.
            self.targets = Targets(emulate=self.targets.emulate)
            if self.shard is not None:
                self.shard.reset()
            for item in scan.rows():
                if isinstance(item, Row):
                    self.targets.add(item)
                    if self.shard is not None:
                        self.shard.add(item)
        if self.plan is None:
            return
        check = self.plan.finish()  # refuses another input file before anything is sent
        if check.disappeared:
            log.warning(
                "rows in the results file are no longer in the input", detail=check.describe_disappeared()
            )
        done = ResumeReason.DONE
        invalid_done = sum(1 for number in scan.invalid_rows() if self.plan.reason(number) is done)
        self.already_done = self.plan.count(done) - invalid_done


def invalid_outcome(row: input_file.InvalidRow) -> Outcome:
    """An invalid row's line: never sent, its problems as the message (docs/reference.md §1
    --skip-invalid)."""
    return Outcome(status=Status.INVALID, error_code="InvalidInput", error_message=row.message)


# -- execute ---------------------------------------------------------------------------------------


async def execute(prepared: Prepared) -> Executed:
    """Open the endpoint and the sink, and carry every row to an outcome."""
    config = prepared.config
    stats = RunStats(total=_total_rows(prepared), already_done=prepared.gathered.already_done)
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


# -- finish ----------------------------------------------------------------------------------------


def finish(prepared: Prepared, executed: Executed) -> Finished:
    """The sink writes what is left; the summary and the exit code come from what it wrote."""
    shard = prepared.shard
    ending = SinkEnding(
        # every input row (or this shard's), valid or not: what finalize keeps
        input_rows=prepared.scan.row_numbers() if shard is None else shard.row_numbers(),
        stats=executed.stats,
        learned_rates=executed.learned_rates,
    )
    result = executed.sink.finish(ending)
    control = executed.control
    summary = _summary(prepared, executed, result)
    return Finished(summary=summary, exit_code=_exit_code(result, interrupted=control.interrupted))


def _summary(prepared: Prepared, executed: Executed, result: SinkResult) -> Summary:
    following = prepared.operation.next_commands(prepared.config)
    return Summary(
        command=prepared.operation.command,
        stats=executed.stats,
        results_path=result.results_path,
        failures_path=result.failures_path,
        stop_reason=executed.control.reason,
        interrupted=executed.control.interrupted,
        resume_argv=following.resume,
        retry_argv=following.retry,
        # A domain that stopped while others went on: said once each (the run's own reason is above).
        notes=result.notes,
        earlier_not_ok=result.earlier_not_ok,
        shard=None if prepared.shard is None else prepared.shard.describe(),
        resend_argv=following.resend,
    )


def _exit_code(result: SinkResult, *, interrupted: bool) -> ExitCode:
    """From the finished results file, not this run's rows only: after --resume, a row an earlier run
    left failed is still not ok (docs/reference.md §5)."""
    if interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.NOT_ALL_OK if result.not_ok else ExitCode.OK
