"""Peak memory and time of a journal's end of run (finalize and failure report) as the rows grow.

    python bench/finalize_memory.py [--sizes 100000,1000000] [--reps 5] [--source DIR]

Each measurement is a fresh child process that records N rows in a new results journal (rows finish
out of order, within a window of 64 as concurrency 64 leaves them; every hundredth row fails), then
finalizes it and writes the failure report, and reports its own peak RSS (``ru_maxrss``). No network:
this isolates what grows with the rows at the end of a run, the part of issue 13 a full run takes
15 minutes to show at 1,000,000 rows. Sizes are interleaved within each repetition. ``--source DIR``
measures another checkout (e.g. the commit before issue 13) for a before/after comparison.
Writes ``bench/out/finalize_memory.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEADER = ("VoiceConnectorId", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries", "Region")
WINDOW = 64


def child(rows: int, directory: Path) -> dict[str, float]:
    """In the measured process: record, finalize, report."""
    from batchproxy.journal import Journal, OpenMode  # noqa: PLC0415 -- the child's own imports only
    from batchproxy.rows import FailureKind, Outcome, Status  # noqa: PLC0415

    now = datetime.now(UTC)
    ok = Outcome(status=Status.OK, attempts=1, http_status=200, request_id="req-ok", finished_at=now)
    failed = Outcome(
        status=Status.FAILED,
        attempts=1,
        http_status=404,
        error_code="NotFoundException",
        error_message="no such connector",
        failure_kind=FailureKind.PERMANENT,
        finished_at=now,
    )
    rng = random.Random(1)
    started = time.perf_counter()
    with Journal.open(directory / "input.results.csv", HEADER, OpenMode.NEW) as journal:
        window: list[int] = []
        for number in itertools.chain(range(1, rows + 1), itertools.repeat(0, WINDOW)):  # no list: RSS
            if number:
                window.append(number)
            if window and (len(window) >= WINDOW or not number):
                k = window.pop(rng.randrange(len(window)))
                values = (f"bench{k:017d}", "60", "US;CA", "us-east-1")
                journal.record(k, values, failed if k % 100 == 0 else ok, fingerprint="0123456789abcdef")
        recorded = time.perf_counter()
        rss_recorded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        journal.finalize(range(1, rows + 1))
        not_ok = journal.write_failure_report(directory / "input.failed.csv")
        finished = time.perf_counter()
    return {
        "rows": rows,
        "not_ok": not_ok,
        "record_s": recorded - started,
        "finish_s": finished - recorded,
        "rss_recorded_mb": rss_recorded,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(rows: int, source: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    with tempfile.TemporaryDirectory(prefix="batchproxy-finalize-") as directory:
        command = [sys.executable, __file__, "--child", str(rows), directory]
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result: dict[str, Any] = json.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--source", type=Path, help="a checkout to measure instead of this one")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(int(options.child[0]), Path(options.child[1]))))
        return
    # Only here: the measured child must not inherit a big parent's RSS (ru_maxrss starts from it).
    from _common import environment, interleaved, provenance, publish, spread_text  # noqa: PLC0415

    env = environment(options.source.resolve() if options.source else None)
    sizes = [int(size) for size in options.sizes.split(",")]
    runs: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    for rep, label in interleaved([str(size) for size in sizes], options.reps):
        runs[int(label)].append(measure(int(label), options.source) | {"rep": rep})
        print(f"rep {rep + 1}: {int(label):,} rows: {runs[int(label)][-1]}", file=sys.stderr, flush=True)
    lines = ["| rows | not ok | record s | finalize + report s | peak RSS MB |", "|---:|---:|---:|---:|---:|"]
    for size in sizes:
        done = runs[size]
        cells = [f"{size:,}", spread_text([r["not_ok"] for r in done])]
        cells += [spread_text([r["record_s"] for r in done], "{:.1f}")]
        cells += [spread_text([r["finish_s"] for r in done], "{:.1f}")]
        cells += [spread_text([r["peak_mb"] for r in done], "{:.1f}")]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n\n" + provenance(env, options.reps)
    raw = {"environment": env, "reps": options.reps, "runs": {str(s): runs[s] for s in sizes}}
    publish("finalize_memory", text, raw)


if __name__ == "__main__":
    main()
