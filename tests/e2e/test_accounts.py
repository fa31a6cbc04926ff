"""Many accounts (docs/reference.md §10): the real CLI as a subprocess, assuming a role per account.

The emulator runs in the test's event loop (``serve``), so that the test can read what it holds per
account and every temporary key it issued; the CLI runs as a subprocess against it with ordinary base
keys, ``--endpoint-url`` for Chime and ``AWS_ENDPOINT_URL_STS`` for STS (botocore's own resolution).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import anyio
import pytest

from batchproxy.emulator import Emulator, EmulatorConfig, serve
from tests.e2e.harness import aws_env, read_csv

ROLE = "BatchproxyDeployer"
REGIONS = ("us-east-1", "eu-west-2")
HEADER = (
    "VoiceConnectorId",
    "Region",
    "DefaultSessionExpiryMinutes",
    "PhoneNumberPoolCountries",
    "AccountId",
)


def account(n: int) -> str:
    return f"{210000000000 + n}"


def role_arn(n: int) -> str:
    return f"arn:aws:iam::{account(n)}:role/{ROLE}"


def write_input(path: Path, accounts: int, regions: Sequence[str] = REGIONS, rows_each: int = 1) -> Path:
    """``rows_each`` rows per (account, region), interleaved the way a real export would list them."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for k in range(rows_each):
            for n in range(accounts):
                for region in regions:
                    writer.writerow([f"vc-{n}-{region}-{k}", region, str(30 + n % 7), "US;CA", account(n)])
    return path


def seeds(
    accounts: int, regions: Sequence[str] = REGIONS, rows_each: int = 1
) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (account(n), region, f"vc-{n}-{region}-{k}")
        for n in range(accounts)
        for region in regions
        for k in range(rows_each)
    )


async def run_cli(*args: str | Path, emulator: Emulator, timeout: float = 120) -> tuple[int, str, str]:
    """``batchproxy ARGS`` against ``emulator`` (Chime and STS), to completion."""
    env = aws_env(AWS_ENDPOINT_URL_STS=emulator.url)
    command = [sys.executable, "-m", "batchproxy", *map(str, args), "--endpoint-url", emulator.url]
    with anyio.fail_after(timeout):
        done = await anyio.run_process(command, env=env, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def proxy_of(emulator: Emulator, n: int, region: str, k: int = 0) -> object:
    connector = emulator.account(account(n)).connector(region, f"vc-{n}-{region}-{k}")
    return None if connector is None else connector.proxy


def files_in(folder: Path) -> list[str]:
    """The text of every file the run wrote (results, failure report, sidecar, invalid report)."""
    return [path.read_text(errors="replace") for path in folder.iterdir()]


def leaked_pieces(emulator: Emulator, texts: Iterable[str]) -> list[str]:
    """Every 12-character piece of every secret key and session token the emulator issued that
    appears in ``texts``: the redaction must not depend on a token's length or shape."""
    pieces = {
        secret[i : i + 12]
        for session in emulator.sessions
        for secret in (session.secret_access_key, session.session_token)
        for i in range(len(secret) - 11)
    }
    found = []
    for text in texts:
        found += [piece for piece in pieces if piece in text]
    return found


async def test_every_write_lands_in_its_rows_account_with_one_assume_role_each(tmp_path: Path) -> None:
    """200 accounts x 2 regions: each row's put reaches its own account, each role is assumed once,
    and no temporary secret appears in stdout, stderr or any file the run wrote."""
    accounts = 200
    source = write_input(tmp_path / "accounts.csv", accounts)
    async with serve(EmulatorConfig(account_connectors=seeds(accounts))) as emulator:
        code, stdout, stderr = await run_cli(
            "run", source, "--role-name", ROLE, "--rate", "0", "--concurrency", "64", emulator=emulator
        )
        assert code == 0, stderr
        assert "every row ok" in stdout
        for n in range(accounts):
            for region in REGIONS:
                assert proxy_of(emulator, n, region) is not None, (n, region)
        assert emulator.state.connector("us-east-1", "vc-0-us-east-1-0") is None  # not the default account
        assert dict(emulator.stats.assume_role_requests) == {role_arn(n): 1 for n in range(accounts)}
        assert dict(emulator.stats.assume_role_granted) == {role_arn(n): 1 for n in range(accounts)}
        assert emulator.stats.writes_by_account == {account(n): len(REGIONS) for n in range(accounts)}
        assert f"{account(7)} / eu-west-2" in stdout  # the per-domain lines name accounts
        outputs = [stdout, stderr, *files_in(tmp_path)]
        assert len(list(emulator.sessions)) == accounts
        assert leaked_pieces(emulator, outputs) == []


async def test_refused_accounts_are_skipped_the_rest_finish_and_resume_picks_them_up(tmp_path: Path) -> None:
    """Two accounts refuse the role: their rows are skipped with the reason, asked once; the other
    198 finish; exit 1 and the summary names both. Once allowed, --resume sends exactly those rows."""
    accounts, denied = 200, {account(3), account(150)}
    source = write_input(tmp_path / "accounts.csv", accounts)
    config = EmulatorConfig(account_connectors=seeds(accounts), sts_denied_accounts=frozenset(denied))
    async with serve(config) as emulator:
        code, stdout, stderr = await run_cli(
            "run", source, "--role-name", ROLE, "--rate", "0", "--concurrency", "64", emulator=emulator
        )
        assert code == 1, stderr
        for n in (3, 150):
            assert emulator.stats.assume_role_requests[role_arn(n)] == 1  # asked once per run
            # The summary fits 80 columns, so a long line may be wrapped: compare words, not lines.
            said = f"account {account(n)}: AssumeRole {role_arn(n)} refused (AccessDenied)"
            assert said in " ".join(stdout.split())
        rows = read_csv(tmp_path / "accounts.results.csv")
        skipped = [row for row in rows if row["status"] == "skipped"]
        assert {row["AccountId"] for row in skipped} == denied
        assert len(skipped) == 4
        assert all(
            row["error_code"] == "AccessDenied" and "refused" in row["error_message"] for row in skipped
        )
        assert sum(row["status"] == "ok" for row in rows) == 2 * (accounts - 2)

        emulator.sts.denied_accounts.clear()
        code, stdout, stderr = await run_cli(
            "run", source, "--role-name", ROLE, "--rate", "0", "--resume", emulator=emulator
        )
        assert code == 0, stdout + stderr
        assert all(row["status"] == "ok" for row in read_csv(tmp_path / "accounts.results.csv"))
        assert emulator.stats.writes_by_account[account(3)] == 2


async def test_sts_throttling_and_5xx_are_retried(tmp_path: Path) -> None:
    """STS answers Throttling (400) and ServiceUnavailable (503) a few times: retried, every row ok."""
    accounts = 20
    source = write_input(tmp_path / "accounts.csv", accounts)
    config = EmulatorConfig(account_connectors=seeds(accounts), sts_throttle=6, sts_failures=3)
    async with serve(config) as emulator:
        code, stdout, stderr = await run_cli(
            "run", source, "--role-name", ROLE, "--rate", "0", "--concurrency", "32", emulator=emulator
        )
        assert code == 0, stdout + stderr
        assert sum(emulator.stats.assume_role_requests.values()) == accounts + 9
        assert dict(emulator.stats.assume_role_granted) == {role_arn(n): 1 for n in range(accounts)}
        assert all(row["status"] == "ok" for row in read_csv(tmp_path / "accounts.results.csv"))


async def test_a_run_outlasting_its_credentials_refreshes_them(tmp_path: Path) -> None:
    """Sessions last 3 s and the run about 8 s: credentials are refreshed ahead of expiry, every row ok
    at its first attempt, and the refreshed secrets are redacted like the first ones."""
    accounts, rows_each = 2, 40
    source = write_input(tmp_path / "accounts.csv", accounts, ("us-east-1",), rows_each)
    config = EmulatorConfig(
        account_connectors=seeds(accounts, ("us-east-1",), rows_each), credential_lifetime=3
    )
    async with serve(config) as emulator:
        code, stdout, stderr = await run_cli(
            "run", source, "--role-name", ROLE, "--rate", "5", "--burst", "1", emulator=emulator
        )
        assert code == 0, stdout + stderr
        rows = read_csv(tmp_path / "accounts.results.csv")
        assert all(row["status"] == "ok" and row["attempts"] == "1" for row in rows)
        for n in range(accounts):
            assert emulator.stats.assume_role_granted[role_arn(n)] >= 3  # first, then refreshed
        outputs = [stdout, stderr, *files_in(tmp_path)]
        assert leaked_pieces(emulator, outputs) == []


INVALID_ROWS = [
    ("vc-a", "us-east-1", "60", "US", "12345", "", ""),  # AccountId not 12 digits
    ("vc-b", "us-east-1", "60", "US", "", "arn:aws:iam::123456789012:user/Bob", ""),  # not a role
    ("vc-c", "us-east-1", "60", "US", "123456789012", "arn:aws:iam::123456789012:role/X", ""),  # both
    ("vc-d", "us-east-1", "60", "US", "123456789012", "", "default"),  # Profile with AccountId
    ("vc-e", "cn-north-1", "60", "US", "", "arn:aws:iam::123456789012:role/X", ""),  # partition
]


@pytest.mark.parametrize("role_name", [ROLE, None])
async def test_validation_errors_send_nothing_not_even_sts(tmp_path: Path, role_name: str | None) -> None:
    """Every malformed AccountId/RoleArn combination is exit 2 with nothing sent, STS included; without
    --role-name an AccountId row is one more problem."""
    source = tmp_path / "bad.csv"
    with source.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow((*HEADER, "RoleArn", "profile"))
        writer.writerow(("vc-ok", "us-east-1", "60", "US", "123456789012", "", ""))
        writer.writerows(INVALID_ROWS)
    async with serve(EmulatorConfig()) as emulator:
        args: list[str | Path] = ["run", source, "--rate", "0"]
        if role_name is not None:
            args += ["--role-name", role_name]
        code, stdout, stderr = await run_cli(*args, emulator=emulator)
        assert code == 2, stdout + stderr
        assert emulator.stats.count() == 0
        assert sum(emulator.stats.assume_role_requests.values()) == 0
    problems = read_csv(tmp_path / "bad.invalid.csv")
    by_row = {(p["row"], p["column"]) for p in problems}
    expected = {("2", "AccountId"), ("3", "RoleArn"), ("4", "RoleArn"), ("5", "Profile"), ("6", "RoleArn")}
    if role_name is None:
        expected |= {("1", "AccountId"), ("4", "AccountId"), ("5", "AccountId")}
    assert by_row == expected
    assert not (tmp_path / "bad.results.csv").exists()


async def test_a_bad_role_session_name_is_a_usage_error(tmp_path: Path) -> None:
    source = write_input(tmp_path / "accounts.csv", 1)
    async with serve(EmulatorConfig()) as emulator:
        code, _, stderr = await run_cli(
            "run", source, "--role-name", ROLE, "--role-session-name", "no spaces", emulator=emulator
        )
        assert code == 2
        assert "--role-session-name" in stderr
        assert emulator.stats.count() == 0


async def test_emulate_answers_assume_role_itself(tmp_path: Path) -> None:
    """--emulate seeds each row's connector in its account and answers AssumeRole in-process."""
    source = write_input(tmp_path / "accounts.csv", 5)
    command = [sys.executable, "-m", "batchproxy", "run", str(source), "--emulate", "--role-name", ROLE]
    with anyio.fail_after(120):
        done = await anyio.run_process(command, env=aws_env(), check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert "210000000004 / eu-west-2" in done.stdout.decode()
    assert all(row["status"] == "ok" for row in read_csv(tmp_path / "accounts.results.csv"))
