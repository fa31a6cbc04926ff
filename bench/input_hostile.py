"""Time of reading hostile inputs, to show it is linear in the input: wide headers, and the error paths.

    python bench/input_hostile.py [--columns 10000,100000,1000000] [--rows 100000,1000000]

Two tables. Header: ``read_input_header`` on a header of N unknown columns plus the required one (best
of three); seconds per 100k columns should stay flat (it was quadratic: 100,000 columns took two
minutes). Error paths: ``scan`` of N good rows with one fault in the last row (a byte that is not UTF-8,
a NUL, an unclosed quote), i.e. the whole file read before the fault and read again to locate it;
seconds per million rows should stay flat too.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from batchproxy.errors import UsageError
from batchproxy.input import read_input_header, scan

HEADER = "VoiceConnectorId,DefaultSessionExpiryMinutes,PhoneNumberPoolCountries,Region\n"


def best_of(runs: int, action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def header_table(scratch: Path, sizes: list[int]) -> None:
    print(f"{'columns':>10} {'seconds':>8} {'s per 100k':>11}")
    for columns in sizes:
        path = scratch / f"wide-{columns}.csv"
        path.write_text(",".join(["VoiceConnectorId", *(f"c{n}" for n in range(columns))]) + "\n")
        seconds = best_of(3, functools.partial(read_input_header, path, needs_settings=False))
        print(f"{columns:>10,} {seconds:>8.3f} {seconds / columns * 100_000:>11.3f}", flush=True)


FAULTS = {
    "not UTF-8": b"caf\xe9,60,US,us-east-1\n",
    "NUL": b"nul\x00,60,US,us-east-1\n",
    "unclosed quote": b'"open,60,US,us-east-1\n',
}


def _outcome(path: Path) -> str:
    try:
        result = scan(path, default_region="us-east-1", needs_settings=True)
    except UsageError as exc:
        return str(exc)
    return str(result.first_problems[0]) if result.first_problems else "valid"


def error_table(scratch: Path, sizes: list[int]) -> None:
    print(f"\n{'fault':<15} {'rows':>10} {'seconds':>8} {'s per 1M rows':>14}  message")
    for fault, line in FAULTS.items():
        for rows in sizes:
            path = scratch / "faulty.csv"
            with path.open("wb") as stream:
                stream.write(HEADER.encode())
                stream.writelines(f"vc{n:010d},60,US;CA,us-east-1\n".encode() for n in range(rows))
                stream.write(line)
            message = ""

            def run(path: Path = path) -> None:
                nonlocal message
                message = _outcome(path)

            seconds = best_of(1, run)
            shown = message.split(": ", 1)[-1][:70]
            print(
                f"{fault:<15} {rows:>10,} {seconds:>8.2f} {seconds / rows * 1e6:>14.2f}  {shown}", flush=True
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", default="10000,100000,1000000")
    parser.add_argument("--rows", default="100000,1000000")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        header_table(Path(scratch), [int(n) for n in options.columns.split(",")])
        error_table(Path(scratch), [int(n) for n in options.rows.split(",")])


if __name__ == "__main__":
    main()
