"""Rows/s of one rollout split over 1, 2 and 4 ``--shard`` processes, on many domains, one emulator.

    python bench/shards.py [--rows 6000] [--domains 64] [--reps 5] [--shards 1,2,4]

The input spreads ``--rows`` rows over ``--domains`` (profile, region) domains (real AWS config and
credentials files, as bench/domains.py writes them), so each shard gets whole domains and about
1/N of the rows. Each run starts N ``batchproxy run INPUT --shard I/N --rate 0 --concurrency 64``
processes at once against one emulator subprocess (``--auto-create``, no throttling) and takes the
wall time until the last one exits; rows/s is the input's rows over that time. Shard counts are
interleaved within each repetition. CPU seconds are each process's own (``os.wait4``), summed.

What it can show on a 2-core machine: whether one process is CPU-bound (it is: ``--rate 0`` with
no service limit leaves nothing else to wait for) and whether a second process on the second core
adds throughput. What it cannot: N machines. Two shards already share the two cores with the
emulator, which answers every request on one core of its own, so 4 shards can only compete for the
same CPU; on N real machines each shard has its own cores and AWS is the emulator. Process start
(~1.5 s of imports per shard) is inside the wall time, as it would be for a pod.

Writes ``bench/out/shards.json`` and ``bench/out/shards.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import emulator
from domains import write_aws_files, write_rows

OUT = Path(__file__).resolve().parent / "out"


def run_shards(source: Path, url: str, count: int, *, env: dict[str, str], work: Path) -> dict[str, Any]:
    """N shard processes at once; wall time until the last exits, CPU seconds of all of them."""
    work.mkdir()
    started = time.monotonic()
    children = []
    for index in range(1, count + 1):
        results = work / f"r.shard-{index}-of-{count}.csv"
        command = [sys.executable, "-m", "batchproxy", "run", str(source), "--endpoint-url", url]
        command += ["--rate", "0", "--concurrency", "64", "--shard", f"{index}/{count}"]
        command += ["--results", str(results), "--failures", str(work / f"f{index}.csv")]
        with (work / f"log-{index}.txt").open("wb") as log:
            children.append(
                subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            )
    cpu, codes = 0.0, []
    deadline = started + 900
    for child in children:
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.02)
        child.returncode = os.waitstatus_to_exitcode(status)
        codes.append(child.returncode)
        cpu += usage.ru_utime + usage.ru_stime
    wall = time.monotonic() - started
    return {"wall_s": wall, "cpu_s": cpu, "exit_codes": codes}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--domains", type=int, default=64)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--shards", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.shards.split(",")]
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = write_aws_files(work)
        source = write_rows(work / "in.csv", args.rows, args.domains)
        with emulator() as emu:
            for rep in range(args.reps):
                for count in counts[rep % len(counts) :] + counts[: rep % len(counts)]:
                    run = run_shards(source, emu.url, count, env=env, work=work / f"{rep}-{count}")
                    assert set(run["exit_codes"]) == {0}, (count, run, (work / f"{rep}-{count}").iterdir())
                    runs[count].append(run)
                    print(
                        f"rep {rep + 1}: {count} shard(s) {args.rows / run['wall_s']:.0f} rows/s", flush=True
                    )
    table = summarize(runs, args.rows)
    OUT.mkdir(exist_ok=True)
    document = {"rows": args.rows, "domains": args.domains, "reps": args.reps, "cpus": os.cpu_count(),
                "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
                "by_shards": table, "runs": runs}  # fmt: skip
    (OUT / "shards.json").write_text(json.dumps(document, indent=2))
    lines = [
        f"### Shards: {args.rows:,} rows over {args.domains} domains, one emulator, {os.cpu_count()} cores",
        "",
        f"`run --rate 0 --concurrency 64 --shard I/N`, N processes at once; {args.reps} interleaved reps, "
        f"median (min–max). Load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after.",
        "",
        "| shards | rows/s | vs 1 shard | wall s | CPU s (all shards) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    one = table[counts[0]]["rows_per_s"]["median"]
    for count, row in table.items():
        rate, wall = row["rows_per_s"], row["wall_s"]
        lines.append(
            f"| {count} | {rate['median']:,.0f} ({rate['min']:,.0f}–{rate['max']:,.0f}) | "
            f"{rate['median'] / one:.2f}× | {wall['median']:.1f} | {row['cpu_s_median']:.1f} |"
        )
    (OUT / "shards.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def summarize(runs: dict[int, list[dict[str, Any]]], rows: int) -> dict[int, dict[str, Any]]:
    table: dict[int, dict[str, Any]] = {}
    for count, found in runs.items():
        rates = [rows / run["wall_s"] for run in found]
        walls = [run["wall_s"] for run in found]
        table[count] = {
            "rows_per_s": {"median": statistics.median(rates), "min": min(rates), "max": max(rates)},
            "wall_s": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)},
            "cpu_s_median": statistics.median(run["cpu_s"] for run in found),
        }
    return table


if __name__ == "__main__":
    main()
