"""One command from start to exit code: validate, open the journal, schedule, finish, summarise.

    (--resume: lock and read the journal) ─► scan input ─► (invalid? report, exit 2) ─► credentials
        ─► journal ─► scheduler ─► finalize ─► failure report ─► summary on stdout ─► exit code

The input is validated in one pass, and everything else the run needs of every row is gathered from
that same pass (``gather.Gathered``): the (profile, region) pairs whose credentials to check, the rows to
seed the emulator with, and on resume each row's decision. The pass that feeds the scheduler then reads
past done rows without checking them again, so a resume starts sending soon after the scan.

Every command that writes (run, delete, rollback) goes through ``_apply``; ``plan`` shares the same
scheduler with a read-only operation and a plan file instead of a journal.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import anyio

from batchproxy import input as input_file
from batchproxy.config import RunConfig
from batchproxy.endpoint import Endpoint, RowRegions, endpoint, row_regions
from batchproxy.errors import UsageError
from batchproxy.gather import Gathered, gatherer, reserved_for_resume
from batchproxy.journal import Journal, OpenMode, Reservation, ResumeReason, load_meta, save_meta
from batchproxy.journal.meta import RunMeta
from batchproxy.logs import get_logger
from batchproxy.operations import DeleteProxy, Operation, PlanProxy, PutProxy, RestoreProxy
from batchproxy.plan_file import PlanFile
from batchproxy.profiles import AwsProfiles
from batchproxy.progress import ProgressDisplay
from batchproxy.ratelimit import RateLimits
from batchproxy.restore import check_snapshots, restorable
from batchproxy.retry import RetryPolicy
from batchproxy.rollout import Rollout, build_rollout
from batchproxy.rows import Outcome, Row, Status
from batchproxy.scheduler import Background, Recorder, Scheduler, StopControl
from batchproxy.stats import RunStats
from batchproxy.summary import Summary, render, resume_command, retry_command

__all__ = ["run_command", "validate_command"]

log = get_logger(__name__)

EXIT_OK, EXIT_NOT_ALL_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def validate_command(path: Path, *, region: str | None) -> int:
    scan = _scan(path, regions=_default_region(region, None, emulate=False), needs_settings=True)
    if not scan.ok:
        return _report_invalid(scan)
    print(f"{path}: {scan.row_count} rows, all valid")
    return EXIT_OK


def run_command(command: str, config: RunConfig, *, plan_path: Path | None = None) -> int:
    operation = _operation(command, config)
    regions = _default_region(config.region, config.profile, emulate=config.emulate, env=config.env_region)
    needs_settings = operation.needs_settings
    resume = config.resume and plan_path is None
    with reserved_for_resume(config, needs_settings=needs_settings, resume=resume) as reserved:
        gathered = gatherer(command, config, reserved)
        scan = _scan(config.input_path, regions=regions, needs_settings=needs_settings, observe=gathered)
        if reserved is not None and scan.header != reserved.header:
            raise UsageError(f"{scan.path} changed while it was read; run the command again")
        if command == "rollback":
            check_snapshots(scan)
        if not scan.ok and not config.skip_invalid:
            return _report_invalid(scan)
        gathered.settle(scan)
        # Before the journal exists: a bad --waves/--max-failures or --approve without a terminal is a
        # usage error that must leave no results file behind (a later run would find it and refuse).
        rollout = build_rollout(config.waves, scan.row_count)
        job = _Job(
            command=command,
            config=config,
            operation=operation,
            scan=scan,
            gathered=gathered,
            reservation=None if reserved is None else reserved.reservation,
            rollout=rollout,
            plan_path=plan_path,
            profiles=regions.profiles,
        )
        return anyio.run(job.run)


def _operation(command: str, config: RunConfig) -> Operation:
    operations: dict[str, Operation] = {
        "run": PutProxy(snapshot=config.snapshot, skip_unchanged=config.skip_unchanged),
        "delete": DeleteProxy(snapshot=config.snapshot),
        "rollback": RestoreProxy(),
        "plan": PlanProxy(),
    }
    return operations[command]


def _default_region(
    region: str | None, profile: str | None, *, emulate: bool, env: str | None = None
) -> RowRegions:
    """The AWS config files, read once for the run, and how a row finds its region (as the AWS CLI)."""
    return row_regions(region=region, env_region=env, profile=profile, emulate=emulate)


def _scan(
    path: Path,
    *,
    regions: RowRegions,
    needs_settings: bool,
    observe: input_file.Observer | None = None,
) -> input_file.Scan:
    scan = input_file.scan(
        path,
        default_region=regions.default,
        needs_settings=needs_settings,
        observe=observe,
        profiles=regions.profiles,
    )
    for column in scan.header.unknown_columns:
        log.warning("ignoring unknown column", column=column, file=str(path))
    return scan


def _report_invalid(scan: input_file.Scan) -> int:
    report = scan.write_invalid_report(input_file.invalid_report_path(scan.path))
    for problem in scan.first_problems:
        print(str(problem), file=sys.stderr)
    more = scan.problem_count - len(scan.first_problems)
    print(
        f"{scan.path}: {scan.problem_count} problem(s) in {scan.invalid_row_count} row(s)"
        + (f" ({more} more not shown)" if more > 0 else "")
        + f"; nothing was sent. Every problem is listed in {report}",
        file=sys.stderr,
    )
    return EXIT_USAGE


@dataclass(kw_only=True)
class _Job:
    command: str
    config: RunConfig
    operation: Operation
    scan: input_file.Scan
    gathered: Gathered
    reservation: Reservation | None = None  # --resume: the journal, locked and read before the scan
    rollout: Rollout | None = None
    plan_path: Path | None = None
    profiles: AwsProfiles | None = None  # the AWS config files as the scan read them

    async def run(self) -> int:
        async with self._endpoint() as where:
            if self.plan_path is not None:
                return await self._plan(where, self.plan_path)
            return await self._apply(where)

    @contextlib.asynccontextmanager
    async def _endpoint(self) -> AsyncIterator[Endpoint]:
        async with endpoint(self.config, self.gathered.targets, self.profiles) as where:
            yield where

    def _open_journal(self) -> Journal:
        if self.reservation is not None:
            return self.reservation.open()
        mode = OpenMode.FORCE if self.config.force else OpenMode.NEW
        return Journal.open(self.config.results_path, self.scan.header.names, mode)

    async def _apply(self, where: Endpoint) -> int:
        config = self.config
        with self._open_journal() as journal:
            if journal.state.torn_bytes:
                log.warning("discarded a torn last line left by a crash", bytes=journal.state.torn_bytes)
            stats = RunStats(total=self.scan.row_count, already_done=self.gathered.already_done)
            numbers = self.scan.row_numbers()  # every input row, valid or not: what finalize keeps
            limits = self._limits(resume=config.resume)
            recorder = _JournalRecorder(journal)
            rows = self._rows_to_send(recorder, stats)
            scheduler = self._scheduler(where, limits, recorder, stats)
            control = await self._schedule(scheduler, rows, stats, journal.run_syncer)
            save_meta(config.results_path, RunMeta(learned_rates=limits.learned_rates()))
            finished = journal.finalize(numbers)
            failures = journal.write_failure_report(config.failures_path)
        log.info("results written", lines=finished.lines, failures=failures)
        summary = self._summary(stats, control.reason, control.interrupted)
        earlier = failures - (stats.done - stats.statuses[Status.OK])
        if earlier > 0:  # --resume: rows an earlier run left failed, not sent again
            summary = replace(
                summary,
                earlier_not_ok=earlier,
                notes=[f"{earlier} row(s) already not ok from an earlier run"],
            )
        print(render(summary))
        return _exit_code(not_ok=failures, interrupted=control.interrupted)

    def _rows_to_send(self, recorder: _JournalRecorder, stats: RunStats) -> Iterator[Row]:
        """The input's rows that need a request; invalid rows are recorded on the way, never sent.

        On resume, rows the plan found done are read past without being checked again.
        """
        plan = self.gathered.plan
        for item in self.scan.rows(select=None if plan is None else plan.selects):
            if not isinstance(item, Row):
                recorder.record_invalid(item)
                stats.on_outcome("", invalid_outcome(item))
                continue
            row = restorable(item, self.scan.header) if self.command == "rollback" else item
            if isinstance(row, Outcome):  # rollback: nothing to restore for this row
                recorder.record(item, row)
                stats.on_outcome(item.target.region, row)
                continue
            reason = None if plan is None else plan.reason(row.number)
            if reason is not None and reason is not ResumeReason.NO_LINE:
                log.info("sending again", row=row.number, reason=reason.value)
            yield row

    def _limits(self, *, resume: bool) -> RateLimits:
        learned = load_meta(self.config.results_path).learned_rates if resume else {}
        return RateLimits(self.config.rate, self.config.burst, start_rates=learned)

    def _scheduler(
        self, where: Endpoint, limits: RateLimits, recorder: Recorder, stats: RunStats
    ) -> Scheduler:
        config = self.config
        return Scheduler(
            operation=self.operation,
            clients=where.clients,
            limits=limits,
            policy=RetryPolicy(config.max_attempts),
            recorder=recorder,
            stats=stats,
            concurrency=config.concurrency,
            grace_seconds=config.grace_seconds,
            waves=self.rollout,
        )

    async def _schedule(
        self, scheduler: Scheduler, rows: Iterator[Row], stats: RunStats, *background: Background
    ) -> StopControl:
        progress = ProgressDisplay(stats, sys.stderr)
        with progress.shown():
            return await scheduler.run(rows, background=(*background, progress.run))

    async def _plan(self, where: Endpoint, path: Path) -> int:
        stats = RunStats(total=self.scan.row_count)
        with PlanFile.create(path, self.scan.header.names, force=self.config.force) as plan:
            rows = self._plan_rows(plan, stats)
            scheduler = self._scheduler(where, self._limits(resume=False), plan, stats)
            control = await self._schedule(scheduler, rows, stats)
        summary = Summary(
            command="plan",
            stats=stats,
            results_path=path,
            failures_path=None,
            stop_reason=control.reason,
            interrupted=control.interrupted,
            notes=plan.action_counts(),
        )
        print(render(summary))
        if control.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_OK if not stats.statuses[Status.FAILED] else EXIT_NOT_ALL_OK

    def _plan_rows(self, plan: PlanFile, stats: RunStats) -> Iterator[Row]:
        for item in self.scan.rows():
            if isinstance(item, Row):
                yield item
            else:
                plan.record_invalid(item)
                stats.on_outcome("", invalid_outcome(item))

    def _summary(self, stats: RunStats, reason: str | None, interrupted: bool) -> Summary:
        argv = list(self.config.argv) or ["batchproxy", self.command, str(self.config.input_path)]
        resume = resume_command(argv)
        retry = retry_command(argv, self.command, self.config.input_path, self.config.failures_path)
        return Summary(
            command=self.command,
            stats=stats,
            results_path=self.config.results_path,
            failures_path=self.config.failures_path,
            stop_reason=reason,
            interrupted=interrupted,
            resume_argv=resume,
            retry_argv=retry,
        )


def invalid_outcome(row: input_file.InvalidRow) -> Outcome:
    """An invalid row's line: never sent, its problems as the message (CONTRACT §1 --skip-invalid)."""
    return Outcome(status=Status.INVALID, error_code="InvalidInput", error_message=row.message)


class _JournalRecorder:
    """Adapts the journal to the scheduler's ``Recorder``: the fingerprint goes with every line."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def record(self, row: Row, outcome: Outcome) -> None:
        self._journal.record(row.number, row.values, outcome, fingerprint=row.fingerprint())

    def record_invalid(self, row: input_file.InvalidRow) -> None:
        self._journal.record(row.number, row.values, invalid_outcome(row))


def _exit_code(*, not_ok: int, interrupted: bool) -> int:
    """From the finished results file, not this run's rows only: after --resume, a row an earlier run
    left failed is still not ok (CONTRACT §5)."""
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if not not_ok else EXIT_NOT_ALL_OK
