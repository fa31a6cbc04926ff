"""One command from start to exit code, in three phases: prepare → execute → finish.

    prepare   (--resume: lock and read the journal) ─► scan input (one validating pass) ─► the
              operation's whole-input check ─► (invalid? report, exit 2) ─► rollout gate
    execute   endpoint (credentials, or the emulator) ─► the operation's sink ─► scheduler
    finish    the sink finishes (journal finalized, failure report; or the plan file) ─► summary ─► exit code

Each phase is a module of this package with one function returning a frozen dataclass, and none of
them names a command: what differs between commands is asked of the ``Operation``. This module runs
them in order and turns what they return into the exit code, the events' end and the summary.

The input is validated in one pass, and everything else the run needs of every row is gathered from
that same pass (``prepare.Gathered``): the (profile, region) pairs whose credentials to check, the rows
to seed the emulator with, and on resume each row's decision. The pass that feeds the scheduler then
reads past done rows without checking them again, so a resume starts sending soon after the scan.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

from batchproxy import input as input_file
from batchproxy import input_streams, settings
from batchproxy.config import RunConfig
from batchproxy.endpoint import row_regions
from batchproxy.errors import JournalWriteError
from batchproxy.exit_codes import ExitCode
from batchproxy.interrupts import guarded_ending
from batchproxy.job.execute import Executed, execute
from batchproxy.job.finish import Finished, finish
from batchproxy.job.prepare import Invalid, Prepared, prepare, report_invalid, scan_input, total_rows
from batchproxy.operations import Operation
from batchproxy.report.fit import WIDTH
from batchproxy.report.run_observing import Observing, counts_of
from batchproxy.report.summary import UNWRAPPED, render
from batchproxy.rows import Status
from batchproxy.write_guard import write_failed

__all__ = ["Executed", "Finished", "Invalid", "Prepared", "execute", "finish", "prepare", "run", "validate"]


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
    observing.started(config, operation, total_rows=total_rows(prepared))
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
    scan = scan_input(path, regions=regions, needs_settings=True, role_name=role_name, setting=setting)
    if not scan.ok:
        return report_invalid(scan).exit_code
    print(f"{path}: {scan.row_count} rows, all valid")
    return ExitCode.OK
