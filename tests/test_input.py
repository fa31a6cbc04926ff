"""Reading and validating the input CSV: every rule of docs/reference.md §1, §7 and §8's Profile column.

Each test writes a real file under ``tmp_path`` and reads it through the public API; the duplicate
finder's collision handling is also tested on its own, with a hash function forced to collide.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchproxy.errors import UsageError
from batchproxy.input import (
    FIRST_PROBLEMS,
    REPORT_COLUMNS,
    InvalidRow,
    Problem,
    Scan,
    invalid_report_path,
    read_input_header,
    scan,
)
from batchproxy.input._duplicates import Bitmap, DuplicateFinder, RowMap
from batchproxy.rows import Row, Target, proxy_settings

HEADER = ",".join(
    [
        "VoiceConnectorId",
        "DefaultSessionExpiryMinutes",
        "PhoneNumberPoolCountries",
        "FallBackPhoneNumber",
        "Disabled",
        "Region",
    ]
)
GOOD = "abcdef1ghij2klmno3pqr4,60,US;CA,+14155550100,false,us-east-1"


def _write(tmp_path: Path, text: str | bytes, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _scan(
    tmp_path: Path,
    text: str | bytes,
    *,
    default_region: str | None = "us-east-1",
    needs_settings: bool = True,
) -> Scan:
    return scan(_write(tmp_path, text), default_region=default_region, needs_settings=needs_settings)


def _lines(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def _messages(result: Scan) -> list[str]:
    return [str(problem) for problem in result.first_problems]


def _only_problem(
    tmp_path: Path, row: str, *, header: str = HEADER, default_region: str | None = "us-east-1"
) -> Problem:
    result = _scan(tmp_path, _lines(row, header=header), default_region=default_region)
    assert len(result.first_problems) == 1, _messages(result)
    return result.first_problems[0]


def _valid_rows(result: Scan) -> list[Row]:
    rows = list(result.rows())
    assert all(isinstance(row, Row) for row in rows), rows
    return [row for row in rows if isinstance(row, Row)]


# --- a valid file ---------------------------------------------------------------------------------


def test_valid_row_becomes_typed_target_and_settings(tmp_path: Path) -> None:
    """A valid row yields a Row whose target and settings are the parsed, typed cells."""
    result = _scan(tmp_path, _lines(GOOD))
    assert result.ok
    assert result.problem_count == 0
    assert result.row_count == 1
    [row] = _valid_rows(result)
    assert row.number == 1
    assert row.target == Target(voice_connector_id="abcdef1ghij2klmno3pqr4", region="us-east-1", profile=None)
    assert row.settings == proxy_settings(
        default_session_expiry_minutes=60,
        phone_number_pool_countries=("US", "CA"),
        fall_back_phone_number="+14155550100",
        disabled=False,
    )


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a BOM; the first header name must still match."""
    result = _scan(tmp_path, b"\xef\xbb\xbf" + _lines(GOOD).encode())
    assert result.ok
    assert result.header.names[0] == "VoiceConnectorId"


def test_crlf_line_endings_are_accepted(tmp_path: Path) -> None:
    """Windows line endings read the same as Unix ones."""
    result = _scan(tmp_path, _lines(GOOD).replace("\n", "\r\n"))
    assert result.ok
    assert _valid_rows(result)[0].values[-1] == "us-east-1"


def test_snake_case_and_mixed_case_headers_match(tmp_path: Path) -> None:
    """Header names match case-insensitively and in snake_case, ``fallback_phone_number`` included."""
    header = (
        "voice_connector_id,DEFAULTSESSIONEXPIRYMINUTES,phone_number_pool_countries,"
        "fallback_phone_number,disabled,REGION"
    )
    result = _scan(tmp_path, _lines(GOOD, header=header))
    assert result.ok
    assert result.header.columns == (
        "VoiceConnectorId",
        "DefaultSessionExpiryMinutes",
        "PhoneNumberPoolCountries",
        "FallBackPhoneNumber",
        "Disabled",
        "Region",
    )
    assert result.header.names == tuple(header.split(","))


def test_fall_back_phone_number_snake_case_spelling(tmp_path: Path) -> None:
    """docs/reference.md §7: the snake_case form is ``fall_back_phone_number``."""
    header = HEADER.replace("FallBackPhoneNumber", "fall_back_phone_number")
    result = _scan(tmp_path, _lines(GOOD, header=header))
    assert result.ok
    assert _valid_rows(result)[0].settings == proxy_settings(
        default_session_expiry_minutes=60,
        phone_number_pool_countries=("US", "CA"),
        fall_back_phone_number="+14155550100",
        disabled=False,
    )


def test_only_the_header_means_zero_rows(tmp_path: Path) -> None:
    """A header without data rows is valid and has nothing to do."""
    result = _scan(tmp_path, HEADER + "\n")
    assert result.ok
    assert result.row_count == 0
    assert result.last_row_number == 0
    assert list(result.rows()) == []


# --- columns --------------------------------------------------------------------------------------


def test_results_file_is_valid_input(tmp_path: Path) -> None:
    """``row``, ``status`` and the other columns batchproxy writes are ignored silently on input."""
    header = "row," + HEADER + ",status,attempts,http_status,error_code,error_message,request_id,action"
    text = _lines("7," + GOOD + ",failed,3,429,ThrottledClientException,slow down,abc,change", header=header)
    result = _scan(tmp_path, text)
    assert result.ok
    assert result.header.unknown_columns == ()
    [row] = _valid_rows(result)
    assert row.number == 1  # the file's own row, not the old ``row`` column
    assert row.values == tuple(text.splitlines()[1].split(","))


def test_unknown_columns_are_reported_once_each(tmp_path: Path) -> None:
    """Any other column is ignored and named once, even when the header repeats it."""
    header = "Notes," + HEADER + ",Owner,Notes"
    result = _scan(tmp_path, _lines("hello," + GOOD + ",me,again", header=header))
    assert result.ok
    assert result.header.unknown_columns == ("Notes", "Owner")
    assert result.header.columns[0] is None


def test_header_naming_a_column_twice_is_an_input_error(tmp_path: Path) -> None:
    """Two headers meaning the same input column make the file ambiguous: refused."""
    header = HEADER + ",voice_connector_id"
    with pytest.raises(UsageError, match=r"names column VoiceConnectorId twice \(columns 1 and 7"):
        _scan(tmp_path, _lines(GOOD + ",other", header=header))


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    """A put needs VoiceConnectorId, DefaultSessionExpiryMinutes and PhoneNumberPoolCountries."""
    with pytest.raises(UsageError, match="DefaultSessionExpiryMinutes, PhoneNumberPoolCountries") as caught:
        _scan(tmp_path, _lines("abc,us-east-1", header="VoiceConnectorId,Region"))
    assert "lacks required column" in str(caught.value)


def test_target_only_mode_needs_only_the_connector_column(tmp_path: Path) -> None:
    """delete and plan reads (``needs_settings=False``) require VoiceConnectorId alone."""
    result = _scan(
        tmp_path, _lines("abc,eu-west-2,prod", header="VoiceConnectorId,Region,Profile"), needs_settings=False
    )
    assert result.ok
    [row] = _valid_rows(result)
    assert row.settings is None
    assert row.target == Target(voice_connector_id="abc", region="eu-west-2", profile="prod")
    with pytest.raises(UsageError, match="VoiceConnectorId"):
        _scan(tmp_path, _lines("us-east-1", header="Region"), needs_settings=False)


def test_target_only_mode_ignores_settings_cells(tmp_path: Path) -> None:
    """A put file can be fed to delete: its settings columns are not validated there."""
    result = _scan(tmp_path, _lines("abc,0,us;;,nope,maybe,"), needs_settings=False)
    assert result.ok
    assert _valid_rows(result)[0].target.voice_connector_id == "abc"


def test_file_without_header_says_so(tmp_path: Path) -> None:
    """A first line of data instead of column names gets a message about the missing header."""
    with pytest.raises(UsageError, match="has no header row"):
        _scan(tmp_path, GOOD + "\n" + GOOD + "\n")


def test_empty_file_is_an_input_error(tmp_path: Path) -> None:
    """An empty file has no header: refused with a message that says it is empty."""
    with pytest.raises(UsageError, match="is empty"):
        _scan(tmp_path, "")


def test_blank_first_line_is_an_input_error(tmp_path: Path) -> None:
    """The header must be the first line; a blank one before it is not skipped."""
    with pytest.raises(UsageError, match="first line is blank"):
        _scan(tmp_path, "\n" + _lines(GOOD))


# --- reading the bytes ----------------------------------------------------------------------------


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    """A file that does not exist is named in the error."""
    with pytest.raises(UsageError, match=r"nope\.csv does not exist: check the path"):
        scan(tmp_path / "nope.csv", default_region=None, needs_settings=True)


def test_directory_is_a_usage_error(tmp_path: Path) -> None:
    """A directory is not a readable input file."""
    with pytest.raises(UsageError, match="is a directory, not a CSV file"):
        scan(tmp_path, default_region=None, needs_settings=True)


def test_non_utf8_byte_is_located(tmp_path: Path) -> None:
    """A Latin-1 byte is reported with its value, byte offset, line and row."""
    text = _lines(GOOD, "\n", "caf\xe9,60,US,,,").encode("latin-1")
    offset = text.index(b"\xe9")
    with pytest.raises(UsageError) as caught:
        _scan(tmp_path, text)
    message = str(caught.value)
    assert f"byte 0xE9 at offset {offset} (line 5)" in message
    # the blank line between counts as row 2 ("\n\n" = rows 2 and 3)
    assert "input.csv: row 4, column VoiceConnectorId ('café'): byte" in message
    assert 'Windows-1252 or Latin-1: save it as "CSV UTF-8"' in message


def test_non_utf8_byte_inside_multiline_cell_names_its_row(tmp_path: Path) -> None:
    """Rows are CSV records, so a quoted cell spanning lines keeps the row count right."""
    text = _lines('"multi\nline",60,US,,,', "x\xff,60,US,,,").encode("latin-1")
    with pytest.raises(UsageError, match=r"row 2, column VoiceConnectorId \('xÿ'\): byte 0xFF .*\(line 4\)"):
        _scan(tmp_path, text)


def test_utf16_file_gets_a_hint(tmp_path: Path) -> None:
    """Excel's "Unicode text" is UTF-16: the message says so rather than only naming a byte."""
    with pytest.raises(UsageError, match=r'is UTF-16 text .*save it as "CSV UTF-8"'):
        _scan(tmp_path, _lines(GOOD).encode("utf-16"))


def test_unclosed_quote_is_malformed_csv(tmp_path: Path) -> None:
    """An unclosed quote would swallow the rest of the file; it is refused, naming the row and the line
    the quote opened on."""
    with pytest.raises(
        UsageError,
        match=r"row 2, column VoiceConnectorId: the quote that opens this cell on line 3 is never closed",
    ):
        _scan(tmp_path, _lines(GOOD, '"abc,60,US,,,', "def,60,US,,,"))


# --- row numbers and record shape -----------------------------------------------------------------


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    """Empty lines and lines of only commas are not rows to send, but they keep their row numbers."""
    result = _scan(tmp_path, _lines(GOOD, "", ",,,,,", "   ", "zzz,0,US,,,"))
    assert result.row_count == 2
    assert result.last_row_number == 5
    assert _messages(result) == ["row 5, column DefaultSessionExpiryMinutes: must be at least 1 ('0')"]
    assert [row.number for row in result.rows()] == [1, 5]


def test_row_with_more_fields_than_the_header_is_invalid(tmp_path: Path) -> None:
    """Extra fields are a problem that names both counts and the first extra column."""
    problem = _only_problem(tmp_path, GOOD + ",surplus,more")
    assert str(problem) == (
        "row 1, column 7: the row has 8 fields but the header has 6 columns ('surplus,more')"
    )


def test_short_row_is_padded_with_empty_cells(tmp_path: Path) -> None:
    """Missing trailing fields read as empty: optional columns not sent, Region defaulted."""
    result = _scan(tmp_path, _lines("abc,60,US"), default_region="ap-southeast-2")
    [row] = _valid_rows(result)
    assert row.values == ("abc", "60", "US", "", "", "")
    assert row.target.region == "ap-southeast-2"
    assert row.settings is not None
    assert row.settings.members.get("FallBackPhoneNumber") is None


def test_values_round_trip_exactly(tmp_path: Path) -> None:
    """Row.values are the cells as the csv module read them: quotes, commas, newlines, unicode, spaces."""
    header = HEADER + ",Profile,Notes"
    cells = ["abc", "60", "US;CA", "", "TRUE", "", " prod  ", 'say "hi", then\nleave — ünïcødé ✓']
    path = tmp_path / "input.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header.split(","))
        writer.writerow(cells)
    result = scan(path, default_region="us-east-1", needs_settings=True)
    [row] = _valid_rows(result)
    assert row.values == tuple(cells)
    assert row.target.profile == " prod  "  # kept as given, not stripped


def test_rows_are_yielded_lazily(tmp_path: Path) -> None:
    """``rows()`` is a generator over the file, not a list built up front."""
    result = _scan(tmp_path, _lines(*(f"c{n},60,US,,," for n in range(5))))
    rows = result.rows()
    assert isinstance(rows, Iterator)
    first = next(rows)
    assert isinstance(first, Row)
    assert first.number == 1
    rows.close()


def test_file_changed_after_scan_is_refused(tmp_path: Path) -> None:
    """The second pass must read what was validated: a changed file is an error, not a surprise."""
    result = _scan(tmp_path, _lines(GOOD))
    _write(tmp_path, _lines(GOOD, "other,60,US,,,"))
    with pytest.raises(UsageError, match="changed after it was validated"):
        list(result.rows())


# --- field rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", "is required"),
        ("   ", "must contain a character other than whitespace"),
        ("x" * 129, "must have at most 128 characters"),
    ],
)
def test_voice_connector_id_rules(tmp_path: Path, cell: str, message: str) -> None:
    """1-128 characters with a non-space: empty, blank and too long are one problem each."""
    problem = _only_problem(tmp_path, f'"{cell}",60,US,,,')
    assert (problem.column, problem.problem) == ("VoiceConnectorId", message)


def test_voice_connector_id_is_kept_exactly(tmp_path: Path) -> None:
    """Surrounding spaces are not stripped from the id: what is sent is what the file says."""
    result = _scan(tmp_path, _lines('" abc ",60,US,,,', ("y" * 128) + ",60,US,,,"))
    assert [row.target.voice_connector_id for row in _valid_rows(result)] == [" abc ", "y" * 128]


@pytest.mark.parametrize("cell", ["+5", " 60", "60 ", "6.0", "-1", "1e3", "٣", "sixty"])
def test_minutes_must_be_plain_digits(tmp_path: Path, cell: str) -> None:
    """Signs, spaces, fractions, exponents and non-ASCII digits are all refused (docs/reference.md §7)."""
    problem = _only_problem(tmp_path, f"abc,{cell},US,,,")
    assert problem.column == "DefaultSessionExpiryMinutes"
    assert problem.problem == "must be a whole number written with the digits 0-9 only"
    assert problem.value == cell


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", "is required"),
        ("0", "must be at least 1"),
        ("000", "must be at least 1"),
        ("2147483648", "must be at most 2147483647"),
        ("9" * 5000, "must be at most 2147483647"),
    ],
)
def test_minutes_range(tmp_path: Path, cell: str, message: str) -> None:
    """Minutes are at least 1 (our rule) and fit the model's 32-bit integer; huge strings do not crash."""
    problem = _only_problem(tmp_path, f"abc,{cell},US,,,")
    assert (problem.column, problem.problem) == ("DefaultSessionExpiryMinutes", message)


def test_minutes_with_leading_zeros_are_plain_digits(tmp_path: Path) -> None:
    """``060`` is digits only, so it is 60; ``2147483647`` is the largest accepted."""
    result = _scan(tmp_path, _lines("a,060,US,,,", "b,2147483647,US,,,"))
    minutes = [
        row.settings.members["DefaultSessionExpiryMinutes"] for row in _valid_rows(result) if row.settings
    ]
    assert minutes == [60, 2147483647]


@pytest.mark.parametrize(
    ("cell", "detail"),
    [
        ("", "is required"),
        ("US;;CA", "item 2 is empty"),
        ("US;", "item 2 is empty"),
        (";US", "item 1 is empty"),
        ("us", "item 1 ('us') must be a two-letter country code such as US"),
        ("USA", "item 1 ('USA') must be a two-letter country code such as US"),
        ("US; CA", "item 2 (' CA') must be a two-letter country code such as US"),
        ("US,CA", "item 1 ('US,CA') must be a two-letter country code such as US"),
        ("US\n", "item 1 ('US\\n') must be a two-letter country code such as US"),
    ],
)
def test_country_codes(tmp_path: Path, cell: str, detail: str) -> None:
    """Codes are ``^[A-Z]{2}$`` separated by ``;``, none empty; the message names the bad code."""
    problem = _only_problem(tmp_path, f'abc,60,"{cell}",,,')
    assert problem.column == "PhoneNumberPoolCountries"
    assert detail in problem.problem


def test_many_bad_country_codes_are_summarised(tmp_path: Path) -> None:
    """A long list of bad codes names the first three and counts the rest, in one problem."""
    problem = _only_problem(tmp_path, "abc,60,a;b;c;d;e,,,")
    assert problem.problem.endswith("item 3 ('c') must be a two-letter country code such as US; and 2 more")


def test_country_count_comes_from_the_model(tmp_path: Path) -> None:
    """100 codes pass; 101 are refused by the botocore model's list bound."""
    hundred = ";".join(["US"] * 100)
    assert _scan(tmp_path, _lines(f"abc,60,{hundred},,,")).ok
    problem = _only_problem(tmp_path, f"abc,60,{hundred};CA,,,")
    assert (problem.column, problem.problem) == ("PhoneNumberPoolCountries", "must have at most 100 items")


def test_country_codes_are_kept_in_order(tmp_path: Path) -> None:
    """Whether AWS supports a country is AWS's answer: any two capitals pass, in file order."""
    [row] = _valid_rows(_scan(tmp_path, _lines("abc,60,ZZ;US;GB,,,")))
    assert row.settings is not None
    assert row.settings.members["PhoneNumberPoolCountries"] == ("ZZ", "US", "GB")


@pytest.mark.parametrize("cell", ["+14155550100", "14155550100", "+44", "+123456789012345"])
def test_fall_back_number_valid(tmp_path: Path, cell: str) -> None:
    """E.164 with or without ``+``: 2 to 15 digits, not starting with 0."""
    [row] = _valid_rows(_scan(tmp_path, _lines(f"abc,60,US,{cell},,")))
    assert row.settings is not None
    assert row.settings.members.get("FallBackPhoneNumber") == cell


def test_fall_back_number_empty_is_not_sent(tmp_path: Path) -> None:
    """An empty FallBackPhoneNumber is left out of the request."""
    [row] = _valid_rows(_scan(tmp_path, _lines("abc,60,US,,,")))
    assert row.settings is not None
    assert "FallBackPhoneNumber" not in row.settings.members


@pytest.mark.parametrize("cell", ["04155550100", "+1 415 555 0100", "+1234567890123456", "+4", "+1٤١٥٥٥٥"])
def test_fall_back_number_invalid_and_masked(tmp_path: Path, cell: str) -> None:
    """A bad number is reported without showing it: the model marks it sensitive."""
    result = _scan(tmp_path, _lines(f'abc,60,US,"{cell}",,'))
    [problem] = result.first_problems
    assert problem.column == "FallBackPhoneNumber"
    assert problem.problem == "must be an E.164 phone number such as +14155550100"
    assert cell not in str(problem)
    assert cell not in problem.value
    assert problem.value == ("…" + cell[-2:] if len(cell) > 4 else "…")
    report = result.write_invalid_report(tmp_path / "report.csv").read_text(encoding="utf-8")
    assert cell not in report


def test_short_fall_back_number_is_hidden_entirely(tmp_path: Path) -> None:
    """Showing two characters of a four-character value would show half of it: nothing is shown."""
    problem = _only_problem(tmp_path, "abc,60,US,0123,,")
    assert problem.value == "…"
    assert "0123" not in str(problem)
    assert "23" not in str(problem)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("Yes", True),
        ("false", False),
        ("No", False),
        ("0", False),
    ],
)
def test_disabled_values(tmp_path: Path, cell: str, expected: bool) -> None:
    """true/false, 1/0 and yes/no in any case."""
    [row] = _valid_rows(_scan(tmp_path, _lines(f"abc,60,US,,{cell},")))
    assert row.settings is not None
    assert row.settings.members.get("Disabled") is expected


def test_disabled_empty_is_not_sent_and_nonsense_is_invalid(tmp_path: Path) -> None:
    """Empty Disabled is not sent; anything else outside the accepted words is one problem."""
    [row] = _valid_rows(_scan(tmp_path, _lines("abc,60,US,,,")))
    assert row.settings is not None
    assert row.settings.members.get("Disabled") is None
    for cell in ("maybe", " true", "t"):
        problem = _only_problem(tmp_path, f'abc,60,US,,"{cell}",')
        assert (problem.column, problem.problem) == (
            "Disabled",
            "must be true or false (1/0 and yes/no are accepted too)",
        )


def test_region_empty_takes_the_run_default(tmp_path: Path) -> None:
    """An empty Region is the run's region; a filled one wins over it."""
    result = _scan(tmp_path, _lines("a,60,US,,,", "b,60,US,,,eu-central-1"), default_region="ca-central-1")
    assert [row.target.region for row in _valid_rows(result)] == ["ca-central-1", "eu-central-1"]


def test_region_column_may_be_absent(tmp_path: Path) -> None:
    """Without a Region column every row uses the run's region."""
    header = "VoiceConnectorId,DefaultSessionExpiryMinutes,PhoneNumberPoolCountries"
    [row] = _valid_rows(_scan(tmp_path, _lines("a,60,US", header=header), default_region="us-west-2"))
    assert row.target.region == "us-west-2"


def test_region_empty_without_default_tells_how_to_fix(tmp_path: Path) -> None:
    """No Region and no --region: the problem says to set either."""
    problem = _only_problem(tmp_path, "abc,60,US,,,", default_region=None)
    assert str(problem) == (
        "row 1, column Region: is empty and the run has no default region: "
        "fill in Region or pass --region (empty)"
    )


@pytest.mark.parametrize(
    "cell", ["US-EAST-1", "useast1", "us-east", "us_east_1", " us-east-1", "us-east-1\n"]
)
def test_region_must_look_like_a_region(tmp_path: Path, cell: str) -> None:
    """Region names are lowercase words and a number joined by ``-``."""
    problem = _only_problem(tmp_path, f'abc,60,US,,,"{cell}"')
    assert (problem.column, problem.problem) == ("Region", "is not an AWS region name such as us-east-1")


def test_invalid_default_region_is_a_usage_error(tmp_path: Path) -> None:
    """A malformed --region is refused once, not reported on every row."""
    with pytest.raises(UsageError, match="--region 'US East'"):
        _scan(tmp_path, _lines(GOOD), default_region="US East")


def test_profile_column_is_optional(tmp_path: Path) -> None:
    """An empty Profile is None (the run's profile); a filled one is kept as given."""
    header = HEADER + ",Profile"
    result = _scan(tmp_path, _lines(GOOD + ",", "other,60,US,,,,prod-account", header=header))
    assert [row.target.profile for row in _valid_rows(result)] == [None, "prod-account"]


def test_several_problems_in_one_row_are_listed_in_column_order(tmp_path: Path) -> None:
    """Every bad cell of a row is reported once, in the order of the file's columns."""
    header = "Region,Disabled,DefaultSessionExpiryMinutes,VoiceConnectorId,PhoneNumberPoolCountries"
    result = _scan(tmp_path, _lines("EU,nah,0,,us", header=header))
    assert [p.column for p in result.first_problems] == [
        "Region",
        "Disabled",
        "DefaultSessionExpiryMinutes",
        "VoiceConnectorId",
        "PhoneNumberPoolCountries",
    ]
    assert result.invalid_row_count == 1
    assert result.problem_count == 5


# --- duplicates -----------------------------------------------------------------------------------


def test_duplicate_connector_is_an_error_on_each_row(tmp_path: Path) -> None:
    """The same (Region, VoiceConnectorId) twice: each row names the other."""
    result = _scan(
        tmp_path, _lines("dup,60,US,,,us-east-1", "other,60,US,,,us-east-1", "dup,30,CA,,,us-east-1")
    )
    assert [(p.row, p.column, p.value) for p in result.first_problems] == [
        (1, "VoiceConnectorId", "dup"),
        (3, "VoiceConnectorId", "dup"),
    ]
    assert "duplicate of row 3" in result.first_problems[0].problem
    assert "duplicate of row 1" in result.first_problems[1].problem
    assert sorted(result.invalid_rows()) == [1, 3]
    kinds = [type(row).__name__ for row in result.rows()]
    assert kinds == ["InvalidRow", "Row", "InvalidRow"]


def test_duplicates_compare_region_after_defaulting(tmp_path: Path) -> None:
    """An empty Region equals the run's region; the same id in another region is no duplicate."""
    result = _scan(tmp_path, _lines("c,60,US,,,", "c,60,US,,,us-east-1", "c,60,US,,,eu-west-1"))
    assert [p.row for p in result.first_problems] == [1, 2]
    assert "in us-east-1" in result.first_problems[0].problem


def test_three_copies_point_to_the_first(tmp_path: Path) -> None:
    """With three copies the first names the second, the others name the first."""
    result = _scan(tmp_path, _lines("c,60,US,,,", "c,60,US,,,", "x,60,US,,,", "c,60,US,,,"))
    assert [(p.row, p.problem.split(":")[0]) for p in result.first_problems] == [
        (1, "duplicate of row 2"),
        (2, "duplicate of row 1"),
        (4, "duplicate of row 1"),
    ]


def test_forced_hash_collisions_make_no_false_duplicates(tmp_path: Path) -> None:
    """Every key hashing alike only makes candidates; actual keys decide, so only real copies count."""
    path = _write(tmp_path, _lines("a,60,US,,,", "b,60,US,,,", "a,60,US,,,", "c,60,US,,,"))
    result = scan(path, default_region="us-east-1", needs_settings=True, key_hash=lambda key: 42)
    assert [p.row for p in result.first_problems] == [1, 3]


def test_duplicate_finder_confirms_in_batches() -> None:
    """Candidates split over several passes (a file of many repeats) give the same answer."""
    keys = [("r", "a"), ("r", "b"), ("r", "a"), ("r", "c"), ("r", "b"), ("r", "d")]
    # Each key in its own partition (the top byte), and at most one candidate hash per batch.
    finder = DuplicateFinder(key_hash=lambda key: ord(key[1][0]) << 56, batch_hashes=1)
    for key in keys:
        finder.add(key)
    passes = 0

    def keyed_rows() -> Iterator[tuple[int, tuple[str, str]]]:
        nonlocal passes
        passes += 1
        yield from enumerate(keys, start=1)

    found = sorted((row, other) for row, other, _ in finder.confirm(keyed_rows))
    assert found == [(1, 3), (2, 5), (3, 1), (5, 2)]
    assert passes == 2


def test_duplicate_finder_reads_nothing_again_without_candidates() -> None:
    """A file without repeated hashes costs no second pass."""
    finder = DuplicateFinder()
    finder.add(("r", "a"))
    finder.add(("r", "b"))

    def keyed_rows() -> Iterator[tuple[int, tuple[str, str]]]:
        raise AssertionError("must not be called")

    assert list(finder.confirm(keyed_rows)) == []


def test_bitmap_and_row_map() -> None:
    """The compact row sets behave like a set of ints and a dict of ints."""
    bits = Bitmap()
    for number in (3, 17, 3, 1000):
        bits.add(number)
    assert len(bits) == 3
    assert list(bits) == [3, 17, 1000]
    assert 17 in bits
    assert 4 not in bits
    assert 10**9 not in bits
    links = RowMap(last_row=10)
    assert links.get(5) is None
    links[5] = 9
    assert links.get(5) == 9
    assert links.get(6) is None
    assert links.get(11) is None


# --- problems, the cap, the report ----------------------------------------------------------------


def test_problem_message_format_and_truncation() -> None:
    """``row N, column C: what is wrong (value shown)``; long values are cut, control characters escaped."""
    assert str(Problem(4, "Disabled", "maybe", "must be true or false")) == (
        "row 4, column Disabled: must be true or false ('maybe')"
    )
    long = str(Problem(1, "VoiceConnectorId", "x" * 200 + "\n", "too long"))
    assert long.endswith("… 201 characters)")
    assert "\n" not in long
    assert len(long) < 130


def test_only_the_first_twenty_problems_are_kept_but_all_counted(tmp_path: Path) -> None:
    """stderr shows 20 problems, the lowest rows first; the count covers all of them."""
    rows = [f"c{n},0,US,,," for n in range(1, 31)] + ["c1,60,US,,,"]  # row 31 duplicates row 1
    result = _scan(tmp_path, _lines(*rows))
    assert len(result.first_problems) == FIRST_PROBLEMS
    assert result.problem_count == 32
    assert result.invalid_row_count == 31
    # The duplicate on row 1 was found last, yet it is shown with row 1.
    assert [p.row for p in result.first_problems[:3]] == [1, 1, 2]
    assert "duplicate of row 31" in result.first_problems[1].problem
    assert result.first_problems[-1].row == 19


def test_invalid_report_lists_every_problem(tmp_path: Path) -> None:
    """The report holds every problem in row order, as row,column,value,problem, mode 0600."""
    rows = [f"c{n},0,US,,," for n in range(1, 26)] + ["c3,60,US,,,", GOOD]
    path = _write(tmp_path, _lines(*rows))
    result = scan(path, default_region="us-east-1", needs_settings=True)
    report = result.write_invalid_report(invalid_report_path(path))
    assert report == tmp_path / "input.invalid.csv"
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o600
    with report.open(encoding="utf-8", newline="") as stream:
        records = list(csv.reader(stream))
    assert tuple(records[0]) == REPORT_COLUMNS
    assert len(records) - 1 == result.problem_count == 27
    assert records[1] == ["1", "DefaultSessionExpiryMinutes", "0", "must be at least 1"]
    assert [r[0] for r in records[3:6]] == ["3", "3", "4"]
    assert records[4][1:3] == ["VoiceConnectorId", "c3"]
    assert records[4][3].startswith("duplicate of row 26")
    assert records[-1][0] == "26"


def test_observer_sees_every_row_once_as_the_main_pass_checks_it(tmp_path: Path) -> None:
    """``observe`` gets each data row in order; a duplicate is still a Row there, invalid in the Scan."""
    seen: list[Row | InvalidRow] = []
    path = _write(tmp_path, _lines(GOOD, "", "bad,0,US,,,", GOOD))
    result = scan(path, default_region="us-east-1", needs_settings=True, observe=seen.append)
    assert [(item.number, type(item).__name__) for item in seen] == [
        (1, "Row"),
        (3, "InvalidRow"),
        (4, "Row"),
    ]
    assert sorted(result.invalid_rows()) == [1, 3, 4]
    assert seen[0].values == tuple(GOOD.split(","))
    assert seen[1] == list(result.rows())[1]  # the same InvalidRow a later pass yields


def test_rows_not_selected_are_skipped_but_invalid_rows_always_come(tmp_path: Path) -> None:
    """``select`` picks the valid rows to yield; the rest are read past, invalid rows yielded anyway."""
    result = _scan(tmp_path, _lines("a,60,US,,,", "b,60,US,,,", "c,0,US,,,", "", "d,60,US,,,"))
    picked = list(result.rows(select=lambda number: number == 5))
    assert [(item.number, type(item).__name__) for item in picked] == [(3, "InvalidRow"), (5, "Row")]
    assert [item.number for item in result.rows(select=lambda number: True)] == [1, 2, 3, 5]


def test_row_numbers_are_the_data_rows_without_blank_lines(tmp_path: Path) -> None:
    """Every data row's number, valid or not; blank lines (counted in numbering) are not rows."""
    result = _scan(tmp_path, _lines("", "a,60,US,,,", ",,,,,", "", "b,0,US,,,", "c,60,US,,,", "", ""))
    numbers = result.row_numbers()
    assert list(numbers) == [2, 5, 6]
    assert len(numbers) == 3
    assert [n in numbers for n in (0, 1, 2, 3, 4, 5, 6, 7, 8)] == [
        False,
        False,
        True,
        False,
        False,
        True,
        True,
        False,
        False,
    ]


def test_header_can_be_read_alone_with_the_same_checks(tmp_path: Path) -> None:
    """``read_input_header`` gives the header ``scan`` will see, and refuses what ``scan`` refuses."""
    path = _write(tmp_path, _lines(GOOD))
    header = read_input_header(path, needs_settings=True)
    assert header == scan(path, default_region="us-east-1", needs_settings=True).header
    with pytest.raises(UsageError, match="lacks required column"):
        read_input_header(
            _write(tmp_path, _lines("abc", header="VoiceConnectorId"), "t.csv"), needs_settings=True
        )


def test_invalid_rows_carry_their_problems_for_skip_invalid(tmp_path: Path) -> None:
    """With --skip-invalid the engine gets InvalidRows with values and a one-line message."""
    result = _scan(tmp_path, _lines(GOOD, "bad,0,us,,,"))
    items = list(result.rows())
    assert isinstance(items[0], Row)
    invalid = items[1]
    assert isinstance(invalid, InvalidRow)
    assert invalid.number == 2
    assert invalid.values == ("bad", "0", "us", "", "", "")
    assert invalid.message.startswith("column DefaultSessionExpiryMinutes: must be at least 1; column Phone")
    assert result.is_invalid(2)
    assert not result.is_invalid(1)
