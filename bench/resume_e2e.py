"""End to end: how long ``batchproxy run --resume`` takes from its start until the server sees a request.

    python bench/resume_e2e.py [--rows 200000] [--done 150000] [--repeat 5]

Generates an input of ``--rows`` valid rows and the results journal of an interrupted run whose first
``--done`` rows are ``ok`` (fingerprints computed exactly as the CLI computes them), starts a
``batchproxy emulator`` subprocess on 127.0.0.1, then for each repetition (on a fresh copy of the
journal) starts ``batchproxy run INPUT --resume`` and measures, with the emulator's own arrival clock
(``time.monotonic``, shared by processes on Linux):

  first request     from the CLI's start until the emulator saw its first request
  SIGINT -> exit    from SIGINT until the CLI exited (130): grace, skipped lines, finalize of every row

and then times, in this process, the steps the CLI performs before it sends (one run each):

  interpreter + imports   ``python -c "import batchproxy.cli"`` in a fresh process
  journal load            ``journal.load`` of the results file (before the input, on resume)
  scan + resume plan      ``input.scan`` with a ``ResumePlan`` observing: the one pass that validates
                          the whole file, compares it with the journal and decides every row
  skip to first send      ``Scan.rows(select=plan.selects)`` until its first row: done rows are only
                          parsed, not checked again

Issue 4's target: sending starts within 3 s for a 200k-row journal.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batchproxy import input as input_file
from batchproxy.emulator.process import spawn, stop
from batchproxy.journal import Journal, OpenMode, ResumePlan, load
from batchproxy.rows import Outcome, Row, Status

REGION = "us-east-1"
HEADER = ("VoiceConnectorId", "Region", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries")
WAIT_SECONDS = 120.0


def aws_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIDBENCHRESUMEE2E01",
        AWS_SECRET_ACCESS_KEY="bench-secret-not-checked",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def generate(directory: Path, rows: int, done: int) -> tuple[Path, Path]:
    """The input, and a journal with rows 1..done ok, built from the CLI's own parsing of the input."""
    source, results = directory / "input.csv", directory / "pristine.results.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for n in range(1, rows + 1):
            writer.writerow((f"vc{n:08d}", REGION, str(30 + n % 600), ("US", "US;CA", "GB;IE")[n % 3]))
    scan = input_file.scan(source, default_region=REGION, needs_settings=True)
    assert scan.ok, "the generated input must be valid"
    now = datetime.now(UTC)
    with Journal.open(results, scan.header.names, OpenMode.NEW) as journal:
        for item in scan.rows():
            if item.number > done:
                break
            assert isinstance(item, Row)
            outcome = Outcome(
                status=Status.OK, attempts=1, http_status=200, request_id=f"r{item.number}", finished_at=now
            )
            journal.record(item.number, item.values, outcome, fingerprint=item.fingerprint())
    return source, results


class Emulator:
    def __init__(self, url: str) -> None:
        self.url = url

    def stats(self, *, arrivals: bool = False) -> Any:
        address = self.url + "/_emulator/stats" + ("?arrivals=1" if arrivals else "")
        with urllib.request.urlopen(address, timeout=10) as response:
            return json.loads(response.read())


@contextmanager
def emulator() -> Iterator[Emulator]:
    with spawn("--auto-create", "--latency", "5ms") as child:
        yield Emulator(child.url)


def one_resume(emu: Emulator, source: Path, pristine: Path) -> dict[str, float]:
    """One ``--resume`` on a fresh copy of the journal: start -> first request, SIGINT -> exit."""
    results = source.with_name("input.results.csv")
    shutil.copyfile(pristine, results)
    seen = emu.stats()["total"]
    command = [sys.executable, "-m", "batchproxy", "run", str(source), "--resume", "--endpoint-url", emu.url]
    command += ["--region", REGION, "--rate", "0", "--concurrency", "8", "--log-format", "json"]
    started = time.monotonic()
    process = subprocess.Popen(
        command, env=aws_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    try:
        deadline = started + WAIT_SECONDS
        while emu.stats()["total"] == seen:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no request arrived (exit code {process.returncode})")
            time.sleep(0.01)
        first = min(a[0] for a in emu.stats(arrivals=True)["arrivals"] if a[0] >= started)
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        code = process.wait(timeout=WAIT_SECONDS)
        if code != 130:
            raise RuntimeError(f"expected exit 130 after SIGINT, got {code}")
        return {"first_request": first - started, "sigint_to_exit": time.monotonic() - interrupted}
    finally:
        stop(process)


def timed(label: str, numbers: dict[str, float], started: float) -> float:
    now = time.perf_counter()
    numbers[label] = now - started
    return now


def phases(source: Path, pristine: Path) -> dict[str, float]:
    """The CLI's pre-send steps, one at a time, in this process (imports already done)."""
    numbers: dict[str, float] = {}
    mark = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import batchproxy.cli"], check=True)
    mark = timed("imports", numbers, mark)
    header = input_file.read_input_header(source, needs_settings=True)
    state = load(pristine, header.names)
    mark = timed("load", numbers, mark)
    plan = ResumePlan(state)
    scan = input_file.scan(
        source,
        default_region=REGION,
        needs_settings=True,
        observe=lambda item: plan.add(item, _sendable(item)),
    )
    plan.finish()
    mark = timed("scan_plan", numbers, mark)
    next(iter(scan.rows(select=plan.selects)), None)
    timed("skip_to_first", numbers, mark)
    return numbers


def _sendable(item: Row | input_file.InvalidRow) -> Row | None:
    return item if isinstance(item, Row) else None


def report(rows: int, done: int, runs: list[dict[str, float]], steps: dict[str, float]) -> None:
    first = sorted(run["first_request"] for run in runs)
    exits = sorted(run["sigint_to_exit"] for run in runs)
    print(f"resume end to end: {rows:,} input rows, {done:,} already ok in the journal")
    print(f"{'measure':<40}{'min s':>8}{'median s':>10}{'max s':>8}")
    for label, values in (("start -> first request at the emulator", first), ("SIGINT -> exit 130", exits)):
        print(f"{label:<40}{values[0]:>8.2f}{values[len(values) // 2]:>10.2f}{values[-1]:>8.2f}")
    print()
    print(f"{'step before the first send (one run)':<40}{'s':>8}")
    for label, key in (
        ("interpreter + imports", "imports"),
        ("journal load", "load"),
        ("scan + resume plan (one pass)", "scan_plan"),
        ("skip done rows to the first send", "skip_to_first"),
    ):
        print(f"{label:<40}{steps[key]:>8.2f}")
    verdict = "OK" if first[len(first) // 2] < 3 else "OVER TARGET"
    print(f"target: first request within 3 s -> {verdict} (median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--done", type=int, default=150_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="batchproxy-resume-e2e-") as directory:
        mark = time.perf_counter()
        source, pristine = generate(Path(directory), args.rows, args.done)
        print(f"generated in {time.perf_counter() - mark:.1f} s", file=sys.stderr)
        with emulator() as emu:
            runs = [one_resume(emu, source, pristine) for _ in range(max(args.repeat, 1))]
        report(args.rows, args.done, runs, phases(source, pristine))


if __name__ == "__main__":
    main()
