"""What a finished (or stopped) run amounts to: its exit status and the command to run next.

Derived from the results file's statuses as docs/reference.md §5 defines the exit codes, corrected by the
timeline: only the timeline knows that a run was interrupted (its last segment ended with 130) or killed
(its last segment has no end record). The next command is computed from what the file holds: rows that
--resume would send (skipped, or unanswered last attempt) call for ``--resume``; rows that failed for
good call for a run on the failure report.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from batchproxy.report.results_scan import ResultsScan
from batchproxy.report.timeline_read import TimelineData

__all__ = ["Verdict", "judge"]

_MEANING = {
    0: "every row ok",
    1: "finished; some rows are not ok",
    2: "stopped before sending (usage, input or credentials)",
    130: "interrupted; resumable",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    exit_code: int
    meaning: str
    commands: tuple[tuple[str, str], ...]  # (why, shell command line)


def judge(scan: ResultsScan, timeline: TimelineData, results: Path) -> Verdict:
    code, meaning = _exit_status(scan, timeline)
    return Verdict(code, meaning, _next_commands(scan, timeline, results, interrupted=code == 130))


def _exit_status(scan: ResultsScan, timeline: TimelineData) -> tuple[int, str]:
    last = timeline.segments[-1] if timeline.segments else None
    if last is not None and last.exit_code is None:
        return 130, "the run did not finish (no end record: it was killed); resumable"
    if last is not None and last.exit_code in (2, 130):
        reason = f" ({last.reason})" if last.reason else ""
        return last.exit_code, _MEANING[last.exit_code] + reason
    code = 0 if scan.not_ok == 0 else 1
    return code, _MEANING[code]


def _input_path(timeline: TimelineData, results: Path) -> Path | None:
    for segment in reversed(timeline.segments):
        if segment.input:
            return Path(segment.input)
    suffix = ".results.csv"
    if results.name.endswith(suffix):  # the default results name of INPUT.csv
        return results.with_name(results.name[: -len(suffix)] + ".csv")
    return None


def _next_commands(
    scan: ResultsScan, timeline: TimelineData, results: Path, *, interrupted: bool
) -> tuple[tuple[str, str], ...]:
    command = timeline.segments[-1].command if timeline.segments else "run"
    source = _input_path(timeline, results)
    commands: list[tuple[str, str]] = []
    if interrupted or scan.unfinished:
        argv = ["batchproxy", command, str(source or "INPUT.csv"), "--resume"]
        default = source is not None and source.with_name(source.stem + ".results.csv") == results
        if not default:
            argv += ["--results", str(results)]
        commands.append(
            (f"{scan.unfinished} row(s) have no final outcome yet: continue the run", shlex.join(argv))
        )
    final_failures = scan.not_ok - scan.unfinished
    if final_failures > 0 and command == "rollback":
        argv = ["batchproxy", "rollback", str(results), "--resume", "--retry-failed"]
        commands.append((f"{final_failures} row(s) failed: retry them", shlex.join(argv)))
    elif final_failures > 0:
        failures = source.with_name(source.stem + ".failed.csv") if source else Path("INPUT.failed.csv")
        why = f"{final_failures} row(s) failed: re-apply them from the failure report"
        if commands:
            why += " (after the resumed run has finished)"
        commands.append((why, shlex.join(["batchproxy", command, str(failures)])))
    return tuple(commands)
