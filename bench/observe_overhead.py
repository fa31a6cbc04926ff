"""What watching a run costs: the timeline every run keeps, and ``--events``.

    python bench/observe_overhead.py [--rows 5000] [--reps 5] [--base COMMIT]

Two measurements:

1. In process: the observer calls the engine makes per row (one attempt, one answer; with events
   also one ``row_finished``), against the real ``Timeline`` and ``EventSink`` writing real files.
   This is the added cost per row in µs, free of network and scheduling noise.
2. End to end: ``batchproxy run --rate 0 --concurrency 64`` of ``--rows`` rows against an emulator
   subprocess, for the code at ``--base`` (before the wiring; unpacked with ``git archive`` and put
   first on ``PYTHONPATH``), this tree, and this tree with ``--events FILE``. Interleaved reps; the
   client's own CPU seconds come from ``os.wait4``. On a shared 2-core machine the spread between
   reps is larger than the difference: read (1) for the cost, (2) for "nothing got slower".

Writes ``bench/out/observe_overhead.json`` and ``.md``.
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

from _common import aws_env, emulator, run_measured, write_input

from batchproxy.report.domain import Domain
from batchproxy.report.events import EventSink
from batchproxy.report.observer import RunObserver
from batchproxy.report.timeline import Timeline

OUT = Path(__file__).resolve().parent / "out"
REPO = Path(__file__).resolve().parent.parent


def per_row_us(rows: int, *, events: bool, where: Path) -> float:
    """µs per row of the observer calls one row costs the engine (the same calls the caller makes)."""
    timeline = Timeline.open(where / "r.csv", command="run", resume=False)
    sink = EventSink.open(str(where / "events.jsonl"), overwrite=True) if events else EventSink.null()
    observer = RunObserver(sink, timeline)
    domain = Domain("profile", None, "us-east-1")
    started = time.perf_counter()
    for number in range(rows):
        observer.attempt(domain)
        sent = time.monotonic()
        observer.answer(domain, status=200, latency=time.monotonic() - sent + 0.05, request_id="r")
        if events:
            sink.row_finished(
                row=number + 1, status="ok", attempts=1, http_status=200, error_code="", duration_ms=50,
                domain=domain,
            )  # fmt: skip
        if number % 1000 == 0:
            observer.tick()
    elapsed = time.perf_counter() - started
    observer.finish(counts={"ok": rows}, exit_code=0)
    return elapsed / rows * 1e6


def unpack(commit: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "batchproxy"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def end_to_end(rows: int, reps: int, base: Path, where: Path) -> dict[str, list[dict[str, float]]]:
    source = write_input(where / "in.csv", rows)
    variants = {"base": (base, ()), "wired": (None, ()), "wired + --events": (None, ("--events", "EVENTS"))}
    found: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    with emulator() as emu:
        for rep in range(reps):
            for name, (path, extra) in variants.items():
                env = aws_env()
                if path is not None:
                    env["PYTHONPATH"] = str(path)
                results = where / f"{rep}-{name.replace(' ', '')}.csv"
                options = [arg.replace("EVENTS", str(results) + ".events") for arg in extra]
                command = [sys.executable, "-m", "batchproxy", "run", str(source), "--endpoint-url", emu.url]
                command += ["--rate", "0", "--concurrency", "64", "--results", str(results), *options]
                child = run_measured(command, env=env, timeout=600, log=where / "log.txt")
                assert child.exit_code == 0, child.stderr_tail
                found[name].append(
                    {
                        "wall_s": child.wall_seconds,
                        "cpu_us_per_row": child.cpu_seconds / rows * 1e6,
                        "rows_per_s": rows / child.wall_seconds,
                    }
                )
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--base", default="2d66e7f", help="commit before the observer was wired in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        micro = {
            "timeline": statistics.median(per_row_us(200_000, events=False, where=where) for _ in range(5)),
            "timeline + events": statistics.median(
                per_row_us(200_000, events=True, where=where) for _ in range(5)
            ),
        }
        base = unpack(args.base, Path(tempfile.mkdtemp(dir=tmp)))
        e2e = end_to_end(args.rows, args.reps, base, where)
    load = os.getloadavg()[0]
    OUT.mkdir(exist_ok=True)
    (OUT / "observe_overhead.json").write_text(json.dumps({"micro_us_per_row": micro, "e2e": e2e}, indent=2))
    lines = [
        "### Watching a run: added cost per row",
        "",
        f"In process (median of 5 × 200,000 rows): timeline {micro['timeline']:.2f} µs/row, "
        f"timeline + events {micro['timeline + events']:.2f} µs/row.",
        "",
        f"End to end: `run --rate 0 --concurrency 64`, {args.rows:,} rows, emulator subprocess, "
        f"{args.reps} interleaved reps (median, min–max); load average at the end {load:.2f}.",
        "",
        "| code | rows/s | CPU µs/row |",
        "| --- | ---: | ---: |",
    ]
    for name, runs in e2e.items():
        rate = [run["rows_per_s"] for run in runs]
        cpu = [run["cpu_us_per_row"] for run in runs]
        lines.append(
            f"| {name} | {statistics.median(rate):,.0f} ({min(rate):,.0f}–{max(rate):,.0f}) "
            f"| {statistics.median(cpu):,.0f} ({min(cpu):,.0f}–{max(cpu):,.0f}) |"
        )
    (OUT / "observe_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
