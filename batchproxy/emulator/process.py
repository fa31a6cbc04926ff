"""``batchproxy emulator`` as a child process: started on a free loopback port, stopped by PID.

For scripts, benchmarks and tests that want the emulator in its own process (so its CPU is not theirs):

    with spawn("--rate", "100", "--auto-create") as child:
        client = boto3.client("chime-sdk-voice", endpoint_url=child.url, ...)
"""

from __future__ import annotations

import contextlib
import selectors
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

__all__ = ["SpawnedEmulator", "spawn", "stop"]

_STARTUP_SECONDS = 20.0
_STOP_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class SpawnedEmulator:
    url: str
    process: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def spawn(*options: str, startup_seconds: float = _STARTUP_SECONDS) -> Iterator[SpawnedEmulator]:
    """Start ``batchproxy emulator --host 127.0.0.1 --port 0 OPTIONS``; yield once it printed its URL."""
    command = [sys.executable, "-m", "batchproxy", "emulator", "--host", "127.0.0.1", "--port", "0"]
    # stderr goes to a file, not a pipe: nobody reads a pipe while the emulator runs, and a full one
    # would stall it. The file is read only to explain a failed start.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([*command, *options], stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            yield SpawnedEmulator(url=_banner(process, errors, startup_seconds), process=process)
        finally:
            stop(process)


def _banner(process: subprocess.Popen[str], errors: IO[bytes], timeout: float) -> str:
    """The URL the emulator prints as its first line of stdout (docs/reference.md §6)."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=timeout)
    line = process.stdout.readline().strip() if ready else ""
    if not line.startswith("http://127.0.0.1:"):
        stop(process)
        errors.seek(0)
        reason = errors.read().decode(errors="replace").strip() or "no URL on stdout in time"
        raise RuntimeError(f"the emulator did not start: {reason}")
    return line


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM by PID, SIGKILL if it is still there after 10 s; then close its pipes."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_SECONDS)
    for stream in (process.stdout, process.stderr, process.stdin):
        if stream is not None and not stream.closed:
            stream.close()
