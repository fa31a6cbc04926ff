"""A signal that lands while batchproxy is still importing is a clean interruption, not a traceback."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.harness import make_rows, start_cli, stop_process, write_csv


def _caught_signals(pid: int) -> int:
    """The bit mask of signals ``pid`` has a handler for (``SigCgt`` in /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16)
    return 0


def _wait_until_it_catches(pid: int, signum: signal.Signals, timeout: float = 10.0) -> None:
    """Poll until the process has installed a handler for ``signum`` (bounded, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not _caught_signals(pid) & (1 << (signum - 1)):
        assert time.monotonic() < deadline, f"{pid} never caught {signum.name}"
        time.sleep(0.005)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_startup_exits_130_without_traceback(tmp_path: Path, signum: signal.Signals) -> None:
    """SIGINT or SIGTERM in the first fraction of a second: exit 130, one line, no results file."""
    source = write_csv(tmp_path / "input.csv", make_rows(5))
    process = start_cli("run", source, "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1")
    try:
        # The entry point has taken the signals over; botocore and click are still importing.
        _wait_until_it_catches(process.pid, signal.SIGTERM)
        process.send_signal(signum)
        process.wait(timeout=30)
        assert process.stderr is not None
        stderr = process.stderr.read()
    finally:
        stop_process(process)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    assert not (tmp_path / "input.results.csv").exists()
