"""What the retry defaults survive: a service outage switched on mid-run, measured with the real CLI.

    python bench/outage.py [--outages 10,30,60,90] [--rows 200] [-- extra batchproxy options]

For each outage length D: a fresh emulator subprocess (``--auto-create``), ``batchproxy run`` on
``--rows`` rows with the default retry options (``--max-attempts 20 --retry-budget 60s``) and the
default rate (10/s). After 30 puts are accepted, every request is answered 503
(``POST /_emulator/config {"faults": {"503": 1.0}}``) for D seconds, then the faults are cleared.
Rows in flight during the outage ride it out or fail; the table says how many of each, the most
attempts a row took, and how long the run lasted. Writes ``bench/out/outage.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from batchproxy.emulator.process import spawn, stop

OUT = Path(__file__).parent / "out"
PUT = "PutVoiceConnectorProxy"


def _call(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def _write_input(path: Path, rows: int) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["VoiceConnectorId", "Region", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries"]
        )
        for i in range(rows):
            writer.writerow([f"vc{i:06d}", "us-east-1", "60", "US"])


def _env() -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "AKIDBENCHOUTAGE00001",
        "AWS_SECRET_ACCESS_KEY": "bench-secret-not-used",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def one(outage: float, rows: int, extra: list[str], work: Path) -> dict[str, Any]:
    source = work / f"outage{outage:g}.csv"
    _write_input(source, rows)
    with spawn("--auto-create") as emulator:
        command = [sys.executable, "-m", "batchproxy", "run", str(source), "--endpoint-url", emulator.url]
        command += ["--region", "us-east-1", "--log-format", "json", "--force", *extra]
        started = time.monotonic()
        child = subprocess.Popen(
            command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            while _call(emulator.url, "/_emulator/stats")["accepted_writes"].get(PUT, 0) < 30:
                if time.monotonic() - started > 60:
                    raise RuntimeError("the run did not get going")
                time.sleep(0.05)
            _call(emulator.url, "/_emulator/config", {"faults": {"503": 1.0}})
            began = time.monotonic() - started
            time.sleep(outage)
            _call(emulator.url, "/_emulator/config", {"faults": {"503": 0.0}})
            child.communicate(timeout=outage + 600)
        finally:
            stop(child)
        elapsed = time.monotonic() - started
    with (work / f"outage{outage:g}.results.csv").open(newline="") as results:
        lines = list(csv.DictReader(results))
    statuses = Counter(line["status"] for line in lines)
    return {
        "outage_s": outage,
        "rows": rows,
        "outage_began_s": round(began, 1),
        "ok": statuses["ok"],
        "failed": statuses["failed"],
        "other": rows - statuses["ok"] - statuses["failed"],
        "max_attempts_seen": max(int(line["attempts"] or 0) for line in lines),
        "failed_codes": dict(Counter(line["error_code"] for line in lines if line["status"] == "failed")),
        "exit_code": child.returncode,
        "run_s": round(elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", default="10,30,60,90")
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("extra", nargs="*", help="more batchproxy run options (after --)")
    args = parser.parse_args()
    found = []
    with tempfile.TemporaryDirectory() as work:
        for outage in (float(text) for text in args.outages.split(",")):
            result = one(outage, args.rows, args.extra, Path(work))
            print(json.dumps(result), flush=True)
            found.append(result)
    OUT.mkdir(exist_ok=True)
    (OUT / "outage.json").write_text(json.dumps(found, indent=2) + "\n")
    head = "| outage | rows | ok | failed | most attempts by a row | exit | run time |\n"
    head += "|---|---|---|---|---|---|---|\n"
    body = "".join(
        f"| {r['outage_s']:g} s | {r['rows']} | {r['ok']} | {r['failed']} | {r['max_attempts_seen']} | "
        f"{r['exit_code']} | {r['run_s']} s |\n"
        for r in found
    )
    (OUT / "outage.md").write_text(head + body)
    print(head + body)


if __name__ == "__main__":
    main()
