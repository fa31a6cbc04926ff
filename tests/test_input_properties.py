"""Property-based tests of the input reader (issue 10, item 1), with hypothesis.

Two promises: whatever bytes a file holds, reading it ends in a ``Scan`` or a one-line ``UsageError``
(never another exception, never a multi-line message that could forge log lines); and valid rows,
written by the csv module with any line ending, any quoting, an optional BOM, come back as the same
values. Each example is a real file on disk, read through the public API in this process.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchproxy.errors import UsageError
from batchproxy.input import Scan, read_input_header, scan
from batchproxy.rows import Row

HEADER = "VoiceConnectorId,DefaultSessionExpiryMinutes,PhoneNumberPoolCountries,FallBackPhoneNumber"
HEADER += ",Disabled,Region,Notes"
# Few, slow examples: each one reads a file several times. No deadline: the machine is shared.
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that looks like CSV and exercises every branch of the reader: separators, quotes, every line
# ending, NUL, a BOM, non-ASCII, whitespace, and lone bytes that are not UTF-8 (added as bytes below).
_CSVISH = st.text(alphabet=st.sampled_from(list(',;\t|"\r\n\0 ab1-+éU\ufeff\u202e')), max_size=400)
_HEADERS = st.sampled_from([HEADER, "VoiceConnectorId", HEADER.replace(",", ";"), ""])


def _hostile_bytes() -> st.SearchStrategy[bytes]:
    raw = st.binary(max_size=600)
    csvish = st.tuples(_HEADERS, _CSVISH, st.binary(max_size=4)).map(
        lambda parts: (parts[0] + "\n" + parts[1]).encode("utf-8") + parts[2]
    )
    utf16 = st.tuples(_HEADERS, _CSVISH).map(lambda parts: (parts[0] + "\n" + parts[1]).encode("utf-16"))
    return st.one_of(raw, csvish, utf16, st.binary(max_size=8).map(lambda b: codecs.BOM_UTF8 + b))


def _scratch(content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "input.csv"
        path.write_bytes(content)
        yield path


def _read_everything(path: Path) -> Scan | UsageError:
    """Every public way of reading the file, to the end; the first UsageError ends it."""
    try:
        read_input_header(path, needs_settings=False)
        result = scan(path, default_region="us-east-1", needs_settings=True)
        items = list(result.rows())
        assert len(items) == result.row_count
        if not result.ok:
            report = result.write_invalid_report(path.with_name("input.invalid.csv"))
            assert report.read_bytes().count(b"\n") >= result.problem_count + 1
        return result
    except UsageError as exc:
        return exc


@SETTINGS
@given(_hostile_bytes())
def test_any_bytes_give_a_scan_or_a_one_line_usage_error(content: bytes) -> None:
    """Random and CSV-like bytes: only ``UsageError`` escapes, its message on one printable line."""
    for path in _scratch(content):
        outcome = _read_everything(path)
        if isinstance(outcome, UsageError):
            message = str(outcome)
            assert message.isprintable(), message
            assert "input.csv" in message, message  # names the file
        else:
            for problem in outcome.first_problems:
                assert str(problem).isprintable(), str(problem)
                assert str(problem).startswith(f"row {problem.row}, column ")


# --- valid rows round trip -----------------------------------------------------------------------

_ID_CHARS = st.characters(categories=("Lu", "Ll", "Nd", "Pd", "Lo"), max_codepoint=0x2FFF)
_IDS = st.text(alphabet=_ID_CHARS, min_size=1, max_size=128)
_COUNTRIES = st.lists(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2), min_size=1, max_size=100
)
_FALL_BACK = st.one_of(st.just(""), st.from_regex(r"\+?[1-9][0-9]{1,14}", fullmatch=True))
_DISABLED = st.sampled_from(["", "true", "false", "TRUE", "No", "1", "0"])
_REGIONS = st.sampled_from(["", "us-east-1", "eu-west-2", "ap-southeast-2", "us-gov-west-1"])
# Anything at all but NUL in an ignored column: quotes, commas, every line break, controls, emoji.
_NOTES = st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=60)


@st.composite
def _rows(draw: st.DrawFn) -> list[list[str]]:
    ids = draw(st.lists(_IDS, min_size=1, max_size=8, unique=True))
    return [
        [
            connector,
            str(draw(st.integers(min_value=1, max_value=2**31 - 1))),
            ";".join(draw(_COUNTRIES)),
            draw(_FALL_BACK),
            draw(_DISABLED),
            draw(_REGIONS),
            draw(_NOTES),
        ]
        for connector in ids
    ]


Quoting = Literal[0, 1]  # csv.QUOTE_MINIMAL, csv.QUOTE_ALL


def _written(rows: list[list[str]], *, terminator: str, quoting: Quoting, bom: bool) -> bytes:
    breaks = {char for cells in rows for cell in cells for char in "\r\n" if char in cell}
    if breaks - set(terminator):
        # Python 3.11's writer quotes a cell holding CR or LF only when that character is in its line
        # terminator; left bare, it ends the line for any reader (every line ending is one). Not ours.
        quoting = csv.QUOTE_ALL
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=terminator, quoting=quoting)
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    return (codecs.BOM_UTF8 if bom else b"") + buffer.getvalue().encode("utf-8")


@SETTINGS
@given(
    _rows(),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    st.booleans(),
)
def test_valid_rows_read_back_as_written(
    rows: list[list[str]], terminator: str, quoting: Quoting, bom: bool
) -> None:
    """What the csv module writes, batchproxy reads back cell for cell, and parses to the same values."""
    for path in _scratch(_written(rows, terminator=terminator, quoting=quoting, bom=bom)):
        result = scan(path, default_region="us-east-1", needs_settings=True)
        assert result.ok, [str(p) for p in result.first_problems]
        read = list(result.rows())
        assert all(isinstance(row, Row) for row in read)
        assert [row.values for row in read] == [tuple(cells) for cells in rows]
        for row, cells in zip(read, rows, strict=True):
            assert isinstance(row, Row)
            assert row.settings is not None
            assert row.target.voice_connector_id == cells[0]
            assert row.target.region == (cells[5] or "us-east-1")
            assert row.settings.members["DefaultSessionExpiryMinutes"] == int(cells[1])
            assert row.settings.members["PhoneNumberPoolCountries"] == tuple(cells[2].split(";"))
            assert row.settings.members.get("FallBackPhoneNumber") == (cells[3] or None)
