"""Every voice-connector setting end to end (issue 11, docs/reference.md §9): the real CLI against a real
emulator.

For each setting: run → plan all ``unchanged`` → a second file changes some rows → plan shows exactly
those → run ``--snapshot`` → rollback twice, back to the exact earlier states, read with the setting's
own Get through botocore (so "none" is what AWS would answer). Bad cells of every kind exit 2 with
zero requests at the emulator; ``delete --setting logging`` and a contradicting ``--setting`` too.
Small files (six rows from ``samples/``) and ``--rate 0`` keep it quick.
"""

from __future__ import annotations

import csv
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from batchproxy.settings import SETTINGS, Setting, setting_in
from tests.e2e.harness import EmulatorProcess, aws_env, emulator, read_csv, run_cli

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ROWS = 6
CHANGED = (1, 3)  # the rows (0-based) the second file changes


@dataclass(frozen=True)
class Change:
    """How the second file changes a row: ``column`` gets ``cell``; ``shown`` is how plan writes it."""

    column: str
    cell: str
    shown: str | None  # None: a JSON cell, where plan names paths inside it


CHANGES = {
    "proxy": Change("DefaultSessionExpiryMinutes", "77", "77"),
    "termination": Change("CpsLimit", "77", "77"),
    "origination": Change("Disabled", "true", "true"),
    "logging": Change("EnableSIPLogs", "", None),  # flipped per row, below
    "streaming": Change("DataRetentionInHours", "77", "77"),
    "emergency-calling": Change(
        "DNIS", '[{"EmergencyPhoneNumber":"+12025550100","CallingCountry":"US"}]', None
    ),
    "external-systems": Change(
        "SessionBorderControllerTypes", "CISCO_UNIFIED_BORDER_ELEMENT", "CISCO_UNIFIED_BORDER_ELEMENT"
    ),
}


def _sample(name: str) -> tuple[list[str], list[dict[str, str]]]:
    path = SAMPLES / ("connectors.csv" if name == "proxy" else f"{name}.csv")
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        rows = [row for _, row in zip(range(ROWS), reader, strict=False)]
        assert reader.fieldnames is not None
        return list(reader.fieldnames), rows


def _write(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _changed(name: str, rows: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    change = CHANGES[name]
    out = [dict(row) for row in rows]
    for at in CHANGED:
        cell = change.cell
        if name == "logging":
            cell = "false" if out[at][change.column].lower() == "true" else "true"
        assert out[at][change.column] != cell, "the sample row must differ from the change"
        out[at][change.column] = cell
    return out


def _cli(emu: EmulatorProcess, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, "--endpoint-url", emu.url, "--rate", "0", "--log-format", "json")


def _held(emu: EmulatorProcess, setting: Setting, rows: Sequence[Mapping[str, str]]) -> list[Any]:
    """What each row's connector holds of ``setting``, by its Get through botocore (None: none)."""
    env = aws_env()
    session = botocore.session.get_session()
    held = []
    for row in rows:
        client = session.create_client(
            "chime-sdk-voice",
            region_name=row["Region"],
            endpoint_url=emu.url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        try:
            answer = getattr(client, setting.get_method)(VoiceConnectorId=row["VoiceConnectorId"])
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] != 404:
                raise
            answer = None
        finally:
            client.close()
        held.append(setting_in(setting, answer))
    return held


def _writes(emu: EmulatorProcess) -> int:
    by_operation = emu.stats()["by_operation"]
    return sum(
        sum(counts.values())
        for operation, counts in by_operation.items()
        if operation.startswith(("Put", "Delete"))
    )


def _ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """One emulator for the module, seeded with every sample's first rows (their connectors differ)."""
    seed = tmp_path_factory.mktemp("seed") / "connectors.csv"
    rows = [row for name in SETTINGS for row in _sample(name)[1]]
    _write(
        seed,
        ("VoiceConnectorId", "Region"),
        [{k: r[k] for k in ("VoiceConnectorId", "Region")} for r in rows],
    )
    with emulator("--connectors", str(seed)) as process:
        yield process


@pytest.mark.parametrize("name", list(SETTINGS))
def test_run_plan_change_snapshot_and_rollback_to_the_exact_earlier_states(
    emu: EmulatorProcess, tmp_path: Path, name: str
) -> None:
    """The acceptance round trip of docs/reference.md §9 for one setting, checked by what its Get answers."""
    setting = SETTINGS[name]
    header, rows = _sample(name)
    first = _write(tmp_path / "first.csv", header, rows)
    second = _write(tmp_path / "second.csv", header, _changed(name, rows))
    before = _held(emu, setting, rows)

    _ok(_cli(emu, "run", first, "--setting", name, "--snapshot"))
    applied = _held(emu, setting, rows)
    assert applied != before
    _ok(_cli(emu, "plan", first, "--setting", name))
    assert {line["action"] for line in read_csv(tmp_path / "first.plan.csv")} == {"unchanged"}

    _ok(_cli(emu, "plan", second, "--setting", name))
    plan = read_csv(tmp_path / "second.plan.csv")
    assert [line["action"] for line in plan] == [
        "change" if i in CHANGED else "unchanged" for i in range(ROWS)
    ]
    change = CHANGES[name]
    for at in CHANGED:
        changes = plan[at]["changes"]
        assert changes.startswith(change.column), changes
        new = change.shown or ""
        if name == "logging":
            new = _changed(name, rows)[at][change.column]
        assert changes.endswith(f" -> {new}") or change.shown is None, changes
        assert changes.count(" -> ") == 1 or change.shown is None, "only the changed column"

    _ok(_cli(emu, "run", second, "--setting", name, "--snapshot"))
    changed = _held(emu, setting, rows)
    assert [i for i in range(ROWS) if changed[i] != applied[i]] == list(CHANGED)

    # No --setting: rollback takes it from the results file.
    _ok(_cli(emu, "rollback", tmp_path / "second.results.csv"))
    assert _held(emu, setting, rows) == applied
    _ok(_cli(emu, "rollback", tmp_path / "first.results.csv"))
    assert _held(emu, setting, rows) == before
    actions = {line["action"] for line in read_csv(tmp_path / "first.results.rollback.csv")}
    assert actions == ({"restored"} if name == "logging" else {"deleted"})


@dataclass(frozen=True)
class Bad:
    """One bad cell: in ``name``'s sample, ``column`` of row 3 holds ``cell``; the message ``says``."""

    name: str
    column: str
    cell: str
    says: str


BAD_CELLS = [
    # (kind, Bad(setting, column, cell, what the message says))
    ("missing required member", Bad("streaming", "DataRetentionInHours", "", "is required")),
    (
        "missing required member in JSON",
        Bad(
            "emergency-calling",
            "DNIS",
            '[{"CallingCountry":"US"}]',
            "EmergencyPhoneNumber",
        ),
    ),
    ("wrong type", Bad("origination", "Routes", '[{"Host":"a.example.com","Port":true}]', "Routes[0].Port")),
    ("enum", Bad("external-systems", "SessionBorderControllerTypes", "RIBBON_SBC;NOT_AN_SBC", "NOT_AN_SBC")),
    (
        "pattern",
        Bad(
            "emergency-calling",
            "DNIS",
            '[{"EmergencyPhoneNumber":"+12025550100","CallingCountry":"USA"}]',
            "CallingCountry",
        ),
    ),
    ("range", Bad("origination", "Routes", '[{"Host":"a.example.com","Port":70000}]', "at most 65535")),
    ("range, 32-bit", Bad("proxy", "DefaultSessionExpiryMinutes", "2147483648", "at most 2147483647")),
    ("list size", Bad("proxy", "PhoneNumberPoolCountries", ";".join(["US"] * 101), "at most 100 items")),
    ("malformed JSON", Bad("origination", "Routes", '[{"Host":', "not valid JSON")),
    ("unknown JSON member", Bad("origination", "Routes", '[{"Hots":"a.example.com"}]', "Hots")),
    ("boolean", Bad("logging", "EnableSIPLogs", "maybe", "true or false")),
]


@pytest.mark.parametrize("bad", [bad for _, bad in BAD_CELLS], ids=[kind for kind, _ in BAD_CELLS])
def test_a_bad_cell_of_every_kind_exits_2_with_zero_requests(
    emu: EmulatorProcess, tmp_path: Path, bad: Bad
) -> None:
    """``row N, column C: …`` naming the cell (and the path inside JSON); not one request is sent."""
    name, column, says = bad.name, bad.column, bad.says
    header, rows = _sample(name)
    rows = [dict(row) for row in rows]
    rows[2][column] = bad.cell
    source = _write(tmp_path / "bad.csv", header, rows)
    sent = emu.stats()["total"]
    done = _cli(emu, "run", source, "--setting", name)
    assert done.returncode == 2, done.stderr
    assert emu.stats()["total"] == sent
    problems = [line for line in done.stderr.splitlines() if line.startswith("row ")]
    assert len(problems) == 1, done.stderr
    assert problems[0].startswith(f"row 3, column {column}: "), done.stderr
    assert says in problems[0]
    assert "Traceback" not in done.stderr


def test_delete_logging_exits_2_before_anything_is_sent(emu: EmulatorProcess, tmp_path: Path) -> None:
    header, rows = _sample("logging")
    source = _write(tmp_path / "logging.csv", header, rows)
    sent = emu.stats()["total"]
    done = _cli(emu, "delete", source, "--setting", "logging")
    assert done.returncode == 2
    assert "logging setting has no delete operation" in done.stderr
    assert emu.stats()["total"] == sent
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logging.csv"]


def test_an_unknown_setting_exits_2_listing_the_names(tmp_path: Path) -> None:
    done = run_cli("validate", SAMPLES / "logging.csv", "--setting", "sip-media")
    assert done.returncode == 2
    for name in SETTINGS:
        assert name in done.stderr


def test_a_contradicting_setting_is_refused_by_rollback_and_resume(
    emu: EmulatorProcess, tmp_path: Path
) -> None:
    """The results file records its setting: rollback and --resume refuse another (exit 2, nothing sent)."""
    header, rows = _sample("logging")
    source = _write(tmp_path / "logging.csv", header, rows)
    _ok(_cli(emu, "run", source, "--setting", "logging", "--snapshot"))
    results = tmp_path / "logging.results.csv"
    writes = _writes(emu)
    refused = _cli(emu, "rollback", results, "--setting", "proxy")
    assert refused.returncode == 2
    assert "holds results for the logging setting" in refused.stderr
    resumed = _cli(emu, "run", source, "--resume")  # no --setting: logging, from the record
    _ok(resumed)
    contradicted = _cli(emu, "run", source, "--resume", "--setting", "termination")
    assert contradicted.returncode == 2
    assert "holds results for the logging setting" in contradicted.stderr
    assert _writes(emu) == writes  # the resume found every row done; the refusals sent nothing


def test_proxy_run_warns_once_about_the_end_of_proxy_sessions(emu: EmulatorProcess, tmp_path: Path) -> None:
    header, rows = _sample("proxy")
    source = _write(tmp_path / "proxy.csv", header, rows)
    done = _cli(emu, "run", source)
    _ok(done)
    assert done.stderr.count("AWS ended support for proxy sessions on 2026-04-07") == 1
    assert "`batchproxy delete`" in done.stderr
    logging = _write(tmp_path / "logging.csv", *_sample("logging"))
    assert "ended support" not in _cli(emu, "run", logging, "--setting", "logging").stderr


@pytest.mark.parametrize("name", list(SETTINGS))
def test_emulate_serves_every_setting(tmp_path: Path, name: str) -> None:
    """``--emulate`` seeds the in-process emulator with the input's connectors, whatever the setting."""
    source = _write(tmp_path / f"{name}.csv", *_sample(name))
    done = run_cli("run", source, "--setting", name, "--emulate", "--rate", "0", "--snapshot")
    _ok(done)
    results = read_csv(tmp_path / f"{name}.results.csv")
    assert [line["status"] for line in results] == ["ok"] * ROWS
    # A fresh emulator: nothing was there before (logging answers its defaults).
    assert {line["previous_state"] for line in results} == (
        {'{"EnableSIPLogs":false,"EnableMediaMetricLogs":false}'} if name == "logging" else {"none"}
    )
