"""Peak memory and throughput of a whole ``batchproxy run`` as the input grows (issue 3: memory stays flat).

For each size a CSV over four regions is generated, an emulator subprocess (``--auto-create``, no
throttling) is started, and ``batchproxy run INPUT --rate 0 --concurrency 64`` runs against it as a
grandchild: a small wrapper process starts it, waits for it and reports ``RUSAGE_CHILDREN``'s peak
RSS and CPU time, which are then exactly the batchproxy process's own (not the emulator's, and not
an earlier size's).

    python bench/run_memory.py [--sizes 10000,200000] [--concurrency 64] [--reps 5]

Sizes are interleaved within each repetition (the order rotates); the table gives the median and
(min-max) over the repetitions, and ``bench/out/run_memory.json`` / ``.md`` record them with the commit,
versions and load. A size of 500,000 rows or more runs once, whatever ``--reps`` says: 1,000,000 rows
take about 15 minutes on two cores.

What to look for: peak RSS about the same at every size (issue 13: 1M within 5 MB of 100k); every row ok.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import environment, interleaved, provenance, publish, spread, spread_text  # noqa: E402

from tests.e2e.harness import aws_env, emulator  # noqa: E402 -- needs the repository on sys.path

HEADER = ["VoiceConnectorId", "Region", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries"]
HEADER += ["FallBackPhoneNumber", "Disabled"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-2", "ap-southeast-2"]
RUN_TIMEOUT = 2400.0  # seconds for one size; 200k rows take a minute or two, 1M about 15 minutes
ONCE_FROM = 500_000  # rows from which a size runs in one repetition only


def generate(path: Path, rows: int) -> None:
    """Realistic rows: 22-character ids, fictional 555-01xx numbers, four regions."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(HEADER)
        for number in range(rows):
            writer.writerow(
                [
                    f"bench{number:017d}",
                    REGIONS[number % len(REGIONS)],
                    str(30 + number % 600),
                    "US;CA" if number % 3 else "GB;IE;FR",
                    f"+1212555{number % 100 + 100:04d}" if number % 2 else "",
                    ("true", "false", "")[number % 3],
                ]
            )


def wrapper(argv: list[str]) -> None:
    """Runs in the wrapper process: start batchproxy, wait, report its exit code, time and peak RSS."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "batchproxy", *argv],
        env=aws_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report: dict[str, object] = {
        "exit": done.returncode,
        "seconds": elapsed,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,  # KiB on Linux
    }
    if done.returncode != 0:
        report["stderr"] = done.stderr[-2000:]
    print(json.dumps(report))


def measure(source: Path, size: int, concurrency: int) -> dict[str, Any]:
    with emulator("--auto-create") as emu:
        argv = ["run", str(source), "--endpoint-url", emu.url, "--region", "us-east-1", "--force"]
        argv += ["--rate", "0", "--concurrency", str(concurrency), "--log-format", "json"]
        output = subprocess.run(
            [sys.executable, __file__, "--wrap", json.dumps(argv)],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT + 30,
            check=True,
        ).stdout
        writes = emu.stats()["accepted_writes"].get("PutVoiceConnectorProxy", 0)
    result: dict[str, Any] = json.loads(output)
    if result["exit"] != 0:
        raise SystemExit(f"batchproxy exited {result['exit']} at {size} rows:\n{result.get('stderr', '')}")
    with source.with_name(f"input-{size}.results.csv").open(encoding="utf-8", newline="") as results:
        ok = sum(1 for line in csv.DictReader(results) if line["status"] == "ok")
    result.update(rows=size, ok=ok, writes=writes)
    return result


def table(sizes: list[int], runs: dict[int, list[dict[str, Any]]]) -> str:
    lines = [
        "| rows | runs | rows ok | writes | wall s | CPU s / 1k rows | rows/s | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        done = runs[size]
        cells = [
            f"{size:,}",
            str(len(done)),
            spread_text([r["ok"] for r in done]),
            spread_text([r["writes"] for r in done]),
            spread_text([r["seconds"] for r in done], "{:,.1f}"),
            spread_text([r["cpu_seconds"] / size * 1000 for r in done], "{:.2f}"),
            spread_text([size / r["seconds"] for r in done]),
            spread_text([r["peak_mb"] for r in done], "{:.1f}"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--wrap", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.wrap is not None:
        wrapper(json.loads(options.wrap))
        return
    env = environment()
    sizes = [int(text) for text in options.sizes.split(",")]
    runs: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    with tempfile.TemporaryDirectory(prefix="batchproxy-run-memory-") as scratch:
        sources = {}
        for size in sizes:
            sources[size] = Path(scratch) / f"input-{size}.csv"
            generate(sources[size], size)
        for rep, label in interleaved([str(size) for size in sizes], options.reps):
            size = int(label)
            if size >= ONCE_FROM and rep > 0:
                continue
            row = measure(sources[size], size, options.concurrency)
            runs[size].append(row | {"rep": rep})
            print(
                f"rep {rep + 1}: {size:>9,} rows, {int(row['ok']):,} ok, {row['seconds']:.1f} s, "
                f"{row['cpu_seconds']:.1f} CPU s, peak RSS {row['peak_mb']:.1f} MB",
                file=sys.stderr,
                flush=True,
            )
    text = f"`batchproxy run --rate 0 --concurrency {options.concurrency}`, four regions, whole process.\n\n"
    text += table(sizes, runs) + "\n\n"
    text += provenance(env, options.reps, up_to=True, aside=f"sizes from {ONCE_FROM:,} rows once")
    raw = {
        "environment": env | {"load_average_at_end": os.getloadavg()},
        "reps": options.reps,
        "runs": {str(size): runs[size] for size in sizes},
        "peak_rss_mb": {str(size): spread([r["peak_mb"] for r in runs[size]]) for size in sizes},
    }
    publish("run_memory", text, raw)


if __name__ == "__main__":
    main()
