"""How long ``batchproxy report`` takes, and how big its page is, for a 1,000,000-row run.

The results file is synthetic but in the real format (the journal's ``Layout`` gives the header): 97%
ok, 2% failed over three error codes (messages quoting a phone number, as AWS's do), 1% skipped, half
the rows with a FallBackPhoneNumber. The timeline is written through the real ``Timeline`` API: four
domains over one hour, ~70 requests a second each, with 429s and a moving limiter rate. The report runs
five times as a child process (``batchproxy report … --force``); its wall time, CPU time and peak RSS
come from the kernel (``os.wait4``). Results go to ``bench/out/report_scale.{json,md}``.

    python bench/report_scale.py [--rows N] [--runs N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import aws_env, run_measured

from batchproxy.journal.layout import Layout
from batchproxy.report.domain import Domain
from batchproxy.report.timeline import Timeline, timeline_path

OUT = Path(__file__).parent / "out"
HEADER = ("VoiceConnectorId", "Region", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries",
          "FallBackPhoneNumber", "Disabled")  # fmt: skip
REGIONS = ("us-east-1", "us-west-2", "eu-west-2", "ap-southeast-2")
CODES = ("NotFoundException", "BadRequestException", "ServiceUnavailableException")
START = 1_800_000_000


def write_results(path: Path, rows: int) -> None:
    header = Layout.for_input(HEADER).results_header
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for n in range(1, rows + 1):
            writer.writerow(_line(n, header))


def _line(n: int, header: tuple[str, ...]) -> list[str]:
    phone = f"+1212555{n % 10000:04d}" if n % 2 else ""
    status, code, message, http = "ok", "", "", "200"
    if n % 100 in (1, 2):
        status, code, http = "failed", CODES[n % 3], ("404", "400", "503")[n % 3]
        message = f"Connector bench{n:012d}: the request with {phone or 'no number'} was refused."
    elif n % 100 == 3:
        status, code, message, http = "skipped", "NotAttempted", "the run was interrupted", ""
    cells = {
        "row": str(n), "VoiceConnectorId": f"bench{n:012d}", "Region": REGIONS[n % 4],
        "DefaultSessionExpiryMinutes": str(30 + n % 600), "PhoneNumberPoolCountries": ("US", "US;CA")[n % 2],
        "FallBackPhoneNumber": phone, "Disabled": ("true", "false", "")[n % 3], "status": status,
        "attempts": "0" if status == "skipped" else str(1 + n % 3), "http_status": http, "error_code": code,
        "error_message": message, "request_id": f"{n:08x}-0000-4000-8000-000000000000",
        "duration_ms": str(20 + n % 300), "finished_at": "2026-11-27T12:00:00.000Z",
        "fingerprint": f"{n:016x}",
    }  # fmt: skip
    return [cells.get(name, "") for name in header]


def write_timeline(results: Path, seconds: int, per_second: int) -> None:
    timeline = Timeline.open(results, command="run", resume=False, clock=lambda: float(START))
    domains = [Domain("profile", None, region) for region in REGIONS]
    for s in range(seconds):
        for d, domain in enumerate(domains):
            rate = 40.0 + 30.0 * ((s + 600 * d) % 900) / 900
            timeline.on_rate(domain, rate)
            for i in range(per_second):
                t = START + s + i / per_second
                timeline.on_attempt(domain, t)
                status = 429 if (i + s) % 23 == 0 else 200
                timeline.on_answer(domain, t, status, 0.02 + 0.0005 * ((i * 7 + s) % 200))
    timeline.close(exit_code=1)


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=False)
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = Path(scratch) / "bench.results.csv"
        began = time.monotonic()
        write_results(results, args.rows)
        write_timeline(results, args.seconds, per_second=70)
        print(f"inputs written in {time.monotonic() - began:.1f} s", flush=True)
        out = Path(scratch) / "bench.report.html"
        command = [sys.executable, "-m", "batchproxy", "report", str(results), "--out", str(out), "--force"]
        runs = []
        for n in range(args.runs):
            child = run_measured(command, env=aws_env(), timeout=600, log=Path(scratch) / f"run{n}.log")
            assert child.exit_code == 0, child.stderr_tail
            runs.append(child)
            print(
                f"run {n + 1}: {child.wall_seconds:.2f} s wall, {child.peak_rss_mb:.0f} MB peak", flush=True
            )
        raw = _raw(args, results, out, runs)
    emit(raw)


def _raw(args: argparse.Namespace, results: Path, out: Path, runs: list[Any]) -> dict[str, Any]:
    walls = [r.wall_seconds for r in runs]
    return {
        "benchmark": "report_scale",
        "rows": args.rows,
        "timeline": {
            "domains": len(REGIONS),
            "seconds": args.seconds,
            "bytes": timeline_path(results).stat().st_size,
        },
        "results_bytes": results.stat().st_size,
        "report_bytes": out.stat().st_size,
        "wall_seconds": {
            "median": statistics.median(walls),
            "min": min(walls),
            "max": max(walls),
            "runs": walls,
        },
        "cpu_seconds_median": statistics.median(r.cpu_seconds for r in runs),
        "peak_rss_mb_max": max(r.peak_rss_mb for r in runs),
        "commit": commit(),
        "python": sys.version.split()[0],
        "load_avg_1m_at_end": os.getloadavg()[0],
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def emit(raw: dict[str, Any]) -> None:
    wall = raw["wall_seconds"]
    text = (
        f"# batchproxy report, {raw['rows']:,} rows\n\n"
        "| results file | timeline | report page | wall s: median (min–max) of "
        f"{len(wall['runs'])} | CPU s (median) | peak RSS MB |\n|---|---|---|---|---|---|\n"
        f"| {raw['results_bytes'] / 1e6:.0f} MB | {raw['timeline']['bytes'] / 1e6:.1f} MB "
        f"({raw['timeline']['domains']} domains × {raw['timeline']['seconds']} s) | "
        f"{raw['report_bytes'] / 1e3:.0f} kB | {wall['median']:.2f} ({wall['min']:.2f}–{wall['max']:.2f}) | "
        f"{raw['cpu_seconds_median']:.2f} | {raw['peak_rss_mb_max']:.0f} |\n\n"
        f"commit {raw['commit']}, Python {raw['python']}, "
        f"load {raw['load_avg_1m_at_end']:.1f}, {raw['when']}\n"
    )
    OUT.mkdir(exist_ok=True)
    print(text)
    (OUT / "report_scale.md").write_text(text, encoding="utf-8")
    (OUT / "report_scale.json").write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
