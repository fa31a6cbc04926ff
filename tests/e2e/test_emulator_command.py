"""``batchproxy emulator`` as a user runs it: a real subprocess, stopped by PID with a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.emulator.helpers import sync_client

REPO = Path(__file__).resolve().parents[2]
COMMAND = (sys.executable, "-m", "batchproxy", "emulator", "--port", "0")


@asynccontextmanager
async def emulator_process(*options: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """Start ``batchproxy emulator --port 0 …``; yield the process and the URL from its first line."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND, *options, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        first_line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        yield process, first_line.decode().strip()
    finally:
        if process.returncode is None:
            process.kill()  # only if the test did not stop it: this is the process we started
        await asyncio.wait_for(process.communicate(), timeout=15)


async def _stop(process: asyncio.subprocess.Process, signum: int = signal.SIGTERM) -> int:
    os.kill(process.pid, signum)
    return await asyncio.wait_for(process.wait(), timeout=15)


async def test_first_line_is_the_url_and_sigterm_exits_zero() -> None:
    """The banner's first stdout line is a loopback URL that serves; SIGTERM ends it with exit 0."""
    async with emulator_process() as (process, url):
        assert url.startswith("http://127.0.0.1:")
        assert int(url.rsplit(":", 1)[1]) > 0
        async with aiohttp.ClientSession() as session, session.get(f"{url}/_emulator/stats") as response:
            assert response.status == 200
        assert await _stop(process) == 0


async def test_sigint_also_exits_zero() -> None:
    """Ctrl-C (SIGINT) is a normal way to stop it too."""
    async with emulator_process() as (process, _url):
        assert await _stop(process, signal.SIGINT) == 0


async def test_connectors_file_seeds_connectors_per_region(tmp_path: Path) -> None:
    """batchproxy's own input CSV seeds the emulator; rows without Region go to --default-region."""
    csv_file = tmp_path / "input.csv"
    csv_file.write_text(
        "\ufeffvoice_connector_id,DefaultSessionExpiryMinutes,PhoneNumberPoolCountries,REGION\n"
        "vc-east,60,US,us-east-1\n"
        "vc-default,60,US,\n",
        encoding="utf-8",
    )
    options = ("--connectors", str(csv_file), "--default-region", "eu-west-2")
    async with emulator_process(*options) as (process, url):
        with sync_client(url, region="eu-west-2") as client:
            answer = await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-default")
            assert answer["VoiceConnector"]["VoiceConnectorId"] == "vc-default"
        with sync_client(url, region="us-east-1") as client:
            await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-east")
        assert await _stop(process) == 0


async def test_dials_from_the_command_line_take_effect() -> None:
    """--rate/--burst and --fail reach the running emulator (read back from its state endpoint)."""
    options = (
        "--rate",
        "5",
        "--burst",
        "2",
        "--region-rate",
        "eu-west-2=1",
        "--fail",
        "503=0.25",
        "--seed",
        "1",
    )
    async with emulator_process(*options) as (process, url):
        async with aiohttp.ClientSession() as session, session.get(f"{url}/_emulator/state") as response:
            dials = (await response.json())["dials"]
        assert dials["rate"] == 5
        assert dials["burst"] == 2
        assert dials["region_rates"] == {"eu-west-2": 1}
        assert dials["faults"] == {"503": 0.25}
        assert await _stop(process) == 0


@pytest.mark.parametrize(
    "options",
    [
        ("--fail", "teapot=1"),
        ("--latency", "soon"),
        ("--region-rate", "eu-west-2"),
        ("--rate-schedule", "0=5"),
    ],
)
def test_bad_options_are_usage_errors(options: tuple[str, ...]) -> None:
    """A dial that cannot be parsed is exit 2 with the option named, before anything listens."""
    done = subprocess.run(
        [*COMMAND, *options], cwd=REPO, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert options[0] in done.stderr
    assert done.stdout == ""


def test_help_lists_every_setting_served() -> None:
    """``batchproxy emulator --help`` names each setting, its operations and its never-put answer."""
    done = subprocess.run(
        [*COMMAND, "--help"], cwd=REPO, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0
    for name in (
        "Termination",
        "Origination",
        "LoggingConfiguration",
        "StreamingConfiguration",
        "EmergencyCallingConfiguration",
        "ExternalSystemsConfiguration",
        "Proxy",
        "AssumeRole",
        "--sts-deny-account",
        "--credential-lifetime",
    ):
        assert name in done.stdout
    logging_line = next(line for line in done.stdout.splitlines() if "LoggingConfiguration " in line)
    assert "Delete" not in logging_line


async def test_sts_dials_and_account_seeding_from_the_command_line(tmp_path: Path) -> None:
    """--sts-* options reach the running emulator; a --connectors AccountId column seeds that account."""
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text("VoiceConnectorId,AccountId\nvc-a,111122223333\nvc-d,\n", encoding="utf-8")
    options = (
        "--connectors",
        str(csv_file),
        "--sts-deny-account",
        "444455556666",
        "--sts-deny-role",
        "Blocked",
        "--sts-throttle",
        "2",
        "--credential-lifetime",
        "60",
        "--absent-answer",
        "Origination=empty",
    )
    async with emulator_process(*options) as (process, url):
        async with aiohttp.ClientSession() as session, session.get(f"{url}/_emulator/state") as response:
            state = await response.json()
        assert await _stop(process) == 0
    dials = state["dials"]
    assert dials["sts_denied_accounts"] == ["444455556666"]
    assert dials["sts_denied_roles"] == ["Blocked"]
    assert dials["sts_throttle"] == 2
    assert dials["credential_lifetime"] == 60
    assert dials["absent_answers"]["Origination"] == "empty"
    assert list(state["accounts"]["111122223333"]["us-east-1"]) == ["vc-a"]
    assert list(state["regions"]["us-east-1"]) == ["vc-d"]
