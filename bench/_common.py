"""What every comparison benchmark needs: an emulator subprocess, input files, measured child processes.

Everything binds 127.0.0.1, starts processes itself and stops them by PID, and bounds every wait.
CPU seconds and peak RSS of a child come from ``os.wait4`` — the kernel's own accounting of exactly
that child (user + system time, ``ru_maxrss``) — so no sampling and no psutil are needed.
"""

from __future__ import annotations

import compileall
import csv
import json
import os
import platform
import signal
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

# Where every benchmark keeps its results (tables as Markdown, raw numbers as JSON).
OUT = Path(__file__).resolve().parent / "out"

__all__ = [
    "HEADER",
    "PACKAGES",
    "REPO",
    "Child",
    "Emulator",
    "aws_env",
    "emulator",
    "environment",
    "interleaved",
    "pin",
    "quantile",
    "run_measured",
    "spread",
    "spread_text",
    "write_input",
]

REPO = Path(__file__).resolve().parents[1]
# What a results file names the versions of: everything on the request path of batchproxy and the loop.
PACKAGES = ("botocore", "aiobotocore", "aioboto3", "boto3", "aiohttp", "anyio", "tenacity")

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


def environment(source: Path | None = None) -> dict[str, Any]:
    """What a results file must say to be re-runnable: commit, versions, machine and its load.

    ``source``: the checkout measured; by default the one ``batchproxy`` is imported from (which is not
    this script's when ``PYTHONPATH`` points at another checkout for a before/after comparison).
    """
    if source is None:
        import batchproxy  # noqa: PLC0415 -- only to find where it comes from

        source = Path(batchproxy.__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {
        "source": str(source),
        "bytecode_compiled": compile_bytecode(source),
        "commit": git("rev-parse", "HEAD") or "(not a git checkout)",
        # Results files under bench/out do not make the measured code dirty.
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/out")),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def compile_bytecode(source: Path) -> bool:
    """Compile the measured checkout's modules to bytecode first, as installing a package does.

    pip compiles a package's modules when it installs them, and Python caches the bytecode of what it
    imports unless told not to: this workplace sets ``PYTHONDONTWRITEBYTECODE``. Without this step,
    every measured run of a checkout would compile its ~100 modules from source (~0.1 s of CPU),
    while the SDKs the other clients use come compiled in site-packages: not a like-for-like start.
    """
    return bool(compileall.compile_dir(source / "batchproxy", quiet=1))


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def interleaved(items: Sequence[str], reps: int) -> Iterator[tuple[int, str]]:
    """(repetition, item) with the order rotated each repetition, so a slow spell of a shared machine
    falls on every item alike and neither side of a pair is always first."""
    for rep in range(reps):
        shift = rep % len(items)
        for item in [*items[shift:], *items[:shift]]:
            yield rep, item


def spread(values: Collection[float]) -> dict[str, float]:
    """Median, min and max (nan for none)."""
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def spread_text(values: Collection[float], fmt: str = "{:,.0f}") -> str:
    """``median (min-max)`` (an en dash in the text), or the value alone when all are the same."""
    if not values:
        return "–"
    s = spread(values)
    low, high = fmt.format(s["min"]), fmt.format(s["max"])
    if low == high:
        return fmt.format(s["median"])
    return f"{fmt.format(s['median'])} ({low}–{high})"


def provenance(env: dict[str, Any], reps: int, *, up_to: bool = False, aside: str = "") -> str:
    """The line under a results table: what the numbers are, and the commit, Python and load they had.

    ``up_to``: some sizes ran fewer times; ``aside``: a parenthesis saying which.
    """
    count = f"up to {reps}" if up_to else str(reps)
    aside = f" ({aside})" if aside else ""
    return (
        f"Median (min–max) of {count} interleaved repetitions{aside}. Commit {env['commit'][:10]}, "
        f"Python {env['python']}; load average (1 min) at start {env['load_average_at_start'][0]:.2f}.\n"
    )


def publish(name: str, text: str, raw: dict[str, Any]) -> None:
    """Print a results table and keep it, with its raw numbers, as ``bench/out/<name>.{md,json}``."""
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.md").write_text(text, encoding="utf-8")
    (OUT / f"{name}.json").write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")


def pin(pid: int, cpus: set[int]) -> None:
    """Keep every thread of ``pid`` on ``cpus`` (``--pin``: emulator and client on separate cores)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cpus)


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
    # Imported here, not at the top: a measuring parent stays small. On Linux a child's peak RSS
    # (ru_maxrss) starts from its parent's at fork, so a big parent would hide a small child's peak.
    from batchproxy.emulator.process import spawn  # noqa: PLC0415

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


def run_measured(
    command: Sequence[str], *, env: dict[str, str], timeout: float, log: Path, cpus: set[int] | None = None
) -> Child:
    """Run ``command`` to completion (SIGKILL after ``timeout`` s); its own CPU time and peak RSS.

    stdout and stderr go to ``log`` (a file, so a chatty child can never block on a full pipe).
    ``cpus``: the cores the child may run on (inherited by its threads), None for any. The child runs
    in ``log``'s directory: ``python -m batchproxy`` puts its working directory first on ``sys.path``,
    so a child started inside a checkout would run that checkout whatever ``PYTHONPATH`` names.
    """
    started = time.monotonic()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(command),
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=log.parent,
        )
        if cpus is not None:
            os.sched_setaffinity(process.pid, cpus)  # before it has done more than start Python
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
