"""AWS profiles and regions as the AWS CLI has them (issue 9 item 5), through the real CLI.

One emulator subprocess serves every test; it refuses the default chain's key and beta's key, so a
row that succeeds was signed with alpha's key, and a row's region is where the emulator stored it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    HEADER,
    EmulatorProcess,
    aws_env,
    emulator,
    make_rows,
    read_csv,
    run_cli,
    write_csv,
)

DEFAULT_KEY = "AKIDTESTBATCHPROXY01"  # aws_env()'s environment key: the default credential chain
ALPHA_KEY, BETA_KEY = "AKIDALPHAPROFILE0001", "AKIDBETAPROFILE00002"
CREDENTIALS = (
    f"[alpha]\naws_access_key_id = {ALPHA_KEY}\naws_secret_access_key = alpha-secret\n"
    f"[beta]\naws_access_key_id = {BETA_KEY}\naws_secret_access_key = beta-secret\n"
)
CONFIG = "[profile alpha]\nregion = ap-southeast-2\n[profile beta]\nregion = eu-west-2\n"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorProcess]:
    with emulator(
        "--auto-create", "--deny-access-key", DEFAULT_KEY, "--deny-access-key", BETA_KEY
    ) as running:
        yield running


def _requests(emu: EmulatorProcess) -> int:
    by_operation: Mapping[str, Mapping[str, int]] = emu.stats()["by_operation"]
    return sum(sum(outcomes.values()) for outcomes in by_operation.values())


def _env(
    tmp_path: Path, *, config: str = CONFIG, credentials: str = CREDENTIALS, **extra: str
) -> dict[str, str]:
    """The test keys in the environment (the default chain), and two profiles in real AWS files."""
    (tmp_path / "config").write_text(config)
    (tmp_path / "credentials").write_text(credentials)
    return aws_env(
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        **extra,
    )


def _input(tmp_path: Path, count: int, *, region: str = "", profile: str | None = None) -> Path:
    """Rows with connector ids of their own (the emulator is shared) and ``region`` in every Region."""
    prefix = "".join(ch for ch in tmp_path.name if ch.isalnum())[-12:]
    rows = [dict(row, Region=region) for row in make_rows(count, prefix=prefix)]
    if profile is None:
        return write_csv(tmp_path / "input.csv", rows)
    return write_csv(
        tmp_path / "input.csv", [dict(r, Profile=profile) for r in rows], header=(*HEADER, "Profile")
    )


def _run(emu: EmulatorProcess, source: Path, *args: str, env: dict[str, str]) -> Any:
    return run_cli("run", source, "--endpoint-url", emu.url, "--rate", "0", *args, env=env)


def _regions_of(emu: EmulatorProcess, source: Path) -> set[str]:
    ids = {row["VoiceConnectorId"] for row in read_csv(source)}
    return {region for region, vc in emu.proxies() if vc in ids}


def test_profile_option_signs_rows_and_gives_their_region(emu: EmulatorProcess, tmp_path: Path) -> None:
    """`--profile alpha`: every row without a Profile cell is signed with alpha's key (the emulator
    refuses the environment's key) and, with no Region anywhere, lands in alpha's region."""
    source = _input(tmp_path, 6)
    done = _run(emu, source, "--profile", "alpha", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert {line["status"] for line in read_csv(tmp_path / "input.results.csv")} == {"ok"}
    assert _regions_of(emu, source) == {"ap-southeast-2"}


def test_profile_cells_choose_key_and_region(emu: EmulatorProcess, tmp_path: Path) -> None:
    """Rows naming alpha and no Region (the run has none) land in alpha's region, signed with alpha's
    key; rows naming beta are signed with beta's key, which the emulator refuses."""
    source = _input(tmp_path, 6)
    rows = [dict(row, Profile=("alpha", "beta")[i % 2]) for i, row in enumerate(read_csv(source))]
    write_csv(source, rows, header=(*HEADER, "Profile"))
    done = _run(emu, source, env=_env(tmp_path))
    assert done.returncode == 1, done.stderr
    results = read_csv(tmp_path / "input.results.csv")
    assert {(line["Profile"], line["status"], line["error_code"]) for line in results} == {
        ("alpha", "ok", ""),
        ("beta", "failed", "AccessDeniedException"),
    }
    assert _regions_of(emu, source) == {"ap-southeast-2"}


def test_aws_region_wins_over_aws_default_region_and_the_profile(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    """As in the SDKs: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's `region`."""
    source = _input(tmp_path, 3)
    env = _env(tmp_path, AWS_REGION="ca-central-1", AWS_DEFAULT_REGION="sa-east-1")
    assert _run(emu, source, "--profile", "alpha", env=env).returncode == 0
    assert _regions_of(emu, source) == {"ca-central-1"}
    del env["AWS_REGION"]
    assert _run(emu, source, "--profile", "alpha", "--force", env=env).returncode == 0
    assert _regions_of(emu, source) == {"ca-central-1", "sa-east-1"}


# (options, Profile cell, environment, what stderr must say)
UnknownCase = tuple[tuple[str, ...], str | None, dict[str, str], str]


@pytest.mark.parametrize(
    "case",
    [
        (("--profile", "alpah"), None, {}, "--profile 'alpah': no such profile"),
        ((), None, {"AWS_PROFILE": "alpah"}, "AWS_PROFILE 'alpah': no such profile"),
        ((), "alpah", {}, "is not a profile in"),
    ],
    ids=["option", "environment", "cell"],
)
def test_an_unknown_profile_is_a_usage_error_and_sends_nothing(
    emu: EmulatorProcess, tmp_path: Path, case: UnknownCase
) -> None:
    """A misspelt --profile, AWS_PROFILE or Profile cell: exit 2, the profile named, no traceback,
    no request."""
    args, profile_cell, env, named = case
    source = _input(tmp_path, 3, region="us-east-1", profile=profile_cell)
    before = _requests(emu)
    done = _run(emu, source, *args, env=_env(tmp_path, **env))
    assert done.returncode == 2, done.stdout
    assert named in done.stderr
    assert "alpah" in done.stderr
    assert "Traceback" not in done.stderr
    assert _requests(emu) == before


@pytest.mark.parametrize("broken", ["config", "credentials"])
def test_a_malformed_aws_file_is_a_usage_error_naming_it(
    emu: EmulatorProcess, tmp_path: Path, broken: str
) -> None:
    """A config or credentials file botocore cannot parse: exit 2 naming that file, no request."""
    garbage = "aws_access_key_id = no section header above this line\n"
    files = {"config": CONFIG, "credentials": CREDENTIALS} | {broken: garbage}
    source = _input(tmp_path, 3, region="us-east-1")
    before = _requests(emu)
    done = _run(emu, source, env=_env(tmp_path, **files))
    assert done.returncode == 2, done.stdout
    assert str(tmp_path / broken) in done.stderr
    assert "Traceback" not in done.stderr
    assert _requests(emu) == before
    assert not (tmp_path / "input.results.csv").exists()
