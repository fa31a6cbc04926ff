"""`batchproxy report`: what the page says, what it never shows, and how it treats existing files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from batchproxy.report.command import default_report_path, write_report
from batchproxy.report.domain import Domain
from batchproxy.report.html import TOP_DOMAINS
from batchproxy.report.results_scan import EXAMPLES, scan_results
from batchproxy.report.timeline import Timeline
from tests.report_support import write_results

PHONE = "+12065550100"


def line(row: int, status: str, code: str = "", message: str = "", **extra: str) -> dict[str, str]:
    return {
        "row": str(row), "VoiceConnectorId": f"vc{row:04d}", "Region": "us-east-1",
        "DefaultSessionExpiryMinutes": "60", "PhoneNumberPoolCountries": "US", "FallBackPhoneNumber": PHONE,
        "status": status, "attempts": "1", "http_status": "200" if status == "ok" else "404",
        "error_code": code, "error_message": message, "duration_ms": "10",
        "finished_at": "2026-11-27T12:00:00.000Z", **extra,
    }  # fmt: skip


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "batchproxy", "report", *map(str, args)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_latest_line_wins_and_examples_are_bounded(tmp_path: Path) -> None:
    """An interrupted run's file can hold a row twice: its latest line counts, examples follow it."""
    lines = [line(i, "failed", "NotFoundException", "gone") for i in range(1, 21)]
    lines += [
        line(3, "ok"),
        line(21, "skipped"),
        line(22, "failed", "Timeout", "x", failure_kind="unknown_outcome"),
    ]
    scan = scan_results(write_results(tmp_path / "in.results.csv", lines))
    assert scan.counts == {"failed": 20, "ok": 1, "skipped": 1}
    assert scan.error_codes == {"NotFoundException": 19, "Timeout": 1, "(skipped)": 1}
    assert scan.unfinished == 2
    assert scan.lines == 23
    examples = scan.examples["NotFoundException"]
    assert len(examples) == EXAMPLES
    assert 3 not in [e.row for e in examples]


def test_page_escapes_and_never_shows_a_phone_number(tmp_path: Path) -> None:
    """Input settings columns stay out; a phone number quoted in a message is redacted; markup is escaped."""
    lines = [
        line(1, "ok"),
        line(
            2, "failed", "BadRequestException", f"FallBackPhoneNumber {PHONE} is not valid <script>x</script>"
        ),
    ]
    lines[1]["VoiceConnectorId"] = "<img src=x>"
    results = write_results(tmp_path / "in.results.csv", lines)
    page = write_report(results, tmp_path / "out.html").read_text("utf-8")
    assert "2065550100" not in page
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;img src=x&gt;" in page
    assert 'data-code="BadRequestException" data-count="1"' in page
    assert "batchproxy run " + str(tmp_path / "in.failed.csv") in page
    assert 'data-exit-code="1"' in page
    assert re.search(r"<(link|script|img|iframe)\b|url\(|https?://", page) is None, (
        "nothing loaded from outside"
    )


def test_interrupted_and_killed_runs_say_resume(tmp_path: Path) -> None:
    """Exit 130 from the timeline's end record, or no end record at all: the next command is --resume."""
    results = write_results(tmp_path / "in.results.csv", [line(1, "ok"), line(2, "skipped")])
    timeline = Timeline.open(results, command="run", resume=False, input=tmp_path / "in.csv")
    timeline.on_attempt(Domain("profile", None, "us-east-1"), 1_800_000_000.0)
    timeline.close(exit_code=130, reason="SIGINT")
    page = write_report(results, tmp_path / "a.html").read_text("utf-8")
    assert 'data-exit-code="130"' in page
    assert f"batchproxy run {tmp_path / 'in.csv'} --resume" in page
    Timeline.open(results, command="run", resume=True, input=tmp_path / "in.csv")  # then killed: no end
    page = write_report(results, tmp_path / "b.html").read_text("utf-8")
    assert 'data-exit-code="130"' in page
    assert "killed" in page


def test_every_row_ok_is_exit_zero_with_nothing_to_do(tmp_path: Path) -> None:
    results = write_results(tmp_path / "in.results.csv", [line(1, "ok"), line(2, "ok")])
    page = write_report(results, tmp_path / "out.html").read_text("utf-8")
    assert 'data-exit-code="0"' in page
    assert "Nothing to do" in page


def test_many_domains_get_a_table_and_charts_for_the_busiest(tmp_path: Path) -> None:
    """300 domains: TOP_DOMAINS charts (the busiest), and a table row for every one."""
    results = write_results(tmp_path / "in.results.csv", [line(1, "ok")])
    timeline = Timeline.open(results, command="run", resume=False)
    for i in range(300):
        domain = Domain("account", f"{i:012d}", "us-east-1")
        for n in range(i % 7 + 1):
            timeline.on_attempt(domain, 1_800_000_000.0 + n)
    timeline.close(exit_code=0)
    page = write_report(results, tmp_path / "out.html").read_text("utf-8")
    assert page.count('<div class="card"') == TOP_DOMAINS
    assert page.count('<tr data-domain="') == 300
    assert page.count("<svg") == 2 * TOP_DOMAINS


def test_command_refuses_to_overwrite_or_follow_a_symlink(tmp_path: Path) -> None:
    """Default path beside the results; an existing file needs --force; a symlink is refused; exit 2."""
    results = write_results(tmp_path / "in.results.csv", [line(1, "ok")])
    done = cli(results)
    target = default_report_path(results)
    assert done.returncode == 0, done.stderr
    assert target == tmp_path / "in.results.report.html"
    assert os.stat(target).st_mode & 0o777 == 0o600
    target.write_text("mine")
    done = cli(results)
    assert done.returncode == 2
    assert "--force" in done.stderr
    assert target.read_text() == "mine"
    assert cli(results, "--force").returncode == 0
    assert target.read_text().startswith("<!DOCTYPE html>")
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "link.html"
    link.symlink_to(victim)
    done = cli(results, "--out", link, "--force")
    assert done.returncode == 2
    assert "symbolic link" in done.stderr
    assert victim.read_text() == "keep"


@pytest.mark.parametrize("content", ["a,b\n1,2\n", ""])
def test_not_a_results_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    source = tmp_path / "x.csv"
    source.write_text(content)
    done = cli(source)
    assert done.returncode == 2
    assert "not a batchproxy results file" in done.stderr
    assert "Traceback" not in done.stderr
    missing = cli(tmp_path / "absent.csv")
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
