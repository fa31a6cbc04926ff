"""The final summary on stdout: what happened, where it is written, and what to run next."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from batchproxy.engine.stats import RunStats
from batchproxy.principal import kind_of, label, sort_key
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


def render(summary: Summary) -> str:
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
    lines.extend(_next_steps(summary))
    return "\n".join(lines)


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
    """One line per (profile or account, region) when there is more than one: ``region``, or
    ``profile/region``, or ``account/region``."""
    if len(stats.domains) < 2:
        return []
    accounts = any(kind_of(principal) == "account" for principal, _ in stats.domains)
    lines = ["  by (profile or account, region):" if accounts else "  by (profile, region):"]
    for key in sorted(stats.domains, key=sort_key):
        counts = stats.domains[key]
        done = sum(counts.rows.values())
        rate = counts.attempts / counts.elapsed if counts.elapsed else 0.0
        name = label(key)
        lines.append(
            f"    {name:<16} {counts.rows[Status.OK]:>7} ok of {done:<7} "
            f"{counts.attempts:>7} requests {counts.throttles:>6} throttled "
            f"{counts.elapsed:8.1f} s {rate:8.1f} req/s"
        )
    return lines


def _next_steps(summary: Summary) -> list[str]:
    if summary.interrupted and summary.resume_argv:
        return [f"  resume:   {shlex.join(summary.resume_argv)}"]
    if summary.retry_argv and _not_ok(summary):
        lines = [f"  retry:    {shlex.join(summary.retry_argv)}"]
        if summary.resume_argv:
            lines.append(f"  or:       {shlex.join(summary.resume_argv)}")
        return lines
    return []
