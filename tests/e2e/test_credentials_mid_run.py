"""Credentials that stop working mid-run (issue 10 item 3), through the CLI against the emulator.

The emulator is switched while the run is under way (``POST /_emulator/config``): an access key
denied, or every temporary key it issued expired. The domain must stop: no row ``failed`` with an
auth error, the rest ``skipped``, the summary says why once, exit 1; ``--resume`` with working
credentials then completes every row, each sent once more at most.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.harness import (
    HEADER,
    EmulatorProcess,
    aws_env,
    emulator,
    make_rows,
    read_csv,
    run_cli,
    start_cli,
    stop_process,
    write_csv,
)

ROWS = 240
PUT = "PutVoiceConnectorProxy"
KEY = aws_env()["AWS_ACCESS_KEY_ID"]
ACCOUNT = "210987654321"


def _writes(emu: EmulatorProcess) -> int:
    writes: int = emu.stats()["accepted_writes"].get(PUT, 0)
    return writes


def _switch_after(emu: EmulatorProcess, writes: int, **dials: Any) -> None:
    """Wait (bounded) until ``writes`` puts were accepted, then change the emulator's dials."""
    deadline = time.monotonic() + 60
    while _writes(emu) < writes:
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.05)
    emu.configure(**dials)


def _run_and_switch(source: Path, emu: EmulatorProcess, env: dict[str, str], **dials: Any) -> str:
    """The CLI at 40 rows/s; the dials change after 40 accepted writes. Returns its stdout+stderr."""
    args = ("run", source, "--endpoint-url", emu.url, "--region", "us-east-1", "--rate", "40")
    child = start_cli(*args, "--log-format", "json", env=env)
    try:
        _switch_after(emu, 40, **dials)
        out, err = child.communicate(timeout=120)
    finally:
        stop_process(child)
    assert child.returncode == 1, err
    assert "Traceback" not in err
    return out + err


def _check_stopped(results: Path, text: str, cause: str) -> Counter[str]:
    lines = read_csv(results)
    assert [int(line["row"]) for line in lines] == list(range(1, ROWS + 1))
    statuses = Counter(line["status"] for line in lines)
    assert statuses["failed"] == 0, [line for line in lines if line["status"] == "failed"][:3]
    assert statuses["ok"] >= 40
    assert statuses["skipped"] > ROWS // 4
    assert text.count(cause) == 1, text[-3000:]
    return statuses


def test_a_key_revoked_mid_run_stops_the_domain_and_resume_completes(tmp_path: Path) -> None:
    """403 AccessDenied after successes: 5 in a row trip the breaker, every unfinished row skipped."""
    source = write_csv(tmp_path / "in.csv", make_rows(ROWS))
    results = tmp_path / "in.results.csv"
    with emulator("--auto-create") as emu:
        text = _run_and_switch(source, emu, aws_env(), denied_access_keys=[KEY])
        statuses = _check_stopped(results, text, "the credentials were revoked or lost a permission")
        sent_before = _writes(emu)
        assert sent_before == statuses["ok"]
        emu.configure(denied_access_keys=[])
        resumed = run_cli(
            "run", source, "--endpoint-url", emu.url, "--region", "us-east-1", "--resume", "--rate", "0"
        )
        assert resumed.returncode == 0, resumed.stderr
        assert _writes(emu) == ROWS  # the skipped rows, each once, and nothing sent twice
    assert {line["status"] for line in read_csv(results)} == {"ok"}


def _temporary_credentials(emu: EmulatorProcess) -> dict[str, str]:
    """A session from the emulator's STS, as a role assumed by an operator would give."""
    sts = boto3.client(
        "sts",
        endpoint_url=emu.url,
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key="test-secret-not-used-for-anything",
    )
    granted = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/batchproxy", RoleSessionName="batchproxy-test"
    )
    keys = granted["Credentials"]
    return aws_env(
        AWS_ACCESS_KEY_ID=keys["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=keys["SecretAccessKey"],
        AWS_SESSION_TOKEN=keys["SessionToken"],
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_credentials_expiring_mid_run_stop_the_domain_at_once_and_resume_completes(tmp_path: Path) -> None:
    """ExpiredTokenException trips the breaker on its first answer; new credentials finish the run."""
    source = write_csv(tmp_path / "in.csv", make_rows(ROWS))
    results = tmp_path / "in.results.csv"
    with emulator("--auto-create") as emu:
        text = _run_and_switch(source, emu, _temporary_credentials(emu), expire_credentials=True)
        _check_stopped(results, text, "expired during the run (ExpiredTokenException)")
        expired = [line for line in read_csv(results) if line["error_code"] == "ExpiredTokenException"]
        assert expired
        assert all(line["status"] == "skipped" for line in expired)
        args = ("run", source, "--endpoint-url", emu.url, "--region", "us-east-1", "--resume", "--rate", "0")
        resumed = run_cli(*args, env=_temporary_credentials(emu))
        assert resumed.returncode == 0, resumed.stderr
        assert emu.stats()["writes_by_account"].get(ACCOUNT, 0) == ROWS  # nothing sent twice
    assert {line["status"] for line in read_csv(results)} == {"ok"}


def test_one_profile_revoked_mid_run_stops_only_its_domain_and_the_summary_says_why(tmp_path: Path) -> None:
    """Two profiles; one key is revoked mid-run: its rows are skipped, the other profile finishes,
    and the summary names the stopped domain once (a note: the run itself was not stopped)."""
    alpha, beta = "AKIDALPHAPROFILE0001", "AKIDBETAPROFILE00002"
    (tmp_path / "credentials").write_text(
        f"[alpha]\naws_access_key_id = {alpha}\naws_secret_access_key = a\n"
        f"[beta]\naws_access_key_id = {beta}\naws_secret_access_key = b\n"
    )
    env = aws_env(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"))
    rows = [dict(row, Profile=("alpha", "beta")[i % 2]) for i, row in enumerate(make_rows(ROWS))]
    source = write_csv(tmp_path / "in.csv", rows, header=(*HEADER, "Profile"))
    with emulator("--auto-create") as emu:
        text = _run_and_switch(source, emu, env, denied_access_keys=[beta])
    lines = read_csv(tmp_path / "in.results.csv")
    by_profile = {
        name: Counter(line["status"] for line in lines if line["Profile"] == name)
        for name in ("alpha", "beta")
    }
    assert by_profile["alpha"] == Counter(ok=ROWS // 2)
    assert by_profile["beta"]["failed"] == 0
    assert by_profile["beta"]["skipped"] > 0
    # Said once, on the summary's line for the refused profile, while the run went on for alpha.
    assert text.count("for profile beta in us-east-1 in a row were refused") == 1
    assert "refused:  profile beta:" in text
