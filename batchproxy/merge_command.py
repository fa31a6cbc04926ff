"""``batchproxy merge``: the shards' results files joined into one results file and failure report.

Exit codes as ``run`` (docs/reference.md §5, §12): 0 every row ok, 1 merged with rows not ok, 2 refused
(nothing
written), 130 interrupted (nothing written: the merged file is renamed into place only when complete).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from batchproxy.errors import BatchproxyError
from batchproxy.merge import MergeResult, merge
from batchproxy.rows import Status

__all__ = ["merge_command"]

EXIT_OK, EXIT_NOT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@click.command("merge")
@click.argument("shard_files", metavar="RESULTS...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--results", type=click.Path(path_type=Path), help="Merged results file path.")
@click.option("--failures", type=click.Path(path_type=Path), help="Merged failure report path.")
@click.option("--force", is_flag=True, help="Overwrite existing merged files.")
def merge_command(
    shard_files: tuple[Path, ...], results: Path | None, failures: Path | None, force: bool
) -> None:
    """Join the results files of every shard of a --shard run, in row order."""
    try:
        outcome = merge(shard_files, results, failures, force=force)
    except BatchproxyError as exc:
        click.echo(f"batchproxy: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("batchproxy: merge interrupted; nothing was written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    click.echo(_summary(outcome))
    sys.exit(EXIT_OK if outcome.all_ok else EXIT_NOT_OK)


def _summary(outcome: MergeResult) -> str:
    counts = ", ".join(f"{outcome.counts[s]} {s.value}" for s in Status if outcome.counts[s])
    return (
        f"merged {outcome.shards} shards: {outcome.lines} rows ({counts or 'none'})\n"
        f"results:  {outcome.results_path}\n"
        f"failures: {outcome.failures_path} ({outcome.failures} rows)"
    )
