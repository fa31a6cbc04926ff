"""Where a run's side files go when its input is a stream, and one warning for unknown columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from batchproxy import input as input_file
from batchproxy.config import RunConfig
from batchproxy.errors import UsageError
from batchproxy.input_streams import config_for, invalid_report_path, named_after
from batchproxy.operations import PutSetting
from tests.e2e.harness import aws_env

HEADER = "VoiceConnectorId,DefaultSessionExpiryMinutes,PhoneNumberPoolCountries,Region"


@pytest.mark.parametrize(
    ("results", "kind", "expected"),
    [
        ("out/run1.results.csv", "failed", "out/run1.failed.csv"),
        ("out/run1.csv", "invalid", "out/run1.invalid.csv"),
        ("run.results", "failed", "run.failed.csv"),
    ],
)
def test_reports_are_named_after_the_results_path(results: str, kind: str, expected: str) -> None:
    assert named_after(Path(results), kind) == Path(expected)


def _config(input_path: Path, results: Path | None = None) -> RunConfig:
    paths = PutSetting().default_paths(input_path)
    return RunConfig(
        input_path=input_path,
        results_path=results or paths.results,
        failures_path=paths.failures,
        region="us-east-1",
        profile=None,
        endpoint_url=None,
    )


def test_a_stream_needs_results_and_then_its_reports_follow_them(tmp_path: Path) -> None:
    """A pipe (spooled) without --results is refused; with it, the failure report goes beside it."""
    read, write = os.pipe()
    os.write(write, f"{HEADER}\nvc-1,60,US,us-east-1\n".encode())
    os.close(write)
    pipe = Path(f"/dev/fd/{read}")
    try:
        with input_file.open_input(pipe) as source:
            assert not source.regular
            with pytest.raises(UsageError, match="pass --results PATH"):
                config_for(_config(pipe), PutSetting(), source)
            config = config_for(_config(pipe, tmp_path / "a.results.csv"), PutSetting(), source)
            assert config.failures_path == tmp_path / "a.failed.csv"
            assert invalid_report_path(config, source) == tmp_path / "a.invalid.csv"
    finally:
        os.close(read)


def test_a_regular_file_keeps_its_paths(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f"{HEADER}\n")
    config = _config(path)
    with input_file.open_input(path) as source:
        assert config_for(config, PutSetting(), source) is config
        assert invalid_report_path(config, source) == tmp_path / "in.invalid.csv"


def test_many_unknown_columns_log_one_warning_with_the_count(tmp_path: Path) -> None:
    """10,000 unknown columns: one line, the count and the first five names (not 10,000 lines)."""
    extra = [f"extra{n}" for n in range(10_000)]
    path = tmp_path / "wide.csv"
    path.write_text(
        ",".join([HEADER, *extra]) + "\n" + ",".join(["vc-1,60,US,us-east-1", *("x" * 10_000)]) + "\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "batchproxy", "validate", str(path), "--log-format", "json"],
        env=aws_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warnings = [json.loads(line) for line in done.stderr.splitlines() if "unknown column" in line]
    assert len(warnings) == 1
    assert warnings[0]["count"] == 10_000
    assert warnings[0]["first"] == extra[:5]
