"""Peak memory and time of validating an input file, as the number of rows grows.

For each size a CSV is generated once, then a fresh Python process (so that one measurement cannot
inherit another's heap) runs ``input.scan`` and streams ``Scan.rows()`` through to the end, the way
a run does, and reports its own peak RSS from ``resource.getrusage``. The ``repeated`` layout writes
every connector twice, the worst case for the duplicate check: every row is a duplicate, every row
is invalid, and the invalid report is written too.

    python bench/input_memory.py [--sizes 10000,100000,1000000] [--layout unique|repeated|both] [--reps 5]

Sizes and layouts are interleaved within each repetition; the table gives the median and (min-max),
and ``bench/out/input_memory.json`` / ``.md`` record them with the commit, versions and load.

What to look for: RSS flat from 100k to 1M rows (issue 13: within 5 MB).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEADER = ["VoiceConnectorId", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries"]
HEADER += ["FallBackPhoneNumber", "Disabled", "Region"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-2", "ap-southeast-2"]


def generate(path: Path, rows: int, *, repeated: bool) -> None:
    """Realistic rows: 22-character ids like AWS's, fictional 555-01xx numbers, four regions."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for number in range(rows):
            connector = number // 2 if repeated else number
            writer.writerow(
                [
                    f"bench{connector:017d}",
                    str(30 + number % 600),
                    "US;CA" if number % 3 else "GB;IE;FR",
                    f"+1212555{number % 100 + 100:04d}" if number % 2 else "",
                    ("true", "false", "")[number % 3],
                    REGIONS[connector % len(REGIONS)],
                ]
            )


def child(path: Path) -> None:
    """Runs in the measured process: scan, write the report if invalid, stream every row."""
    from batchproxy.input import invalid_report_path, scan  # noqa: PLC0415 -- only the child pays for it

    started = time.perf_counter()
    result = scan(path, default_region=None, needs_settings=True)
    scanned = time.perf_counter()
    if not result.ok:
        result.write_invalid_report(invalid_report_path(path))
    streamed = sum(1 for _ in result.rows())
    finished = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    report = {
        "rows": streamed,
        "problems": result.problem_count,
        "scan_s": scanned - started,
        "total_s": finished - started,
        "peak_mb": peak_kib / 1024,
    }
    print(json.dumps(report))


def measure(path: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", str(path)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--layout", choices=["unique", "repeated", "both"], default="both")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child is not None:
        child(options.child)
        return
    # Only here: the measured child must not pay for the helpers' imports (the emulator's among them).
    from _common import environment, interleaved, provenance, publish, spread_text  # noqa: PLC0415

    env = environment()
    layouts = ["unique", "repeated"] if options.layout == "both" else [options.layout]
    sizes = [int(size) for size in options.sizes.split(",")]
    labels = [f"{layout} {size}" for layout in layouts for size in sizes]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    with tempfile.TemporaryDirectory() as scratch:
        paths = {}
        for label in labels:
            layout, size = label.split()
            paths[label] = Path(scratch) / f"{layout}-{size}.csv"
            generate(paths[label], int(size), repeated=layout == "repeated")
        for rep, label in interleaved(labels, options.reps):
            runs[label].append(measure(paths[label]) | {"rep": rep})
            print(f"rep {rep + 1}: {label}: {runs[label][-1]['peak_mb']:.1f} MB", file=sys.stderr, flush=True)
    lines = [
        "| layout | rows | problems | scan s | total s | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label in labels:
        layout, size = label.split()
        done = runs[label]
        cells = [layout, f"{int(size):,}", spread_text([r["problems"] for r in done])]
        cells += [spread_text([r["scan_s"] for r in done], "{:.1f}")]
        cells += [spread_text([r["total_s"] for r in done], "{:.1f}")]
        cells += [spread_text([r["peak_mb"] for r in done], "{:.1f}")]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n\n" + provenance(env, options.reps)
    publish("input_memory", text, {"environment": env, "reps": options.reps, "runs": runs})


if __name__ == "__main__":
    main()
