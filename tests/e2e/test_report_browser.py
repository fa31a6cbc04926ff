"""The report in a real browser: headless Chromium opens it from disk with the network blocked.

The results files come from real runs (the CLI as a subprocess against the emulator subprocess, over
loopback): one with throttling and failures, one interrupted by SIGINT and then resumed. The timeline
the report draws is the one those runs wrote beside their results file.

In the e2e tier: a browser and four CLI runs take about half a minute.
"""

from __future__ import annotations

import asyncio
import csv
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.cdp import Page, chromium, have_chromium
from tests.e2e.harness import aws_env, emulator, make_rows, run_cli, start_cli, stop_process, write_csv
from tests.report_support import png_pixels

pytestmark = pytest.mark.skipif(not have_chromium(), reason="needs Debian's chromium (.ci/run installs it)")

LAPTOP, NARROW = (1280, 800), (560, 900)
# What the page holds, read back through the DOM.
READ_BACK = """(() => {
  const counts = {};
  for (const row of document.querySelectorAll('#counts tr[data-status]'))
    counts[row.dataset.status] = Number(row.cells[1].textContent);
  const totals = {};
  for (const path of document.querySelectorAll('#charts path[data-total]'))
    totals[path.dataset.series] = (totals[path.dataset.series] || 0) + Number(path.dataset.total);
  const failures = {};
  for (const s of document.querySelectorAll('section.failure'))
    failures[s.dataset.code] = {count: Number(s.dataset.count),
      rows: [...s.querySelectorAll('tr')].slice(1).map(tr => Number(tr.cells[0].textContent))};
  return {counts, totals, failures,
          exit: Number(document.querySelector('#verdict').dataset.exitCode),
          commands: [...document.querySelectorAll('pre.command')].map(p => p.textContent),
          segments: document.querySelectorAll('#segments tr').length - 1,
          cards: document.querySelectorAll('#charts .card').length,
          titles: [...document.querySelectorAll('#charts path title')].map(t => t.textContent)};
})()"""


def results_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def throttles_in_summary(stdout: str) -> int:
    found = re.search(r"(\d+) throttled \(429\)", stdout)
    assert found, stdout
    return int(found.group(1))


async def look(page: Page, report: Path, shots: Path, name: str) -> dict[str, Any]:
    """Open the report at laptop and narrow widths; read it back; screenshot; check nothing left the file."""
    page.requests.clear()
    page.console_errors.clear()
    await page.open(report.as_uri(), width=LAPTOP[0], height=LAPTOP[1])
    seen: dict[str, Any] = await page.evaluate(READ_BACK)
    (shots / f"{name}.png").write_bytes(await page.screenshot())
    pdf = await page.call("Page.printToPDF", printBackground=True)
    assert len(pdf["data"]) > 1000, "the page prints"
    await page.open(report.as_uri(), width=NARROW[0], height=NARROW[1])
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px in a {NARROW[0]}px window"
    (shots / f"{name}-narrow.png").write_bytes(await page.screenshot())
    assert page.console_errors == []
    assert set(page.requests) == {report.as_uri()}, page.requests
    return seen


def assert_not_blank(png: bytes) -> None:
    """Many colours (text, green/red/blue chart lines), a fair share of non-white pixels."""
    width, height, rows = png_pixels(png)
    assert (width, height) == LAPTOP
    channels = len(rows[0]) // width
    colours: Counter[bytes] = Counter()
    for row in rows[::2]:
        for x in range(0, len(row), channels * 2):
            colours[row[x : x + 3]] += 1
    non_white = sum(n for colour, n in colours.items() if min(colour) < 235) / sum(colours.values())
    assert len(colours) > 20, len(colours)
    assert non_white > 0.02, non_white


def run_with_throttling_and_failures(tmp_path: Path) -> tuple[Path, int]:
    """60 rows over two regions; one in 7 unknown to the service (404); the service takes 15 req/s."""
    rows = make_rows(60, regions=("us-east-1", "eu-west-2"))
    source = write_csv(tmp_path / "in.csv", rows)
    known = write_csv(tmp_path / "known.csv", [row for i, row in enumerate(rows) if i % 7])
    with emulator("--rate", "15", "--connectors", str(known)) as emu:
        done = run_cli(
            "run", source, "--endpoint-url", emu.url, "--region", "us-east-1", "--rate", "0", "--force"
        )
    assert done.returncode == 1, done.stdout + done.stderr
    return tmp_path / "in.results.csv", throttles_in_summary(done.stdout)


def test_report_of_a_throttled_run_in_chromium(tmp_path: Path) -> None:
    """Counts, throttles and failures read back from the rendered page equal the run's own numbers."""
    results, throttled = run_with_throttling_and_failures(tmp_path)
    made = run_cli("report", results)
    assert made.returncode == 0, made.stderr
    report = Path(made.stdout.strip())
    seen = asyncio.run(_look_once(report, tmp_path))
    lines = results_rows(results)
    statuses = Counter(line["status"] for line in lines)
    assert {k: v for k, v in seen["counts"].items() if v and k != "total"} == dict(statuses)
    assert seen["counts"]["total"] == len(lines) == 60
    assert seen["exit"] == 1
    assert seen["totals"]["accepted"] == statuses["ok"]
    assert seen["totals"]["throttled"] == throttled > 0
    failed = {line["row"] for line in lines if line["status"] == "failed"}
    assert seen["failures"]["NotFoundException"]["count"] == len(failed)
    assert 0 < len(seen["failures"]["NotFoundException"]["rows"]) <= 5
    assert {str(r) for r in seen["failures"]["NotFoundException"]["rows"]} <= failed
    assert seen["commands"] == [f"batchproxy run {tmp_path / 'in.failed.csv'}"]
    assert seen["cards"] == 2
    assert any("429s/s: peak" in title for title in seen["titles"])
    assert_not_blank((tmp_path / "report.png").read_bytes())
    assert "+1206555" not in report.read_text("utf-8")


async def _look_once(report: Path, shots: Path) -> dict[str, Any]:
    async with chromium(shots / "profile") as page:
        return await look(page, report, shots, "report")


def test_report_of_an_interrupted_then_resumed_run(tmp_path: Path) -> None:
    """SIGINT mid-run: the page says exit 130 and --resume; after the resume: both segments, every row."""
    rows = make_rows(40)
    source = write_csv(tmp_path / "in.csv", rows)
    results = tmp_path / "in.results.csv"
    with emulator("--latency", "150ms", "--connectors", str(source)) as emu:
        run: list[str | Path] = [
            "run",
            source,
            "--endpoint-url",
            emu.url,
            "--region",
            "us-east-1",
            "--concurrency",
            "2",
        ]
        process = start_cli(*run, env=aws_env())
        try:
            deadline = time.monotonic() + 30
            while (
                not results.exists() or results.read_text().count("\n") < 6
            ) and time.monotonic() < deadline:
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)
        finally:
            stop_process(process)
        assert process.returncode == 130
        first = tmp_path / "first.html"
        assert run_cli("report", results, "--out", first).returncode == 0
        resumed = run_cli(*run, "--resume")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    second = tmp_path / "second.html"
    assert run_cli("report", results, "--out", second).returncode == 0
    before, after = asyncio.run(_look_twice(first, second, tmp_path))
    assert before["exit"] == 130
    assert before["counts"]["skipped"] > 0
    assert before["commands"] == [f"batchproxy run {source} --resume"]
    assert after["exit"] == 0
    assert after["counts"]["ok"] == after["counts"]["total"] == 40
    assert after["segments"] == 2
    assert after["totals"]["accepted"] == 40
    assert_not_blank((tmp_path / "resumed.png").read_bytes())


async def _look_twice(first: Path, second: Path, shots: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    async with chromium(shots / "profile") as page:
        return await look(page, first, shots, "interrupted"), await look(page, second, shots, "resumed")
