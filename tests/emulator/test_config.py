"""The text forms of the dials, and reading connectors from a CSV file."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchproxy.emulator import EmulatorConfig
from batchproxy.emulator.config import parse_duration, parse_faults, parse_rate_schedule, parse_region_rate
from batchproxy.emulator.seeding import read_account_connectors, read_connectors
from batchproxy.emulator.settings import parse_absent_answers


def test_faults_parse_into_probabilities() -> None:
    """``503=0.05,reset=0.01`` is a mapping of kind to probability."""
    assert parse_faults("503=0.05, RESET=0.01,lost=0") == {"503": 0.05, "reset": 0.01, "lost": 0.0}


@pytest.mark.parametrize("text", ["418=0.1", "503", "503=2", "503=0.6,500=0.6"])
def test_impossible_faults_are_refused(text: str) -> None:
    """Unknown kinds, missing or out-of-range probabilities, and a total above 1 are errors."""
    with pytest.raises(ValueError):  # noqa: PT011 - the message is for humans; the type is the contract
        parse_faults(text)


def test_durations_take_units_and_bare_numbers_are_milliseconds() -> None:
    """``20ms``, ``1.5s`` and ``20`` (milliseconds) are seconds as floats."""
    assert parse_duration("20ms") == pytest.approx(0.02)
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("20") == pytest.approx(0.02)


def test_rate_schedule_and_region_rate_parse() -> None:
    """Schedules sort by time; a region rate is one REGION=RATE pair."""
    assert parse_rate_schedule("20:30,0:100,40:150") == ((0, 100), (20, 30), (40, 150))
    assert parse_region_rate("eu-west-2=5") == ("eu-west-2", 5.0)


def test_config_refuses_nonsense() -> None:
    """A negative rate or an unknown deny error cannot even be constructed."""
    with pytest.raises(ValueError, match="rate"):
        EmulatorConfig(rate=-1)
    with pytest.raises(ValueError, match="deny_error"):
        EmulatorConfig(deny_error="TeapotException")


def test_connectors_csv_accepts_any_header_spelling(tmp_path: Path) -> None:
    """Headers match case-insensitively or in snake_case; a BOM is fine; ids are kept as written."""
    path = tmp_path / "c.csv"
    path.write_text(
        "\ufeffREGION,voice_connector_id,Other\nap-northeast-1, a ,x\n,b,y\n\n,,z\n", encoding="utf-8"
    )
    assert read_connectors(path, "us-west-2") == [("ap-northeast-1", " a "), ("us-west-2", "b")]


def test_connectors_csv_needs_the_id_column(tmp_path: Path) -> None:
    """Without a VoiceConnectorId column the file cannot name connectors."""
    path = tmp_path / "c.csv"
    path.write_text("Region\nus-east-1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="VoiceConnectorId"):
        read_connectors(path, "us-east-1")


def test_connectors_csv_reads_the_account_from_account_id_or_role_arn(tmp_path: Path) -> None:
    """An AccountId cell, or the account inside a RoleArn, names the connector's account; else none."""
    path = tmp_path / "c.csv"
    path.write_text(
        "VoiceConnectorId,account_id,RoleArn\n"
        "a,111122223333,\n"
        "b,,arn:aws:iam::444455556666:role/Admin\n"
        "c,,\n",
        encoding="utf-8",
    )
    assert read_account_connectors(path, "us-east-1") == [
        ("111122223333", "us-east-1", "a"),
        ("444455556666", "us-east-1", "b"),
        ("", "us-east-1", "c"),
    ]


def test_absent_answers_are_checked() -> None:
    """Only served settings and the three kinds of answer are accepted."""
    assert parse_absent_answers({"Termination": "empty"}) == {"Termination": "empty"}
    with pytest.raises(ValueError, match="unknown setting"):
        EmulatorConfig(absent_answers={"Proxy": "empty"})
    with pytest.raises(ValueError, match="must be one of"):
        EmulatorConfig(absent_answers={"Termination": "sometimes"})
    with pytest.raises(ValueError, match="credential_lifetime"):
        EmulatorConfig(credential_lifetime=0)
