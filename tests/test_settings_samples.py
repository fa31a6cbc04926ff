"""Every sample CSV is valid input for its setting, and every row makes a put the SDK accepts."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from batchproxy.settings import SETTINGS, canonical_column, put_request, rules, setting
from tests.settings_examples import sdk_problems

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.mark.parametrize("name", [n for n in SETTINGS if n != "proxy"])  # proxy's is connectors.csv
def test_sample_is_valid_for_its_setting(name: str) -> None:
    chosen = setting(name)
    with (SAMPLES / f"{name}.csv").open(newline="", encoding="utf-8") as file:
        records = list(csv.reader(file))
    header = [canonical_column(chosen, cell) for cell in records[0]]
    assert [c for c in records[0] if canonical_column(chosen, c) is None] == ["Region"]
    rows = records[1:]
    assert 10 <= len(rows) <= 50
    assert len({row[header.index("VoiceConnectorId")] for row in rows}) == len(rows)
    check = rules(chosen).for_header(header)
    for number, row in enumerate(rows, start=1):
        checked = check(row)
        assert checked.problems == (), f"row {number}: {checked.problems}"
        request = put_request(chosen, row[header.index("VoiceConnectorId")], checked.members)
        assert sdk_problems(chosen, request) == "", f"row {number}"


def test_proxy_sample_is_valid_for_the_proxy_setting() -> None:
    chosen = setting("proxy")
    with (SAMPLES / "connectors.csv").open(newline="", encoding="utf-8") as file:
        records = list(csv.reader(file))
    check = rules(chosen).for_header([canonical_column(chosen, cell) for cell in records[0]])
    assert all(check(row).problems == () for row in records[1:])


DOCS = SAMPLES.parent / "docs" / "settings"
_CSV_BLOCK = re.compile(r"```csv\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_example_on_each_settings_page_is_valid(name: str) -> None:
    """The docs' examples are input the tool accepts, not prose that drifted from the model."""
    chosen = setting(name)
    blocks = _CSV_BLOCK.findall((DOCS / f"{name}.md").read_text(encoding="utf-8"))
    assert blocks
    for block in blocks:
        records = list(csv.reader(io.StringIO(block)))
        check = rules(chosen).for_header([canonical_column(chosen, cell) for cell in records[0]])
        assert [check(row).problems for row in records[1:]] == [()] * (len(records) - 1)
