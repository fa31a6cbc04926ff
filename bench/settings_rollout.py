"""A logging rollout next to a proxy rollout: does another setting cost more per row? (issue 11).

    python bench/settings_rollout.py [--rows 10000] [--reps 5] [--settings proxy,logging]
                                     [--source DIR] [--label NAME]

Each run is a whole ``batchproxy run INPUT --setting S --rate 0 --concurrency 64`` subprocess against
one emulator subprocess (``--auto-create``, no throttling), its wall time, CPU time and peak RSS
measured by ``os.wait4``. rows/s is the input's rows over the whole process's wall time (start-up,
validation and the results file included: what an operator waits for). The settings are interleaved
within each repetition, the order rotating, so a slow spell of the shared machine spreads over both.
Writes ``bench/out/settings-rollout[-LABEL].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Child, emulator, environment, run_measured, write_input

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
REGION = "us-east-1"


def write_logging(path: Path, rows: int) -> Path:
    """``rows`` distinct logging rows in one region (one rate domain), flags varied."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["VoiceConnectorId", "Region", "EnableSIPLogs", "EnableMediaMetricLogs"])
        for n in range(rows):
            writer.writerow(
                [f"bench{n:017d}", REGION, ("true", "false")[n % 2], ("true", "false", "")[n % 3]]
            )
    return path


INPUTS = {"proxy": write_input, "logging": write_logging}


def one_run(work: Path, url: str, setting: str, *, source: Path, timeout: float) -> Child:
    """One whole ``batchproxy run`` of the setting's rows."""
    command = [sys.executable, "-m", "batchproxy", "run", str(work / f"{setting}.csv"), "--setting", setting]
    command += [
        "--endpoint-url",
        url,
        "--rate",
        "0",
        "--concurrency",
        "64",
        "--force",
        "--log-format",
        "json",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PYTHONPATH=str(source),
        AWS_ACCESS_KEY_ID="AKIDBENCHBATCHPROXY1",
        AWS_SECRET_ACCESS_KEY="bench-secret-not-checked",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return run_measured(command, env=env, timeout=timeout, log=work / f"run-{setting}.log")


def summarize(runs: dict[str, list[Child]], rows: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for setting, children in runs.items():
        rates = [rows / c.wall_seconds for c in children if c.exit_code == 0]
        walls = [c.wall_seconds for c in children]
        found[setting] = {
            "rows_per_s": {"median": statistics.median(rates), "min": min(rates), "max": max(rates)}
            if rates
            else None,
            "wall_s": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)},
            "cpu_s_median": statistics.median(c.cpu_seconds for c in children),
            "rss_mb_median": statistics.median(c.peak_rss_mb for c in children),
            "exit_codes": sorted({c.exit_code for c in children}),
        }
    return found


def markdown(result: dict[str, Any]) -> str:
    env = result["environment"]
    lines = [
        f"{result['rows']:,} rows, `--rate 0 --concurrency 64`, one emulator subprocess, median of "
        f"{result['reps']} interleaved runs (min–max); commit {env['commit'][:10]}, load "
        f"{env['load_average_at_start'][0]:.1f} → {env['load_average_after'][0]:.1f} on {env['cpus']} CPUs",
        "",
        "| setting | rows/s | wall s | CPU s | peak RSS MB | exit |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for setting, row in result["by_setting"].items():
        rate, wall = row["rows_per_s"], row["wall_s"]
        shown = "—" if rate is None else f"{rate['median']:.0f} ({rate['min']:.0f}–{rate['max']:.0f})"
        exits = ",".join(map(str, row["exit_codes"]))
        lines.append(
            f"| {setting} | {shown} | {wall['median']:.2f} ({wall['min']:.2f}–{wall['max']:.2f}) "
            f"| {row['cpu_s_median']:.2f} | {row['rss_mb_median']:.0f} | {exits} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--settings", default="proxy,logging")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--source", type=Path, default=REPO, help="checkout whose batchproxy runs")
    parser.add_argument("--label", default="", help="suffix of the output files")
    args = parser.parse_args()
    chosen = args.settings.split(",")
    if unknown := [s for s in chosen if s not in INPUTS]:
        parser.error(f"no input writer for {', '.join(unknown)} (have {', '.join(INPUTS)})")
    runs: dict[str, list[Child]] = {s: [] for s in chosen}
    env_info = environment(args.source.resolve())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="batchproxy-settings-") as temp, emulator() as emu:
        work = Path(temp)
        for setting in chosen:
            INPUTS[setting](work / f"{setting}.csv", args.rows)
        for rep in range(args.reps):
            order = chosen[rep % len(chosen) :] + chosen[: rep % len(chosen)]
            for setting in order:
                child = one_run(work, emu.url, setting, source=args.source.resolve(), timeout=args.timeout)
                runs[setting].append(child)
                rate = args.rows / child.wall_seconds
                print(
                    f"rep {rep + 1} {setting}: {child.wall_seconds:.2f} s, {rate:.0f} rows/s, "
                    f"exit {child.exit_code}",
                    file=sys.stderr,
                )
                if child.exit_code != 0:
                    print(child.stderr_tail, file=sys.stderr)
    result: dict[str, Any] = {"by_setting": summarize(runs, args.rows)}
    result["environment"] = env_info | {"load_average_after": os.getloadavg()}
    result["rows"], result["reps"] = args.rows, args.reps
    result["seconds"] = time.monotonic() - started
    OUT.mkdir(exist_ok=True)
    stem = "settings-rollout" + (f"-{args.label}" if args.label else "")
    (OUT / f"{stem}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    table = markdown(result)
    (OUT / f"{stem}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
