"""The summary's next steps are the commands that do what they say, and every line fits 80 columns."""

from __future__ import annotations

from pathlib import Path

from batchproxy.engine.stats import RunStats
from batchproxy.report.summary import Summary, render
from batchproxy.rows import Outcome, Status

RUN = ["batchproxy", "run", "in.csv", "--region", "us-east-1"]
RESUME = [*RUN, "--resume"]
RESEND = [*RUN, "--resume", "--retry-failed"]
RETRY = ["batchproxy", "run", "in.failed.csv", "--region", "us-east-1"]


def _stats(ok: int, failed: int = 0, skipped: int = 0, regions: int = 1) -> RunStats:
    stats = RunStats(total=ok + failed + skipped)
    counts = [(Status.OK, ok), (Status.FAILED, failed), (Status.SKIPPED, skipped)]
    outcomes = [status for status, n in counts for _ in range(n)]
    for i, status in enumerate(outcomes):
        key = (None if i % 2 else "production-payments-europe-blue", f"region-{i % regions}-1")
        stats.on_attempt(key)
        stats.on_outcome(key, Outcome(status=status, error_code="" if status is Status.OK else "X"))
    return stats


def _summary(stats: RunStats, **fields: object) -> str:
    defaults: dict[str, object] = {
        "command": "run",
        "results_path": Path("in.results.csv"),
        "failures_path": Path("in.failed.csv"),
        "resume_argv": RESUME,
        "retry_argv": RETRY,
        "resend_argv": RESEND,
    }
    return render(Summary(stats=stats, **{**defaults, **fields}))  # type: ignore[arg-type]


def _step(text: str, label: str) -> str | None:
    found = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith(f"  {label}:")]
    return found[0] if found else None


def test_after_failures_or_is_resume_with_retry_failed() -> None:
    """`retry:` runs the failure report; `or:` continues the results file AND sends failed rows again:
    `--resume` alone would take them as final and send nothing."""
    text = _summary(_stats(ok=3, failed=2))
    assert _step(text, "retry") == " ".join(RETRY)
    assert _step(text, "or") == " ".join(RESEND)
    assert _step(text, "resume") is None


def test_an_interrupted_run_offers_resume_and_with_failures_the_resend() -> None:
    """Interrupted: `resume:` continues; only if rows failed is `or: … --retry-failed` offered too."""
    clean = _summary(_stats(ok=3, skipped=4), interrupted=True, stop_reason="interrupted by SIGINT")
    assert _step(clean, "resume") == " ".join(RESUME)
    assert _step(clean, "or") is None
    failed = _summary(
        _stats(ok=3, failed=1, skipped=4), interrupted=True, stop_reason="interrupted by SIGINT"
    )
    assert _step(failed, "resume") == " ".join(RESUME)
    assert _step(failed, "or") == " ".join(RESEND)


def test_rollback_does_not_print_the_same_command_twice() -> None:
    """rollback's retry already is --resume --retry-failed: one line, not two."""
    text = _summary(_stats(ok=1, failed=1), retry_argv=RESEND)
    assert _step(text, "retry") == " ".join(RESEND)
    assert _step(text, "or") is None


def test_every_line_fits_80_columns_with_many_domains_and_a_long_stop_reason() -> None:
    """Domain lines from domain_table, a long stop reason and long commands: nothing over 80."""
    reason = "the first 5 requests for profile production-payments-europe-blue in eu-west-2 were all refused"
    long_argv = [*RUN, *(f"--option-{i}" for i in range(20))]
    text = _summary(
        _stats(ok=40, failed=7, regions=4),
        stop_reason=reason,
        retry_argv=long_argv,
        resend_argv=[*long_argv, "--resume", "--retry-failed"],
    )
    assert "  by profile/account and region:" in text
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert reason in " ".join(text.split())  # broken at spaces, every word kept
