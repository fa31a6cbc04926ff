"""How long a resume of a big journal takes before it could send its first request, and at what memory.

    python bench/resume_startup.py [--rows 200000]

Generates, in a temporary directory, an input CSV and a results journal as an interrupted run leaves
it (most rows done, some failed or skipped, some re-recorded by an earlier resume, some never reached,
a torn last line), then measures in a fresh child process, so generation does not count in its RSS:

  load          read the journal into the compact per-row state
  check_input   compare the whole input with it (refuses a different file; done before any send)
  first plan    the resume decision for the first row: sending could start here
  plan all      decisions for every row (happens while sending, shown for scale)
  finalize      the atomic rewrite at the end of the run

Target (issue 4): load + check_input + first plan under 3 s for 200k rows. Reading and validating the
input itself is the input module's cost and is not included.
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from batchproxy.journal import Journal, OpenMode, RowNumbers, check_input, load, plan_resume
from batchproxy.rows import FailureKind, Outcome, Row, Status, Target, proxy_settings

HEADER = ("VoiceConnectorId", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries", "Region")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1")
NOW = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)


def input_values(number: int) -> tuple[str, ...]:
    return (f"abcdef{number:014d}", str(30 + number % 600), "US;CA;GB", REGIONS[number % len(REGIONS)])


def as_row(number: int, values: tuple[str, ...]) -> Row:
    """A valid row, built directly: the input module's validation is not what this bench measures."""
    return Row(
        number=number,
        values=values,
        target=Target(voice_connector_id=values[0], region=values[3]),
        settings=proxy_settings(
            default_session_expiry_minutes=int(values[1]),
            phone_number_pool_countries=tuple(values[2].split(";")),
        ),
    )


def outcome_for(number: int) -> Outcome | None:
    """A realistic interrupted run: 80% ok, 5% failed, 2% unknown outcome, 5% skipped, 8% not reached."""
    bucket = number % 100
    if bucket < 80:
        return Outcome(
            status=Status.OK, attempts=1, http_status=200, request_id=f"req-{number}", finished_at=NOW
        )
    if bucket < 85:
        return Outcome(
            status=Status.FAILED,
            attempts=1,
            http_status=404,
            error_code="NotFoundException",
            error_message="The requested resource was not found.",
            failure_kind=FailureKind.PERMANENT,
            finished_at=NOW,
        )
    if bucket < 87:
        return Outcome(
            status=Status.FAILED,
            attempts=5,
            error_code="ReadTimeout",
            failure_kind=FailureKind.UNKNOWN_OUTCOME,
        )
    if bucket < 92:
        return Outcome(
            status=Status.SKIPPED, error_code="Interrupted", error_message="the run was interrupted"
        )
    return None


def generate(directory: Path, rows: int) -> tuple[Path, Path]:
    """Write the input and the journal, streaming (nothing per row is kept)."""
    source, results = directory / "input.csv", directory / "input.results.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(input_values(n) for n in range(1, rows + 1))
    skipped = Outcome(status=Status.SKIPPED, error_code="Interrupted")
    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        for number in range(1, rows + 1):
            row = as_row(number, input_values(number))
            outcome = outcome_for(number)
            if outcome is None:
                continue
            if number % 20 == 0:  # recorded skipped by an earlier interrupted run, then redone
                journal.record(number, row.values, skipped, fingerprint=row.fingerprint())
            journal.record(number, row.values, outcome, fingerprint=row.fingerprint())
    with results.open("ab") as handle:
        handle.write(b"200001,abcdef0000000020000")  # the torn last line of a kill -9
    return source, results


@dataclass(frozen=True, slots=True)
class InputRow:
    number: int
    values: tuple[str, ...]


def read_input(source: Path) -> Iterator[InputRow]:
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for number, values in enumerate(reader, start=1):
            yield InputRow(number, tuple(values))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def measure(source: Path, results: Path) -> dict[str, float]:
    """Runs in the child: every phase timed, peak RSS after each."""
    numbers: dict[str, float] = {"rss_baseline": peak_rss_mib()}
    started = time.perf_counter()
    state = load(results, HEADER)
    numbers |= {"load": time.perf_counter() - started, "rss_load": peak_rss_mib()}
    numbers["state_mib"] = state.memory_bytes() / 2**20
    numbers["torn_bytes"] = state.torn_bytes
    mark = time.perf_counter()
    check_input(state, read_input(source))
    numbers |= {"check_input": time.perf_counter() - mark, "rss_check": peak_rss_mib()}
    mark = time.perf_counter()
    first = next(read_input(source))
    plan_resume(state, as_row(first.number, first.values))
    numbers["first_plan"] = time.perf_counter() - mark
    numbers["until_first_send"] = time.perf_counter() - started
    mark = time.perf_counter()
    to_send = sum(plan_resume(state, as_row(r.number, r.values)).send for r in read_input(source))
    numbers |= {"plan_all": time.perf_counter() - mark, "to_send": to_send, "rss_plan": peak_rss_mib()}
    del state  # the engine holds one state; finalize's Journal.open loads its own
    return numbers | finalize_numbers(source, results)


def finalize_numbers(source: Path, results: Path) -> dict[str, float]:
    rows = RowNumbers()
    for row in read_input(source):
        rows.add(row.number)
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:  # loads again; not timed here
        mark = time.perf_counter()
        journal.finalize(rows)
        elapsed = time.perf_counter() - mark
    return {"finalize": elapsed, "rss_finalize": peak_rss_mib()}


def report(rows: int, numbers: dict[str, float]) -> None:
    print(f"resume startup, {rows:,} rows ({numbers['to_send']:,.0f} to send again)")
    print(f"{'phase':<28}{'seconds':>9}{'peak RSS MiB':>15}")
    for label, time_key, rss_key in (
        ("load journal", "load", "rss_load"),
        ("check_input (whole input)", "check_input", "rss_check"),
        ("first plan_resume", "first_plan", "rss_check"),
        ("=> until first send", "until_first_send", "rss_check"),
        ("plan_resume, every row", "plan_all", "rss_plan"),
        ("finalize (atomic rewrite)", "finalize", "rss_finalize"),
    ):
        print(f"{label:<28}{numbers[time_key]:>9.3f}{numbers[rss_key]:>15.1f}")
    print(
        f"baseline RSS after imports: {numbers['rss_baseline']:.1f} MiB; per-row state arrays: "
        f"{numbers['state_mib']:.1f} MiB; torn tail discarded: {numbers['torn_bytes']:.0f} bytes"
    )
    verdict = "OK" if numbers["until_first_send"] < 3 else "OVER TARGET"
    print(f"target: first send within 3 s -> {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--measure", nargs=2, metavar=("INPUT", "RESULTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="batchproxy-bench-") as directory:
        started = time.perf_counter()
        source, results = generate(Path(directory), args.rows)
        size = results.stat().st_size / 2**20
        print(f"generated in {time.perf_counter() - started:.1f} s: journal {size:.1f} MiB")
        child = [sys.executable, __file__, "--measure", str(source), str(results)]
        output = subprocess.run(child, check=True, capture_output=True, text=True).stdout
        report(args.rows, json.loads(output))


if __name__ == "__main__":
    main()
