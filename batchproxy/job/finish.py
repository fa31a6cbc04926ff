"""finish: the sink finishes (journal finalized, failure report; or the plan file) ─► summary ─►
exit code."""

from __future__ import annotations

from dataclasses import dataclass

from batchproxy.exit_codes import ExitCode
from batchproxy.job.execute import Executed
from batchproxy.job.prepare import Prepared
from batchproxy.operations import SinkEnding, SinkResult
from batchproxy.report.summary import Summary

__all__ = ["Finished", "finish"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finished:
    summary: Summary
    exit_code: ExitCode


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
