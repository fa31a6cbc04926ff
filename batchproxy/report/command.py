"""``batchproxy report RESULTS.csv [--out PATH] [--force]``: write the run's HTML report.

Reads the results file in one streaming pass and the timeline beside it, and writes one self-contained
page. The page holds connector ids, so it is created 0600 like the results file; an existing file is
replaced only with ``--force``, and a symlink in its place is never followed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from batchproxy.errors import BatchproxyError, UsageError
from batchproxy.journal.files import PRIVATE_MODE, write_all
from batchproxy.report.html import render
from batchproxy.report.results_scan import scan_results
from batchproxy.report.timeline_read import read_timeline
from batchproxy.report.verdict import judge

__all__ = ["default_report_path", "report_command", "write_report"]

EXIT_USAGE = 2


def default_report_path(results: Path) -> Path:
    """``<dir>/<stem of RESULTS>.report.html``."""
    return results.with_name(results.stem + ".report.html")


def write_report(results: Path, out: Path, *, force: bool = False) -> Path:
    """Read ``results`` and its timeline, write the page to ``out``; returns ``out``."""
    scan = scan_results(results)
    timeline = read_timeline(results)
    page = render(scan, timeline, judge(scan, timeline, results), results=results)
    fd = _create(out, force=force)
    try:
        write_all(fd, page.encode("utf-8"))
    finally:
        os.close(fd)
    return out


def _create(path: Path, *, force: bool) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_TRUNC if force else os.O_EXCL
    if path.is_symlink():
        raise UsageError(f"{path} is a symbolic link; refusing to follow it")
    try:
        fd = os.open(path, flags, PRIVATE_MODE)
    except FileExistsError:
        raise UsageError(f"{path} exists; pass --force to replace it, or --out to write elsewhere") from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    os.fchmod(fd, PRIVATE_MODE)
    return fd


@click.command("report")
@click.argument("results", metavar="RESULTS.csv", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), help="Where to write; default <dir>/<stem>.report.html."
)
@click.option("--force", is_flag=True, help="Replace an existing report file.")
def report_command(results: Path, out: Path | None, force: bool) -> None:
    """Write one self-contained HTML page that shows the run behind RESULTS.csv."""
    target = out or default_report_path(results)
    try:
        write_report(results, target, force=force)
    except BatchproxyError as exc:
        click.echo(f"batchproxy: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(str(target))
