"""What a rate domain costs: the same rows over 1 … 1,000 (profile, region) pairs (issue 9 item 4).

    python bench/domains.py [--domains 1,10,100,600,1000] [--reps 5] [--rows 2400]
                            [--source DIR] [--label NAME]

Every run is a whole ``batchproxy run INPUT --rate 0 --concurrency 64`` subprocess against one
emulator subprocess (``--auto-create``, no throttling), its wall time and peak RSS measured by
``os.wait4``. The AWS profiles are real files: a temporary config and credentials file (named by
AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE) with 500 profiles, each with keys of its own. With N
domains, row i goes to domain i mod N, domain d being profile d // 2 in region d mod 2 (us-east-1,
eu-west-2): the rows of all domains are interleaved, the worst case for opening clients lazily.

Domain counts are interleaved within each repetition (the order rotates), so a slow spell of the
shared machine spreads over all of them. The per-domain cost is the least-squares slope of median
RSS and wall time against the domain count, and at each N the difference to one domain / (N - 1).
``--source DIR`` runs batchproxy from another checkout (e.g. ``git archive`` of main) for a
before/after comparison. Writes ``bench/out/domains[-LABEL].json`` and ``.md``.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import Child, emulator, environment, run_measured

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
REGIONS = ("us-east-1", "eu-west-2")
PROFILES = 500  # enough for 1,000 domains; every run reads the same files
HEADER = ["VoiceConnectorId", "Region", "Profile", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries"]


def write_aws_files(directory: Path) -> dict[str, str]:
    """A config and a credentials file of PROFILES profiles; the environment that points at them."""
    config, credentials = directory / "config", directory / "credentials"
    with config.open("w") as conf, credentials.open("w") as cred:
        for n in range(PROFILES):
            conf.write(f"[profile p{n:04d}]\nregion = {REGIONS[n % 2]}\noutput = json\n\n")
            cred.write(
                f"[p{n:04d}]\naws_access_key_id = AKIDBENCH{n:011d}\n"
                f"aws_secret_access_key = bench-secret-{n}\n\n"
            )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def write_rows(path: Path, rows: int, domains: int) -> Path:
    """``rows`` rows, row i in domain i mod ``domains``; the same connector ids for every N."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(HEADER)
        for n in range(rows):
            domain = n % domains
            profile, region = domain // 2, REGIONS[domain % 2]
            writer.writerow([f"dom{n:019d}", region, f"p{profile:04d}", str(30 + n % 600), "US;CA"])
    return path


def one_run(
    work: Path, url: str, domains: int, *, env: dict[str, str], source: Path, timeout: float
) -> Child:
    """One whole ``batchproxy run`` of the rows over ``domains`` domains."""
    inputs = work / f"rows-{domains}.csv"
    command = [sys.executable, "-m", "batchproxy", "run", str(inputs), "--endpoint-url", url]
    command += ["--rate", "0", "--concurrency", "64", "--force", "--log-format", "json"]
    env = dict(env, PYTHONPATH=str(source))
    return run_measured(command, env=env, timeout=timeout, log=work / f"run-{domains}.log")


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys against xs."""
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return num / sum((x - mean_x) ** 2 for x in xs)


def summarize(runs: dict[int, list[Child]]) -> dict[str, Any]:
    rows: dict[int, dict[str, Any]] = {}
    for n, children in sorted(runs.items()):
        walls = [c.wall_seconds for c in children]
        rss = [c.peak_rss_mb for c in children]
        rows[n] = {
            "wall_s": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)},
            "rss_mb": {"median": statistics.median(rss), "min": min(rss), "max": max(rss)},
            "cpu_s_median": statistics.median(c.cpu_seconds for c in children),
            "exit_codes": sorted({c.exit_code for c in children}),
        }
    counts = sorted(rows)
    result: dict[str, Any] = {"by_domains": rows}
    if len(counts) >= 2:
        walls = [rows[n]["wall_s"]["median"] for n in counts]
        rss = [rows[n]["rss_mb"]["median"] for n in counts]
        result["slope"] = {"mb_per_domain": slope(counts, rss), "ms_per_domain": 1000 * slope(counts, walls)}
    if 1 in rows:
        base = rows[1]
        result["per_domain_vs_one"] = {
            n: {
                "mb": (rows[n]["rss_mb"]["median"] - base["rss_mb"]["median"]) / (n - 1),
                "ms": 1000 * (rows[n]["wall_s"]["median"] - base["wall_s"]["median"]) / (n - 1),
            }
            for n in counts
            if n > 1
        }
    return result


def markdown(result: dict[str, Any], rows: int, reps: int) -> str:
    lines = [
        f"{rows} rows, `--rate 0 --concurrency 64`, median of {reps} (min–max); commit "
        f"{result['environment']['commit'][:10]}",
        "",
        "| domains | wall s | peak RSS MB | CPU s | exit |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n, row in result["by_domains"].items():
        wall, rss = row["wall_s"], row["rss_mb"]
        lines.append(
            f"| {n} | {wall['median']:.2f} ({wall['min']:.2f}–{wall['max']:.2f}) "
            f"| {rss['median']:.0f} ({rss['min']:.0f}–{rss['max']:.0f}) | {row['cpu_s_median']:.2f} "
            f"| {','.join(map(str, row['exit_codes']))} |"
        )
    if "slope" in result:
        s = result["slope"]
        lines += ["", f"slope: {s['mb_per_domain']:.3f} MB and {s['ms_per_domain']:.1f} ms per domain"]
    for n, cost in result.get("per_domain_vs_one", {}).items():
        lines.append(f"- at {n} domains: {cost['mb']:.3f} MB and {cost['ms']:.1f} ms per extra domain")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--domains", default="1,10,100,600,1000")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--rows", type=int, default=2400)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--source", type=Path, default=REPO, help="checkout whose batchproxy runs")
    parser.add_argument("--label", default="", help="suffix of the output files")
    args = parser.parse_args()
    counts = [int(n) for n in args.domains.split(",")]
    if max(counts) > 2 * PROFILES:
        parser.error(f"at most {2 * PROFILES} domains")
    runs: dict[int, list[Child]] = {n: [] for n in counts}
    env_info = environment(args.source.resolve())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="batchproxy-domains-") as temp, emulator() as emu:
        work = Path(temp)
        env = write_aws_files(work)
        for n in counts:
            write_rows(work / f"rows-{n}.csv", args.rows, n)
        for rep in range(args.reps):
            order = counts[rep % len(counts) :] + counts[: rep % len(counts)]
            for n in order:
                child = one_run(work, emu.url, n, env=env, source=args.source.resolve(), timeout=args.timeout)
                runs[n].append(child)
                print(
                    f"rep {rep + 1} domains {n}: {child.wall_seconds:.2f} s {child.peak_rss_mb:.0f} MB "
                    f"exit {child.exit_code}",
                    file=sys.stderr,
                )
                if child.exit_code != 0:
                    print(child.stderr_tail, file=sys.stderr)
    result = summarize(runs)
    result["environment"] = env_info | {"load_average_after": os.getloadavg()}
    result["rows"], result["reps"] = args.rows, args.reps
    result["seconds"] = time.monotonic() - started
    OUT.mkdir(exist_ok=True)
    stem = "domains" + (f"-{args.label}" if args.label else "")
    (OUT / f"{stem}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    table = markdown(result, args.rows, args.reps)
    (OUT / f"{stem}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
