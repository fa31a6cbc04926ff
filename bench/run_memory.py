"""Peak memory and throughput of a whole ``batchproxy run`` as the input grows (issue 3: memory stays flat).

For each size a CSV over four regions is generated, an emulator subprocess (``--auto-create``, no
throttling) is started, and ``batchproxy run INPUT --rate 0 --concurrency 64`` runs against it as a
grandchild: a small wrapper process starts it, waits for it and reports ``RUSAGE_CHILDREN``'s peak
RSS and CPU time, which are then exactly the batchproxy process's own (not the emulator's, and not
an earlier size's).

    python bench/run_memory.py [--sizes 10000,200000] [--concurrency 64]

What to look for: peak RSS about the same at 10k and 200k rows; every row ok.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.harness import aws_env, emulator  # noqa: E402 -- needs the repository on sys.path

HEADER = ["VoiceConnectorId", "Region", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries"]
HEADER += ["FallBackPhoneNumber", "Disabled"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-2", "ap-southeast-2"]
RUN_TIMEOUT = 900.0  # seconds for one size; 200k rows take a minute or two


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


def measure(scratch: Path, size: int, concurrency: int) -> dict[str, Any]:
    source = scratch / f"input-{size}.csv"
    generate(source, size)
    with emulator("--auto-create") as emu:
        argv = ["run", str(source), "--endpoint-url", emu.url, "--region", "us-east-1"]
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
    with (scratch / f"input-{size}.results.csv").open(encoding="utf-8", newline="") as results:
        ok = sum(1 for line in csv.DictReader(results) if line["status"] == "ok")
    result.update(rows=size, ok=ok, writes=writes)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--wrap", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.wrap is not None:
        wrapper(json.loads(options.wrap))
        return
    print(
        f"{'rows':>9} {'ok':>9} {'writes':>9} {'seconds':>8} {'CPU s':>7} {'rows/s':>8} {'peak RSS MB':>12}"
    )
    with tempfile.TemporaryDirectory(prefix="batchproxy-run-memory-") as scratch:
        for size in (int(text) for text in options.sizes.split(",")):
            row = measure(Path(scratch), size, options.concurrency)
            print(
                f"{size:>9,} {int(row['ok']):>9,} {int(row['writes']):>9,} {row['seconds']:>8.1f} "
                f"{row['cpu_seconds']:>7.1f} "
                f"{size / row['seconds']:>8.0f} {row['peak_mb']:>12.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
