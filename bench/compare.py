"""batchproxy against the clients a user would write instead, on the same input, against the emulator.

    python bench/compare.py [--scenario a|b|c|d|all] [--rows N] [--clients batchproxy,aiohttp,...]
                            [--reps 5] [--pin]

Scenarios (issue 6):
  a  emulator capacity 100/s, client ceiling 1,000/s, 5,000 rows
  b  capacity 100/s, 30/s from t=20 s, 150/s from t=40 s (``--rate-schedule``), 5,000 rows (~60 s)
  c  no capacity limit: pure client overhead, 5,000 rows, batchproxy ``--rate 0 --concurrency 64``
  d  memory: ``batchproxy validate`` at 100k and 1M rows, and a ``--rate 0`` run at 20k and 100k rows
     (the 1M-row run only with ``--scenario d``: it takes about 15 minutes, and runs once)

Every scenario runs ``--reps`` repetitions (5 by default), interleaved: each repetition runs every
client once, in an order rotated from the last, so a slow spell of the shared machine falls on all of
them alike. Tables give the median and (min-max) over the repetitions; in (c) the ratios to the
aioboto3 loop are taken within each repetition (a pair run back to back) and then summarised.
``--pin`` puts the emulator on core 0 and the client on core 1.

Every (scenario, client) gets a fresh emulator subprocess (so its rate schedule starts with the
client) and a fresh client process, whose CPU seconds and peak RSS are the kernel's accounting of
that process alone (``os.wait4``). batchproxy's modules are compiled to bytecode before the first
run (``_common.compile_bytecode``), as an installed package's are. Requests sent, 429s and goodput
come from the emulator's arrival log, not from the client; row latency comes from the client
(batchproxy: ``duration_ms`` of the results file). Each scenario prints a markdown table and writes
``bench/out/<scenario>.json`` and ``bench/out/<scenario>.md``; scenario b also writes
``bench/out/scenario_b.svg``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    Child,
    aws_env,
    emulator,
    environment,
    interleaved,
    pin,
    quantile,
    run_measured,
    spread,
    spread_text,
    write_input,
)
from chart_svg import write_chart

OUT = Path(__file__).resolve().parent / "out"
ALT_CLIENTS = Path(__file__).resolve().parent / "alt_clients.py"
PUT = "PutVoiceConnectorProxy"
CLIENTS = ("batchproxy", "aioboto3", "boto3", "aiohttp")
CLIENT_TITLES = {
    "batchproxy": "batchproxy",
    "aioboto3": "aioboto3 gather, legacy retries",
    "boto3": "boto3 threads, adaptive retries",
    "aiohttp": "raw aiohttp, no signing (ceiling)",
}
LATENCY = "50ms"  # a loopback round trip is ~1 ms; AWS's is tens of ms, and pacing depends on it


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    rows: int
    emulator_args: tuple[str, ...]
    schedule: tuple[tuple[float, float], ...]  # (seconds since emulator start, capacity/s); 0 = none
    batchproxy_rate: float
    concurrency: int
    timeout: float  # per client process, seconds


SCENARIOS = {
    "a": Scenario(
        name="a",
        title="(a) capacity 100/s, client ceiling 1,000/s",
        rows=5000,
        emulator_args=("--rate", "100", "--latency", LATENCY),
        schedule=((0, 100),),
        batchproxy_rate=1000,
        concurrency=32,
        timeout=240,
    ),
    "b": Scenario(
        name="b",
        title="(b) capacity 100/s, 30/s from 20 s, 150/s from 40 s",
        rows=5000,
        emulator_args=("--rate-schedule", "0:100,20:30,40:150", "--latency", LATENCY),
        schedule=((0, 100), (20, 30), (40, 150)),
        batchproxy_rate=1000,
        concurrency=32,
        timeout=300,
    ),
    "c": Scenario(
        name="c",
        title="(c) no capacity limit: client overhead",
        rows=5000,
        emulator_args=("--rate", "0"),
        schedule=((0, 0),),
        batchproxy_rate=0,
        concurrency=64,
        timeout=300,
    ),
}


@dataclass
class Measured:
    """One client's run in one scenario: what the client said and what the emulator saw."""

    client: str
    rows: int
    ok: int
    child: Child
    latencies_ms: list[float]
    arrivals: list[tuple[float, str]]  # (seconds since emulator start, outcome) of each put
    load_before: float
    load_after: float
    errors: dict[str, int] = field(default_factory=dict)

    def summary(self, schedule: Sequence[tuple[float, float]]) -> dict[str, Any]:
        requests = len(self.arrivals)
        accepted = sum(1 for _, outcome in self.arrivals if outcome == "200")
        throttled = sum(1 for _, outcome in self.arrivals if outcome == "429")
        first = self.arrivals[0][0] if self.arrivals else 0.0
        last = self.arrivals[-1][0] if self.arrivals else 0.0
        window = max(last - first, 1e-9)
        capacity = mean_capacity(schedule, first, last)
        goodput = accepted / window
        return {
            "client": self.client,
            "rows": self.rows,
            "ok": self.ok,
            "errors": self.errors,
            "requests": requests,
            "accepted": accepted,
            "throttled": throttled,
            "throttle_share": throttled / requests if requests else 0.0,
            "send_window_s": window,
            "goodput_per_s": goodput,
            "mean_capacity_per_s": capacity,
            "goodput_of_capacity": goodput / capacity if capacity else None,
            "p50_ms": quantile(self.latencies_ms, 0.50),
            "p99_ms": quantile(self.latencies_ms, 0.99),
            "wall_s": self.child.wall_seconds,
            "rows_ok_per_s": self.ok / self.child.wall_seconds,
            "cpu_s": self.child.cpu_seconds,
            "cpu_s_per_1k_rows": self.child.cpu_seconds / self.rows * 1000,
            "peak_rss_mb": self.child.peak_rss_mb,
            "exit_code": self.child.exit_code,
            "load_before": self.load_before,
            "load_after": self.load_after,
        }


def mean_capacity(schedule: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """The schedule's average capacity over [start, end]; 0 when unlimited."""
    if end <= start:
        return capacity_at(schedule, start)
    total = 0.0
    bounds = [t for t, _ in schedule if start < t < end]
    edges = [start, *bounds, end]
    for left, right in itertools.pairwise(edges):
        total += capacity_at(schedule, left) * (right - left)
    return total / (end - start)


def capacity_at(schedule: Sequence[tuple[float, float]], at: float) -> float:
    rate = schedule[0][1]
    for t, value in schedule:
        if at >= t:
            rate = value
    return rate


def per_second(arrivals: Sequence[tuple[float, str]], outcome: str, seconds: int) -> list[int]:
    buckets = [0] * seconds
    for at, what in arrivals:
        if what == outcome and 0 <= at < seconds:
            buckets[int(at)] += 1
    return buckets


def phases(measured: Measured, schedule: Sequence[tuple[float, float]]) -> list[dict[str, Any]]:
    """Per capacity phase: goodput, 429 share, and how long until goodput came within 10% of it."""
    if not measured.arrivals:
        return []
    last = measured.arrivals[-1][0]
    seconds = int(last) + 1
    accepted = per_second(measured.arrivals, "200", seconds)
    found = []
    for index, (start, capacity) in enumerate(schedule):
        # A phase ends at the next change, or earlier when the client's last request came before it.
        end = min(schedule[index + 1][0], last) if index + 1 < len(schedule) else last
        if start >= last:
            break
        inside = [(at, outcome) for at, outcome in measured.arrivals if start <= at < end]
        ok = sum(1 for _, outcome in inside if outcome == "200")
        throttled = sum(1 for _, outcome in inside if outcome == "429")
        settle = None
        # The first whole second after the change in which the emulator accepted at least 90% of its
        # capacity. Only "at least": above capacity is only ever the emulator's own saved-up burst.
        for k in range(int(end - start)):
            bucket = int(start) + k
            if bucket < len(accepted) and accepted[bucket] >= 0.9 * capacity:
                settle = k + 1
                break
        first_ten = [outcome for at, outcome in inside if at < start + 10]
        found.append(
            {
                "from_s": start,
                "to_s": end,
                "capacity_per_s": capacity,
                "goodput_per_s": ok / (end - start) if end > start else 0.0,
                "goodput_of_capacity": ok / (end - start) / capacity if end > start else 0.0,
                "requests": len(inside),
                "throttle_share": throttled / len(inside) if inside else 0.0,
                "seconds_to_within_10pct": settle,
                "throttle_share_first_10s": first_ten.count("429") / len(first_ten) if first_ten else 0.0,
            }
        )
    return found


# -- running the clients -------------------------------------------------------------------------------


EMULATOR_CPUS, CLIENT_CPUS = {0}, {1}  # with --pin


def run_client(
    client: str, scenario: Scenario, input_path: Path, work: Path, *, pinned: bool = False
) -> Measured:
    cpus = CLIENT_CPUS if pinned else None
    with emulator(*scenario.emulator_args) as emu:
        if pinned:
            pin(emu.pid, EMULATOR_CPUS)
        load_before = os.getloadavg()[0]
        if client == "batchproxy":
            ok, latencies, errors, child = _run_batchproxy(emu.url, scenario, input_path, work, cpus=cpus)
        else:
            ok, latencies, errors, child = _run_alternative(
                client, emu.url, scenario, input_path, work, cpus=cpus
            )
        load_after = os.getloadavg()[0]
        stats = emu.stats(arrivals=True)
    origin = stats["started_at"]
    arrivals = [(at - origin, outcome) for at, operation, outcome in stats["arrivals"] if operation == PUT]
    arrivals.sort()
    return Measured(
        client=client,
        rows=scenario.rows,
        ok=ok,
        child=child,
        latencies_ms=latencies,
        arrivals=arrivals,
        load_before=load_before,
        load_after=load_after,
        errors=errors,
    )


def _run_batchproxy(
    url: str, scenario: Scenario, input_path: Path, work: Path, *, cpus: set[int] | None
) -> tuple[int, list[float], dict[str, int], Child]:
    results, failures = work / "batchproxy.results.csv", work / "batchproxy.failed.csv"
    command = [sys.executable, "-m", "batchproxy", "run", str(input_path), "--endpoint-url", url]
    command += ["--region", "us-east-1", "--rate", f"{scenario.batchproxy_rate:g}"]
    command += ["--concurrency", str(scenario.concurrency), "--force", "--log-format", "json"]
    command += ["--results", str(results), "--failures", str(failures)]
    results.unlink(missing_ok=True)  # never read an earlier run's file
    log = work / "batchproxy.log"
    child = run_measured(command, env=aws_env(), timeout=scenario.timeout, log=log, cpus=cpus)
    if child.exit_code not in (0, 1) or not results.exists():
        raise RuntimeError(f"batchproxy run failed (exit {child.exit_code}):\n{child.stderr_tail}")
    ok, latencies, errors = 0, [], dict[str, int]()
    with results.open(encoding="utf-8", newline="") as stream:
        for line in csv.DictReader(stream):
            latencies.append(float(line["duration_ms"]))
            if line["status"] == "ok":
                ok += 1
            else:
                errors[line["error_code"]] = errors.get(line["error_code"], 0) + 1
    return ok, latencies, errors, child


def _run_alternative(
    client: str, url: str, scenario: Scenario, input_path: Path, work: Path, *, cpus: set[int] | None
) -> tuple[int, list[float], dict[str, int], Child]:
    out = work / f"{client}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, str(ALT_CLIENTS), client, "--url", url, "--input", str(input_path)]
    command += ["--concurrency", str(scenario.concurrency), "--out", str(out)]
    log = work / f"{client}.log"
    child = run_measured(command, env=aws_env(), timeout=scenario.timeout, log=log, cpus=cpus)
    if not out.exists():
        raise RuntimeError(f"{client} wrote no results (exit {child.exit_code}):\n{child.stderr_tail}")
    body = json.loads(out.read_text(encoding="utf-8"))
    return int(body["ok"]), list(body["latencies_ms"]), dict(body["errors"]), child


# -- tables --------------------------------------------------------------------------------------------


def markdown(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    rule = ["---" if i == 0 else "---:" for i in range(len(header))]
    rows = [header, rule, *lines]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def _column(runs: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [r[key] for r in runs if r.get(key) is not None]


def pair_ratios(by_client: dict[str, list[dict[str, Any]]], key: str) -> dict[str, list[float]]:
    """Each client's ``key`` over the aioboto3 loop's in the same repetition (a pair run back to back)."""
    base = {r["rep"]: r[key] for r in by_client.get("aioboto3", [])}
    return {
        client: [r[key] / base[r["rep"]] for r in runs if base.get(r["rep"])]
        for client, runs in by_client.items()
    }


def rate_table(by_client: dict[str, list[dict[str, Any]]], *, overhead: bool) -> str:
    header = ["client", "rows ok", "requests", "429 share", "goodput/s"]
    header += ["rows/s (wall)", "vs aioboto3", "CPU vs aioboto3"] if overhead else ["of capacity"]
    header += ["p50 ms", "p99 ms", "CPU s/1k rows", "peak RSS MB", "wall s"]
    speed = pair_ratios(by_client, "rows_ok_per_s")
    cpu = pair_ratios(by_client, "cpu_s_per_1k_rows")
    lines = []
    for client, runs in by_client.items():
        rows = runs[0]["rows"]
        cells = [CLIENT_TITLES[client], spread_text(_column(runs, "ok")) + f"/{rows:,}"]
        cells += [
            spread_text(_column(runs, "requests")),
            spread_text(_column(runs, "throttle_share"), "{:.1%}"),
        ]
        cells += [spread_text(_column(runs, "goodput_per_s"))]
        if overhead:
            cells += [spread_text(_column(runs, "rows_ok_per_s"))]
            cells += [spread_text(speed[client], "{:.2f}×"), spread_text(cpu[client], "{:.2f}×")]
        else:
            cells += [spread_text(_column(runs, "goodput_of_capacity"), "{:.2f}")]
        cells += [spread_text(_column(runs, "p50_ms")), spread_text(_column(runs, "p99_ms"))]
        cells += [spread_text(_column(runs, "cpu_s_per_1k_rows"), "{:.2f}")]
        cells += [spread_text(_column(runs, "peak_rss_mb")), spread_text(_column(runs, "wall_s"), "{:.1f}")]
        lines.append(cells)
    return markdown(header, lines)


def phase_table(client_phases: dict[str, list[list[dict[str, Any]]]]) -> str:
    """One line per client and capacity phase, each figure over the repetitions."""
    header = ["client", "phase", "capacity/s", "goodput/s", "of capacity", "429 share"]
    header += ["429 share, first 10 s", "s to ≥ 90% of capacity"]
    lines = []
    for client, reps in client_phases.items():
        for index, first in enumerate(reps[0] if reps else []):
            same = [rep[index] for rep in reps if index < len(rep)]
            settles = [p["seconds_to_within_10pct"] for p in same]
            found = [s for s in settles if s is not None]
            settle = spread_text(found, "{:.0f}") + (
                f", never in {settles.count(None)}" if None in settles else ""
            )
            lines.append(
                [
                    CLIENT_TITLES[client],
                    f"from {first['from_s']:.0f} s",
                    f"{first['capacity_per_s']:g}",
                    spread_text([p["goodput_per_s"] for p in same]),
                    spread_text([p["goodput_of_capacity"] for p in same], "{:.2f}"),
                    spread_text([p["throttle_share"] for p in same], "{:.1%}"),
                    spread_text([p["throttle_share_first_10s"] for p in same], "{:.1%}"),
                    "–" if first["from_s"] == 0 else settle,
                ]
            )
    return markdown(header, lines)


def provenance(env: dict[str, Any], reps: int, loads: Sequence[float]) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in env["packages"].items())
    dirty = " (uncommitted changes)" if env["dirty"] else ""
    return (
        f"Median (min–max) of {reps} interleaved repetitions. Commit {env['commit'][:10]}{dirty}, "
        f"Python {env['python']}, {packages}; {env['cpus']} CPUs, load average (1 min) before each "
        f"client {spread_text(loads, '{:.2f}')}; batchproxy's modules compiled to bytecode first, as "
        "an install compiles them."
    )


def emit(name: str, text: str, raw: dict[str, Any]) -> None:
    OUT.mkdir(exist_ok=True)
    print(text, flush=True)
    (OUT / f"{name}.md").write_text(text + "\n", encoding="utf-8")
    (OUT / f"{name}.json").write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")


# -- scenarios -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    reps: int
    pinned: bool


def rate_scenario(scenario: Scenario, clients: Sequence[str], work: Path, options: Options) -> None:
    env = environment()
    input_path = write_input(work / f"input-{scenario.name}.csv", scenario.rows)
    by_client: dict[str, list[dict[str, Any]]] = {client: [] for client in clients}
    client_phases: dict[str, list[list[dict[str, Any]]]] = {client: [] for client in clients}
    for rep, client in interleaved(clients, options.reps):
        print(f"  [{scenario.name}] rep {rep + 1}/{options.reps} {client} …", file=sys.stderr, flush=True)
        measured = run_client(client, scenario, input_path, work, pinned=options.pinned)
        by_client[client].append({"rep": rep, **measured.summary(scenario.schedule)})
        if scenario.name == "b":
            client_phases[client].append(phases(measured, scenario.schedule))
            if rep == 0:  # the charts show the first repetition of each client
                name = "scenario_b.svg" if client == "batchproxy" else f"scenario_b_{client}.svg"
                write_chart(OUT / name, series(measured), scenario.schedule, CLIENT_TITLES[client])
    overhead = scenario.name == "c"
    loads = [r["load_before"] for runs in by_client.values() for r in runs]
    text = f"### {scenario.title}: {scenario.rows:,} rows, concurrency {scenario.concurrency}\n\n"
    text += rate_table(by_client, overhead=overhead)
    text += "\n\n" + provenance(env, options.reps, loads) + "\n"
    raw: dict[str, Any] = {
        "scenario": scenario.name,
        "environment": env | {"load_average_at_end": os.getloadavg(), "pinned": options.pinned},
        "reps": options.reps,
        "clients": by_client,
    }
    if overhead:
        raw["vs_aioboto3"] = {
            key: {c: spread(v) for c, v in pair_ratios(by_client, key).items()}
            for key in ("rows_ok_per_s", "cpu_s_per_1k_rows")
        }
    if scenario.name == "b":
        text += "\nPer phase:\n\n" + phase_table(client_phases) + "\n"
        raw["phases"] = client_phases
    emit(scenario.name, text, raw)


def series(measured: Measured) -> dict[str, list[int]]:
    seconds = int(measured.arrivals[-1][0]) + 1 if measured.arrivals else 0
    return {
        "accepted": per_second(measured.arrivals, "200", seconds),
        "throttled": per_second(measured.arrivals, "429", seconds),
    }


def memory_scenario(
    sizes_validate: Sequence[int], sizes_run: Sequence[int], work: Path, options: Options
) -> None:
    """Each step ``reps`` times, interleaved across sizes; the 1,000,000-row run only once (~15 min)."""
    env = environment()
    sizes = sorted({*sizes_validate, *sizes_run})
    inputs = {rows: write_input(work / f"input-d-{rows}.csv", rows) for rows in sizes}
    steps = [("validate", rows) for rows in sizes if rows in sizes_validate]
    steps += [("run --rate 0", rows) for rows in sizes if rows in sizes_run]
    results: dict[str, list[dict[str, Any]]] = {f"{step} {rows}": [] for step, rows in steps}
    labels = list(results)
    for rep, label in interleaved(labels, options.reps):
        step, rows = label.rsplit(" ", 1)[0], int(label.rsplit(" ", 1)[1])
        if step.startswith("run") and rows >= 1_000_000 and rep > 0:
            continue
        print(f"  [d] rep {rep + 1}/{options.reps} {label} …", file=sys.stderr, flush=True)
        results[label].append(_memory_step(step, rows, inputs[rows], work, options))
    for path in inputs.values():
        path.unlink()
    header = ["step", "rows", "runs", "rows ok", "wall s", "rows/s", "CPU s/1k rows", "peak RSS MB"]
    lines = []
    for label, runs in results.items():
        step, rows = label.rsplit(" ", 1)[0], int(label.rsplit(" ", 1)[1])
        lines.append(
            [
                step,
                f"{rows:,}",
                str(len(runs)),
                spread_text([r["ok"] for r in runs]),
                spread_text([r["wall_s"] for r in runs], "{:,.1f}"),
                spread_text([rows / r["wall_s"] for r in runs]),
                spread_text([r["cpu_s"] / rows * 1000 for r in runs], "{:.2f}"),
                spread_text([r["peak_rss_mb"] for r in runs], "{:.1f}"),
            ]
        )
    loads = [r["load_before"] for runs in results.values() for r in runs]
    text = "### (d) memory at scale (batchproxy only)\n\n" + markdown(header, lines)
    text += "\n\n" + provenance(env, options.reps, loads) + "\n"
    emit("d", text, {"scenario": "d", "environment": env, "reps": options.reps, "steps": results})


def _memory_step(step: str, rows: int, input_path: Path, work: Path, options: Options) -> dict[str, Any]:
    load = os.getloadavg()[0]
    if step == "validate":
        command = [sys.executable, "-m", "batchproxy", "validate", str(input_path)]
        cpus = CLIENT_CPUS if options.pinned else None
        child = run_measured(command, env=aws_env(), timeout=600, log=work / "validate.log", cpus=cpus)
        if child.exit_code != 0:
            raise RuntimeError(f"batchproxy validate failed (exit {child.exit_code}):\n{child.stderr_tail}")
        ok = rows
    else:
        scenario = Scenario(
            name="d",
            title="",
            rows=rows,
            emulator_args=("--rate", "0"),
            schedule=((0, 0),),
            batchproxy_rate=0,
            concurrency=64,
            timeout=3600,
        )
        measured = run_client("batchproxy", scenario, input_path, work, pinned=options.pinned)
        ok, child = measured.ok, measured.child
    return {
        "step": step,
        "rows": rows,
        "ok": ok,
        "wall_s": child.wall_seconds,
        "cpu_s": child.cpu_seconds,
        "peak_rss_mb": child.peak_rss_mb,
        "exit_code": child.exit_code,
        "load_before": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=["a", "b", "c", "d", "all"], default="all")
    parser.add_argument("--rows", type=int, help="rows for a/b/c (default: the scenario's own)")
    parser.add_argument(
        "--clients", default=",".join(CLIENTS), help="comma-separated subset of " + ", ".join(CLIENTS)
    )
    parser.add_argument(
        "--full", action="store_true", help="d: also run 1,000,000 rows (implied by --scenario d)"
    )
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions (default 5)")
    parser.add_argument("--pin", action="store_true", help="emulator on core 0, client on core 1")
    args = parser.parse_args()
    clients = [c for c in args.clients.split(",") if c]
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    options = Options(reps=args.reps, pinned=args.pin and (os.cpu_count() or 1) >= 2)
    chosen = ["a", "b", "c", "d"] if args.scenario == "all" else [args.scenario]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="batchproxy-bench-") as temp:
        work = Path(temp)
        for name in chosen:
            if name == "d":
                full = args.full or args.scenario == "d"
                runs = [20_000, 100_000, 1_000_000] if full else [20_000, 100_000]
                memory_scenario([100_000, 1_000_000], runs, work, options)
                continue
            scenario = SCENARIOS[name]
            if args.rows:
                scenario = Scenario(**{**scenario.__dict__, "rows": args.rows})
            rate_scenario(scenario, clients, work, options)
    print(f"\ntotal {time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
