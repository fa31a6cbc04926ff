"""One command from start to exit code: validate, open the journal, schedule, finish, summarise.

    scan input ─► (invalid? report, exit 2) ─► credentials ─► journal ─► scheduler ─► finalize
        ─► failure report ─► summary on stdout ─► exit code

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
import botocore.session

from batchproxy import input as input_file
from batchproxy.config import RunConfig
from batchproxy.endpoint import Endpoint, endpoint
from batchproxy.journal import Journal, OpenMode, RowNumbers, check_input, load_meta, plan_resume, save_meta
from batchproxy.journal.meta import RunMeta
from batchproxy.logs import get_logger
from batchproxy.operations import DeleteProxy, Operation, PlanProxy, PutProxy, RestoreProxy
from batchproxy.plan_file import PlanFile
from batchproxy.progress import ProgressDisplay
from batchproxy.ratelimit import RateLimits
from batchproxy.restore import check_snapshots, restorable
from batchproxy.retry import RetryPolicy
from batchproxy.rollout import Rollout, build_rollout
from batchproxy.rows import Outcome, Row, Status
from batchproxy.scheduler import Background, Recorder, Scheduler, StopControl
from batchproxy.stats import RunStats
from batchproxy.summary import Summary, render

__all__ = ["run_command", "validate_command"]

log = get_logger(__name__)

EXIT_OK, EXIT_NOT_ALL_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def validate_command(path: Path, *, region: str | None) -> int:
    scan = _scan(path, default_region=_default_region(region, None, emulate=False), needs_settings=True)
    if not scan.ok:
        return _report_invalid(scan)
    print(f"{path}: {scan.row_count} rows, all valid")
    return EXIT_OK


def run_command(command: str, config: RunConfig, *, plan_path: Path | None = None) -> int:
    operation = _operation(command, config)
    region = _default_region(config.region, config.profile, emulate=config.emulate)
    scan = _scan(config.input_path, default_region=region, needs_settings=operation.needs_settings)
    if command == "rollback":
        check_snapshots(scan)
    if not scan.ok and not config.skip_invalid:
        return _report_invalid(scan)
    # Before the journal exists: a bad --waves/--max-failures or --approve without a terminal is a
    # usage error that must leave no results file behind (a later run would find it and refuse).
    rollout = build_rollout(config.waves, scan.row_count)
    job = _Job(
        command=command, config=config, operation=operation, scan=scan, rollout=rollout, plan_path=plan_path
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


def _default_region(region: str | None, profile: str | None, *, emulate: bool) -> str | None:
    """--region, else the profile's configured region (as the AWS CLI finds it), else none."""
    if region or emulate:
        return region
    try:
        found = botocore.session.Session(profile=profile).get_config_variable("region")
    except Exception:  # a broken config file is reported when credentials are looked up
        return None
    return str(found) if found else None


def _scan(path: Path, *, default_region: str | None, needs_settings: bool) -> input_file.Scan:
    scan = input_file.scan(path, default_region=default_region, needs_settings=needs_settings)
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
    rollout: Rollout | None = None
    plan_path: Path | None = None

    async def run(self) -> int:
        async with self._endpoint() as where:
            if self.plan_path is not None:
                return await self._plan(where, self.plan_path)
            return await self._apply(where)

    @contextlib.asynccontextmanager
    async def _endpoint(self) -> AsyncIterator[Endpoint]:
        async with endpoint(self.config, self._targets()) as where:
            yield where

    def _targets(self) -> Iterator[Row]:
        for item in self.scan.rows():
            if isinstance(item, Row):
                yield item

    async def _apply(self, where: Endpoint) -> int:
        config = self.config
        mode = OpenMode.RESUME if config.resume else OpenMode.FORCE if config.force else OpenMode.NEW
        with Journal.open(config.results_path, self.scan.header.names, mode) as journal:
            if journal.state.torn_bytes:
                log.warning("discarded a torn last line left by a crash", bytes=journal.state.torn_bytes)
            if config.resume:
                self._check_resumable(journal)
            stats = RunStats(total=self.scan.row_count)
            numbers = RowNumbers()
            limits = self._limits(resume=config.resume)
            recorder = _JournalRecorder(journal)
            rows = self._rows_to_send(journal, recorder, numbers, stats)
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

    def _check_resumable(self, journal: Journal) -> None:
        check = check_input(journal.state, self.scan.rows())
        if check.disappeared:
            log.warning(
                "rows in the results file are no longer in the input", detail=check.describe_disappeared()
            )

    def _rows_to_send(
        self, journal: Journal, recorder: _JournalRecorder, numbers: RowNumbers, stats: RunStats
    ) -> Iterator[Row]:
        """The input's rows that need a request; invalid rows are recorded on the way, never sent."""
        for item in self.scan.rows():
            numbers.add(item.number)
            if not isinstance(item, Row):
                recorder.record_invalid(item)
                stats.on_outcome("", invalid_outcome(item))
                continue
            row = restorable(item, self.scan.header) if self.command == "rollback" else item
            if isinstance(row, Outcome):  # rollback: nothing to restore for this row
                recorder.record(item, row)
                stats.on_outcome(item.target.region, row)
                continue
            if self.config.resume:
                decision = plan_resume(journal.state, row, retry_failed=self.config.retry_failed)
                if not decision.send:
                    stats.already_done += 1
                    continue
                if decision.previous is not None:
                    log.info("sending again", row=row.number, reason=decision.reason.value)
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
        resume = [*_without(argv, "--force", "--resume"), "--resume"]
        retry = _retry_argv(argv, self.command, self.config.input_path, self.config.failures_path)
        if self.command == "rollback":
            # A failure report has no previous_state column, so rollback would refuse it: go on from
            # the rollback's own journal instead.
            retry = [*_without(resume, "--retry-failed"), "--retry-failed"]
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


def _without(argv: list[str], *flags: str) -> list[str]:
    return [arg for arg in argv if arg not in flags]


def _retry_argv(argv: list[str], command: str, input_path: Path, failures: Path) -> list[str]:
    """The same command on the failure report, with its own default output paths."""
    kept = _drop_options(argv[2:], {"--results", "--failures"}, {"--force", "--resume", "--retry-failed"})
    kept = [arg for arg in kept if arg != str(input_path)]
    return [argv[0] if argv else "batchproxy", command, str(failures), *kept]


def _drop_options(args: list[str], with_value: set[str], flags: set[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in with_value:
            skip = "=" not in arg
            continue
        if name not in flags:
            out.append(arg)
    return out
