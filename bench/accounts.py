"""Many accounts (issue 12): 1,000 accounts x 3 rows, a role assumed in each, against the emulator.

    python bench/accounts.py [--accounts 1000] [--rows-each 3] [--reps 5] [--no-profiles]

Every run is a whole ``batchproxy run INPUT --role-name R --rate 0 --concurrency 64`` subprocess
against one emulator subprocess (``--auto-create``, no throttling), which also answers STS
(``AWS_ENDPOINT_URL_STS``); its wall time, CPU and peak RSS come from ``os.wait4``. Row i goes to
account i mod N, all in us-east-1, so the rows of all accounts are interleaved (the worst case for
opening clients and assuming roles lazily) and there are N rate domains.

For scale, the same rows also run over N (profile, region) domains read from real AWS files
(bench/domains.py's setup: N/2 profiles x 2 regions), interleaved with the account runs, so the
cost of an assumed role can be read against a profile's. AssumeRole calls per run are read from the
emulator's stats. Writes ``bench/out/accounts.json`` and ``.md``.
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

from _common import Child, aws_env, emulator, environment, run_measured
from domains import PROFILES, REGIONS, write_aws_files

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
ROLE = "BatchproxyBench"
REGION = "us-east-1"


def account(n: int) -> str:
    return f"{300000000000 + n}"


def write_rows(path: Path, accounts: int, rows_each: int, *, by_profile: bool) -> Path:
    """``accounts * rows_each`` rows, row i in account (or profile domain) i mod ``accounts``."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        principal = "Profile" if by_profile else "AccountId"
        writer.writerow(
            [
                "VoiceConnectorId",
                "Region",
                principal,
                "DefaultSessionExpiryMinutes",
                "PhoneNumberPoolCountries",
            ]
        )
        for n in range(accounts * rows_each):
            d = n % accounts
            if by_profile:
                region, who = REGIONS[d % 2], f"p{d // 2:04d}"
            else:
                region, who = REGION, account(d)
            writer.writerow([f"acc{n:019d}", region, who, str(30 + n % 600), "US;CA"])
    return path


def one_run(
    work: Path, url: str, name: str, *, env: dict[str, str], extra: list[str], timeout: float
) -> Child:
    command = [sys.executable, "-m", "batchproxy", "run", str(work / f"{name}.csv"), "--endpoint-url", url]
    command += ["--rate", "0", "--concurrency", "64", "--force", "--log-format", "json", *extra]
    return run_measured(
        command, env=dict(env, PYTHONPATH=str(REPO)), timeout=timeout, log=work / f"{name}.log"
    )


def assume_calls(emu: Any) -> int:
    return sum(emu.stats()["assume_role"]["requests"].values())


def summarize(children: list[Child], rows: int, assumes: list[int]) -> dict[str, Any]:
    walls = [c.wall_seconds for c in children]
    rss = [c.peak_rss_mb for c in children]
    rates = [rows / w for w in walls]
    return {
        "rows_per_s": {"median": statistics.median(rates), "min": min(rates), "max": max(rates)},
        "wall_s": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)},
        "rss_mb": {"median": statistics.median(rss), "min": min(rss), "max": max(rss)},
        "cpu_s_median": statistics.median(c.cpu_seconds for c in children),
        "exit_codes": sorted({c.exit_code for c in children}),
        "assume_role_calls": sorted(set(assumes)),
    }


def markdown(result: dict[str, Any]) -> str:
    env = result["environment"]
    lines = [
        f"{result['accounts']} accounts x {result['rows_each']} rows (one region), "
        f"`--rate 0 --concurrency 64`, median of {result['reps']} (min–max); "
        f"commit {env['commit'][:10]}{' (dirty)' if env['dirty'] else ''}; "
        f"load average at start {env['load_average_at_start'][0]:.2f}, "
        f"after {env['load_average_after'][0]:.2f}",
        "",
        "| domains signed by | rows/s | wall s | peak RSS MB | CPU s | AssumeRole calls | exit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["runs"].items():
        rate, wall, rss = row["rows_per_s"], row["wall_s"], row["rss_mb"]
        lines.append(
            f"| {name} | {rate['median']:.0f} ({rate['min']:.0f}–{rate['max']:.0f}) "
            f"| {wall['median']:.2f} ({wall['min']:.2f}–{wall['max']:.2f}) "
            f"| {rss['median']:.0f} ({rss['min']:.0f}–{rss['max']:.0f}) | {row['cpu_s_median']:.2f} "
            f"| {','.join(map(str, row['assume_role_calls']))} | {','.join(map(str, row['exit_codes']))} |"
        )
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    lines += ["", f"Python {env['python']}, {packages}; {env['cpus']} CPUs"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--rows-each", type=int, default=3)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-profiles", action="store_true", help="skip the profile runs")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    args = parser.parse_args()
    if not args.no_profiles and args.accounts > 2 * PROFILES:
        parser.error(f"at most {2 * PROFILES} profile domains; use --no-profiles")
    rows = args.accounts * args.rows_each
    kinds = ["accounts"] + ([] if args.no_profiles else ["profiles"])
    children: dict[str, list[Child]] = {kind: [] for kind in kinds}
    assumes: dict[str, list[int]] = {kind: [] for kind in kinds}
    env_info = environment(REPO)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="batchproxy-accounts-") as temp, emulator() as emu:
        work = Path(temp)
        envs = {"profiles": write_aws_files(work), "accounts": aws_env() | {"AWS_ENDPOINT_URL_STS": emu.url}}
        extra = {"profiles": [], "accounts": ["--role-name", ROLE]}
        for kind in kinds:
            write_rows(work / f"{kind}.csv", args.accounts, args.rows_each, by_profile=kind == "profiles")
        for rep in range(args.reps):
            for kind in kinds[rep % len(kinds) :] + kinds[: rep % len(kinds)]:
                before = assume_calls(emu)
                child = one_run(work, emu.url, kind, env=envs[kind], extra=extra[kind], timeout=args.timeout)
                children[kind].append(child)
                assumes[kind].append(assume_calls(emu) - before)
                print(
                    f"rep {rep + 1} {kind}: {child.wall_seconds:.2f} s {child.peak_rss_mb:.0f} MB "
                    f"exit {child.exit_code}, {assumes[kind][-1]} AssumeRole",
                    file=sys.stderr,
                )
                if child.exit_code != 0:
                    print(child.stderr_tail, file=sys.stderr)
    names = {"accounts": "assumed roles (AccountId)", "profiles": "profiles (for scale)"}
    result: dict[str, Any] = {
        "runs": {names[kind]: summarize(children[kind], rows, assumes[kind]) for kind in kinds},
        "accounts": args.accounts,
        "rows_each": args.rows_each,
        "reps": args.reps,
        "environment": env_info | {"load_average_after": os.getloadavg()},
        "seconds": time.monotonic() - started,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "accounts.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    table = markdown(result)
    (OUT / "accounts.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
