"""The rate controller alone, repeated: batchproxy against the emulator, interleaved across code versions.

    python bench/rate_runs.py --scenario b --repeat 5 --variant before=/tmp/old-tree --variant after=

compare.py compares batchproxy with other clients; a controller change needs interleaved runs of
before and after on the same (shared, noisy) machine, and only batchproxy (5 of each by default). A
variant is ``label=SOURCE``: SOURCE is a directory holding an older ``batchproxy`` package (e.g.
``git archive REV batchproxy | tar -x -C DIR``), or empty for the installed one. Scenarios a and b
are compare.py's; ``r`` is capacity 100/s whose 429s carry ``Retry-After: 2`` (issue 10), with few
workers (``--concurrency 4``) and no added latency, so that rows waiting out a Retry-After leave the
domain idle. Each run prints one JSON line (also appended to ``bench/out/rate_runs.jsonl``); the end
prints per (scenario, variant) the median and min-max.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import aws_env, emulator, run_measured, write_input
from compare import OUT, PUT, SCENARIOS, Measured, Scenario, per_second, phases

SCENARIOS_HERE = {
    **SCENARIOS,
    "r": dataclasses.replace(
        SCENARIOS["a"],
        name="r",
        title="(r) capacity 100/s, 429s carry Retry-After: 2, no added latency, concurrency 4",
        rows=2000,
        emulator_args=("--rate", "100", "--retry-after", "2"),
        concurrency=4,
    ),
}

# Runs an older tree's package in place of the editable install (whose finder would win over sys.path).
_LAUNCH_FROM = (
    "import runpy, sys; src = sys.argv.pop(1);"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in getattr(f, '__name__', '')];"
    "sys.path.insert(0, src); runpy.run_module('batchproxy', run_name='__main__', alter_sys=True)"
)


def run_once(scenario: Scenario, source: str, input_path: Path, work: Path) -> dict[str, Any]:
    results = work / "results.csv"
    results.unlink(missing_ok=True)
    launcher = (
        [sys.executable, "-c", _LAUNCH_FROM, source] if source else [sys.executable, "-m", "batchproxy"]
    )
    with emulator(*scenario.emulator_args) as emu:
        command = [*launcher, "run", str(input_path), "--endpoint-url", emu.url, "--region", "us-east-1"]
        command += ["--rate", f"{scenario.batchproxy_rate:g}", "--concurrency", str(scenario.concurrency)]
        command += ["--force", "--log-format", "json", "--results", str(results)]
        command += ["--failures", str(work / "failed.csv")]
        child = run_measured(command, env=aws_env(), timeout=scenario.timeout, log=work / "run.log")
        stats = emu.stats(arrivals=True)
    origin = stats["started_at"]
    arrivals = sorted((at - origin, outcome) for at, op, outcome in stats["arrivals"] if op == PUT)
    ok = sum(1 for line in results.read_text(encoding="utf-8").splitlines()[1:] if ",ok," in line)
    measured = Measured("batchproxy", scenario.rows, ok, child, [], arrivals, 0.0, 0.0)
    summary = measured.summary(scenario.schedule)
    meta = results.with_name(results.name + ".state.json")
    learned = json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else None
    return {
        "ok": ok,
        "learned": learned,
        "exit": child.exit_code,
        "requests": summary["requests"],
        "throttle_share": summary["throttle_share"],
        "goodput_of_capacity": summary["goodput_of_capacity"],
        "wall_s": child.wall_seconds,
        "ok_per_s": per_second(arrivals, "200", int(arrivals[-1][0]) + 1 if arrivals else 0),
        "429_per_s": per_second(arrivals, "429", int(arrivals[-1][0]) + 1 if arrivals else 0),
        "phases": [
            {
                "capacity": p["capacity_per_s"],
                "of_capacity": p["goodput_of_capacity"],
                "throttle_share": p["throttle_share"],
                "settle_s": p["seconds_to_within_10pct"],
            }
            for p in phases(measured, scenario.schedule)
        ],
    }


def _spread(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.3g} ({min(values):.3g}–{max(values):.3g})"


def report(runs: list[dict[str, Any]]) -> None:
    keys = sorted({(run["scenario"], run["variant"]) for run in runs})
    for scenario, variant in keys:
        mine = [run for run in runs if (run["scenario"], run["variant"]) == (scenario, variant)]
        line = f"{scenario} {variant} (n={len(mine)}): of capacity "
        line += _spread([r["goodput_of_capacity"] for r in mine])
        line += f", 429 share % {_spread([100 * r['throttle_share'] for r in mine])}"
        for index in range(max(len(r["phases"]) for r in mine)):
            phase = [r["phases"][index] for r in mine if index < len(r["phases"])]
            settle = [p["settle_s"] for p in phase if p["settle_s"] is not None]
            line += f"\n   phase {index} ({phase[0]['capacity']:g}/s): of capacity "
            line += f"{_spread([p['of_capacity'] for p in phase])}, 429 % "
            line += f"{_spread([100 * p['throttle_share'] for p in phase])}, s to 90% {_spread(settle)}"
        print(line, flush=True)


def _scenario(name: str, args: argparse.Namespace) -> Scenario:
    scenario = SCENARIOS_HERE[name]
    if name == "r":
        emulator_args = ["--rate", "100", "--retry-after", str(args.retry_after)]
        if args.latency:
            emulator_args += ["--latency", args.latency]
        if args.burst:
            emulator_args += ["--burst", str(args.burst)]
        scenario = dataclasses.replace(scenario, emulator_args=tuple(emulator_args))
    if args.concurrency:
        scenario = dataclasses.replace(scenario, concurrency=args.concurrency)
    if args.rows:
        scenario = dataclasses.replace(scenario, rows=args.rows)
    return scenario


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS_HERE), required=True)
    parser.add_argument("--variant", action="append", default=[], help="label=SOURCE (empty: installed)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int)
    parser.add_argument("--retry-after", type=int, default=2, help="r: the emulator's Retry-After, s")
    parser.add_argument("--latency", default="", help="r: the emulator's --latency (default: none)")
    parser.add_argument("--burst", type=int, help="r: the emulator's --burst (default: 1 s of capacity)")
    parser.add_argument("--concurrency", type=int, help="batchproxy --concurrency (default: the scenario's)")
    parser.add_argument("--keep", help="work in this directory and keep its logs")
    args = parser.parse_args()
    variants = [tuple(v.split("=", 1)) for v in args.variant] or [("installed", "")]
    OUT.mkdir(exist_ok=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bp-rate-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for _ in range(args.repeat):
            for name in args.scenario:
                scenario = _scenario(name, args)
                input_path = write_input(work / f"input-{name}-{scenario.rows}.csv", scenario.rows)
                for label, source in variants:
                    run = {"scenario": name, "variant": label, **run_once(scenario, source, input_path, work)}
                    print(json.dumps(run), flush=True)
                    with (OUT / "rate_runs.jsonl").open("a", encoding="utf-8") as sink:
                        sink.write(json.dumps(run) + "\n")
                    runs.append(run)
    report(runs)


if __name__ == "__main__":
    main()
