"""The final summary on stdout: what happened, where it is written, and what to run next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from batchproxy.engine.stats import RunStats
from batchproxy.principal import kinded, sort_key
from batchproxy.report.domain import Domain
from batchproxy.report.domain_table import DomainRow, domain_lines
from batchproxy.report.fit import WIDTH, command_lines, fit_line
from batchproxy.rows import Status

__all__ = ["Summary", "render"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    command: str  # the operation's command name, for the headline
    stats: RunStats
    results_path: Path | None
    failures_path: Path | None
    stop_reason: str | None = None
    interrupted: bool = False
    # The command line that continues this run (resume) or re-applies its failures; argv-style.
    resume_argv: Sequence[str] = ()
    retry_argv: Sequence[str] = ()
    notes: Sequence[str] = ()
    # --resume: rows an earlier run left not ok and this run did not send again; they are still not ok.
    earlier_not_ok: int = 0
    shard: str | None = None  # --shard: "2/4: 30 of 120 rows (per shard: …)"
    # Continue from the results file, sending the failed rows again too (--resume --retry-failed).
    resend_argv: Sequence[str] = ()


# A summary not shown on a terminal (a pipe, a file, a script reading it) keeps one line per fact, so
# that it can be searched line by line; on a terminal it is fitted to 80 columns.
UNWRAPPED = 1 << 30


def render(summary: Summary, *, width: int = WIDTH) -> str:
    """The summary, every line at most ``width`` columns (``UNWRAPPED``: one line per fact)."""
    stats = summary.stats
    lines = [f"batchproxy {summary.command}: {_headline(summary)}"]
    if summary.shard is not None:
        lines.append(f"  shard:    {summary.shard}")
    lines.append("  rows:     " + _status_counts(stats))
    if stats.already_done:
        lines.append(f"            ({stats.already_done} already final from an earlier run, not sent again)")
    if stats.error_codes:
        codes = ", ".join(f"{code} {n}" for code, n in stats.error_codes.most_common())
        lines.append(f"  errors:   {codes}")
    lines.append(
        f"  requests: {stats.attempts} sent, {stats.retries} retries, {stats.throttles} throttled (429); "
        f"{stats.elapsed:.1f} s, {stats.request_rate:.1f} req/s"
    )
    lines.extend(_domain_lines(stats))
    # A refusal that stopped the whole run is already the headline's reason: said once.
    refused = sorted((who, why) for who, why in stats.refused.items() if why != summary.stop_reason)
    lines.extend(f"  refused:  {who}: {why}" for who, why in refused)
    lines.extend(f"  note:     {note}" for note in summary.notes)
    if summary.results_path is not None:
        lines.append(f"  results:  {summary.results_path}")
    if summary.failures_path is not None:
        lines.append(f"  failures: {summary.failures_path}")
    # Every line fits 80 columns; the commands are fitted on their own, so a shell still reads them.
    fitted = [part for line in lines for part in fit_line(line, width=width)]
    return "\n".join(fitted + _next_steps(summary, width))


def _headline(summary: Summary) -> str:
    if summary.interrupted:
        return f"interrupted ({summary.stop_reason}); resumable"
    if summary.stop_reason:
        return f"stopped early: {summary.stop_reason}"
    if not _not_ok(summary):
        return "every row ok"
    return f"finished; {_not_ok(summary)} row(s) not ok"


def _not_ok(summary: Summary) -> int:
    stats = summary.stats
    return stats.done - stats.statuses[Status.OK] + summary.earlier_not_ok


def _status_counts(stats: RunStats) -> str:
    parts = [f"{stats.statuses[s]} {s.value}" for s in Status if stats.statuses[s] or s is Status.OK]
    return ", ".join(parts) + f" (of {stats.done})"


def _domain_lines(stats: RunStats) -> list[str]:
    """One line per (profile or account, region) when there is more than one, in 80 columns
    (``domain_table``): ``region``, ``profile/region`` or ``account/region``."""
    return domain_lines(
        [
            DomainRow(
                domain=Domain(*kinded(key)),
                ok=counts.rows[Status.OK],
                done=sum(counts.rows.values()),
                attempts=counts.attempts,
                throttles=counts.throttles,
                elapsed=counts.elapsed,
            )
            for key, counts in sorted(stats.domains.items(), key=lambda item: sort_key(item[0]))
        ]
    )


def _next_steps(summary: Summary, width: int) -> list[str]:
    """The commands that go on from here, each runnable exactly as printed.

    After failures, ``or:`` must re-send them: ``--resume`` alone takes a failed row as final and sends
    nothing, so the command offered is the one with ``--retry-failed``.
    """
    lines: list[str] = []
    if summary.interrupted and summary.resume_argv:
        lines += command_lines("resume", summary.resume_argv, width=width)
        if summary.stats.statuses[Status.FAILED] or summary.earlier_not_ok:
            lines += _resend_lines(summary, width)
    elif summary.retry_argv and _not_ok(summary):
        lines += command_lines("retry", summary.retry_argv, width=width)
        lines += _resend_lines(summary, width)
    return lines


def _resend_lines(summary: Summary, width: int) -> list[str]:
    argv = summary.resend_argv
    if not argv or list(argv) == list(summary.retry_argv):
        return []  # rollback: its retry command already is this one
    return command_lines("or", argv, width=width)
