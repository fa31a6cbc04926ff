"""prepare: read and check the input once, gather what the run needs of every row; nothing is sent.

(--resume: lock and read the journal) ─► scan input (one validating pass) ─► the operation's
whole-input check ─► (invalid? report, exit 2) ─► rollout gate. ``Gathered`` is what that one pass
collects besides the verdicts: the (profile, region) pairs whose credentials to check, the rows to
seed the emulator with, and on resume each row's decision.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from batchproxy import input as input_file
from batchproxy import input_streams, settings
from batchproxy.assume import check_role_options
from batchproxy.config import RunConfig
from batchproxy.endpoint import RowRegions, Targets, row_regions
from batchproxy.engine.rollout import Rollout, build_rollout
from batchproxy.errors import UsageError
from batchproxy.exit_codes import ExitCode
from batchproxy.journal import Journal, OpenMode, Reservation, ResumePlan, ResumeReason
from batchproxy.logs import get_logger
from batchproxy.operations import Operation
from batchproxy.report.run_observing import Observing
from batchproxy.rows import Outcome, Row, Status
from batchproxy.shard_part import InvalidRows, ShardCounter, ShardPart

__all__ = [
    "Gathered",
    "Invalid",
    "Prepared",
    "Reserved",
    "invalid_outcome",
    "prepare",
    "report_invalid",
    "reserve_for_resume",
    "scan_input",
    "total_rows",
]

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
        scan = scan_input(
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
            invalid = report_invalid(scan, report)
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


def total_rows(prepared: Prepared) -> int:
    """Rows this process accounts for: the input's, or this shard's."""
    return prepared.scan.row_count if prepared.shard is None else prepared.shard.rows


def scan_input(
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


def report_invalid(scan: input_file.Scan, report_path: Path | None = None) -> Invalid:
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
