"""What every comparison benchmark needs: an emulator subprocess, input files, measured child processes.

Everything binds 127.0.0.1, starts processes itself and stops them by PID, and bounds every wait.
CPU seconds and peak RSS of a child come from ``os.wait4`` — the kernel's own accounting of exactly
that child (user + system time, ``ru_maxrss``) — so no sampling and no psutil are needed.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchproxy.emulator.process import spawn

__all__ = [
    "HEADER",
    "Child",
    "Emulator",
    "aws_env",
    "emulator",
    "quantile",
    "run_measured",
    "write_input",
]

HEADER = [
    "VoiceConnectorId",
    "Region",
    "DefaultSessionExpiryMinutes",
    "PhoneNumberPoolCountries",
    "FallBackPhoneNumber",
    "Disabled",
]
REGION = "us-east-1"
_STARTUP_SECONDS = 30.0


def aws_env() -> dict[str, str]:
    """Fixed fake credentials and none of the developer's own AWS configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIDBENCHBATCHPROXY1",
        AWS_SECRET_ACCESS_KEY="bench-secret-not-checked",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def write_input(path: Path, rows: int) -> Path:
    """``rows`` distinct valid rows in one region (one rate domain), with varied settings."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(
                [
                    f"bench{n:017d}",
                    REGION,
                    str(30 + n % 600),
                    ("US", "US;CA", "GB;IE;FR")[n % 3],
                    f"+1212555{n % 100 + 100:04d}" if n % 2 else "",
                    ("true", "false", "")[n % 3],
                ]
            )
    return path


@dataclass
class Emulator:
    url: str
    pid: int

    def stats(self, *, arrivals: bool = False) -> dict[str, Any]:
        path = "/_emulator/stats" + ("?arrivals=1" if arrivals else "")
        with urllib.request.urlopen(self.url + path, timeout=60) as response:
            body: dict[str, Any] = json.loads(response.read())
        return body


@contextmanager
def emulator(*options: str) -> Iterator[Emulator]:
    """``batchproxy emulator --auto-create OPTIONS`` on 127.0.0.1; stopped by PID (SIGTERM) on exit."""
    with spawn("--auto-create", "--seed", "1", *options) as child:
        yield Emulator(url=child.url, pid=child.pid)


@dataclass(frozen=True)
class Child:
    """How a measured child process ended and what it cost."""

    exit_code: int
    wall_seconds: float
    cpu_seconds: float  # user + system
    peak_rss_mb: float
    stderr_tail: str


def run_measured(command: Sequence[str], *, env: dict[str, str], timeout: float, log: Path) -> Child:
    """Run ``command`` to completion (SIGKILL after ``timeout`` s); its own CPU time and peak RSS.

    stdout and stderr go to ``log`` (a file, so a chatty child can never block on a full pipe).
    """
    started = time.monotonic()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(command), env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.kill(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    return Child(
        exit_code=process.returncode,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
        stderr_tail=tail,
    )


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[rank]
