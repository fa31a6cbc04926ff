"""A signal that lands while batchproxy is still importing is a clean interruption, not a traceback."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.harness import make_rows, start_cli, stop_process, write_csv


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_startup_exits_130_without_traceback(tmp_path: Path, signum: signal.Signals) -> None:
    """SIGINT or SIGTERM in the first fraction of a second: exit 130, one line, no results file."""
    source = write_csv(tmp_path / "input.csv", make_rows(5))
    process = start_cli("run", source, "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1")
    try:
        time.sleep(0.3)  # the interpreter is up; botocore and click are still importing
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
