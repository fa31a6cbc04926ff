"""Hostile input read in-process (issue 10, item 1): streams, NUL bytes, reports that cannot be written,
unprintable names, and the header's linear cost. The CLI's view of the same inputs is in
``tests/e2e/test_input_hostile.py``; these tests pin what the input module itself promises.
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from batchproxy.errors import UsageError
from batchproxy.input import InputSource, Scan, open_input, read_input_header, scan
from batchproxy.rows import Row

HEADER = "VoiceConnectorId,DefaultSessionExpiryMinutes,PhoneNumberPoolCountries,FallBackPhoneNumber,Region"


def _lines(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode("utf-8")


def _write(tmp_path: Path, content: bytes, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _scan(path: Path | InputSource) -> Scan:
    return scan(path, default_region="us-east-1", needs_settings=True)


def _refusal(path: Path | str) -> str:
    with pytest.raises(UsageError) as caught:
        _scan(Path(path))
    return str(caught.value)


# --- streams ----------------------------------------------------------------------------------------


def _rows(count: int) -> list[str]:
    # 60 bytes a row: well past a pipe's 64 KiB buffer, so the writer really streams.
    return [f"connector-{n:08d}-padding-padding,60,US;CA,,us-east-1" for n in range(count)]


def test_pipe_is_spooled_once_and_read_as_often_as_needed(tmp_path: Path) -> None:
    """``open_input`` on a pipe (here from a real ``cat``) copies it to a private, unlinked temp file:
    validation, the duplicate check, the rows and the report all read it again, and it vanishes after."""
    source_file = _write(tmp_path, _lines(*_rows(5000), "connector-00000001-padding-padding,0,US,,"))
    with subprocess.Popen(["cat", str(source_file)], stdout=subprocess.PIPE) as cat:
        assert cat.stdout is not None
        with open_input(f"/dev/fd/{cat.stdout.fileno()}") as source:
            assert not source.regular
            assert source.kind == "pipe or FIFO"
            spool = os.fstat(source._spool.fileno())  # type: ignore[union-attr]
            assert spool.st_nlink == 0  # no name in any directory, even while open
            assert stat.S_IMODE(spool.st_mode) == 0o600
            result = _scan(source)
            assert result.row_count == 5001
            assert sorted(result.invalid_rows()) == [2, 5001]  # a duplicate: found by reading again
            assert sum(isinstance(item, Row) for item in result.rows()) == 4999
            report = result.write_invalid_report(tmp_path / "report.csv")
            assert "duplicate of row 5001" in report.read_text(encoding="utf-8")
            assert read_input_header(source, needs_settings=True) == result.header
        assert cat.wait(timeout=10) == 0
    with pytest.raises(ValueError, match="closed file"):
        os.fstat(source._spool.fileno())  # type: ignore[union-attr]


def test_fifo_by_path_is_refused_without_being_opened(tmp_path: Path) -> None:
    """Opening a FIFO with no writer would hang: a plain path is refused on its kind alone, at once."""
    fifo = tmp_path / "input.csv"
    os.mkfifo(fifo)
    started = time.monotonic()
    message = _refusal(fifo)
    assert time.monotonic() - started < 5
    assert message.startswith(f"{fifo} is a pipe or FIFO, not a regular file: batchproxy reads its input")
    assert "save it to a file first" in message


def test_fifo_through_open_input_is_read_to_its_end(tmp_path: Path) -> None:
    """A FIFO whose writer comes later is read once, completely, then validated like a file."""
    fifo = tmp_path / "input.csv"
    os.mkfifo(fifo)
    content = _lines(*_rows(3000))

    def writer() -> None:
        with fifo.open("wb") as stream:
            stream.write(content)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    with open_input(fifo) as source:
        result = _scan(source)
        assert result.ok
        assert result.row_count == 3000
        assert result.path == fifo
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_regular_file_through_open_input_is_read_in_place(tmp_path: Path) -> None:
    """A regular file is not copied: its own changes are noticed between passes, as before."""
    path = _write(tmp_path, _lines(*_rows(2)))
    with open_input(path) as source:
        assert source.regular
        result = _scan(source)
        path.write_bytes(_lines(*_rows(3)))
        with pytest.raises(UsageError, match="changed after it was validated"):
            list(result.rows())


def test_character_device_by_path_is_refused(tmp_path: Path) -> None:
    """/dev/null is not an input file; said so by kind."""
    assert _refusal("/dev/null").startswith("/dev/null is a character device, not a regular file")


# --- NUL bytes -------------------------------------------------------------------------------------


def test_nul_late_in_a_large_file_is_still_a_row_problem(tmp_path: Path) -> None:
    """The NUL check starts when the first NUL is read: one beyond the first MiB is caught all the same."""
    rows = _rows(30_000)
    rows[-1] = "late\0id,60,US,,us-east-1"
    result = _scan(_write(tmp_path, _lines(*rows)))
    [problem] = result.first_problems
    assert str(problem) == (
        "row 30000, column VoiceConnectorId: holds a NUL byte, which no CSV text has; remove it (the file "
        "may be damaged, or not UTF-8 text) ('late\\x00id')"
    )
    assert [item.number for item in result.rows() if not isinstance(item, Row)] == [30000]


def test_nul_in_a_sensitive_or_ignored_column(tmp_path: Path) -> None:
    """A NUL anywhere is refused: a phone number's value stays masked, an ignored column is named."""
    header = HEADER + ",Notes"
    result = _scan(_write(tmp_path, _lines("a,60,US,+33612\x0034567,,", "b,60,US,,,x\x00y", header=header)))
    problems = [(p.row, p.column, p.value) for p in result.first_problems]
    assert (1, "FallBackPhoneNumber", "…67") in problems
    assert (2, "Notes", "x\x00y") in problems
    assert "612" not in "".join(str(p) for p in result.first_problems)


def test_nul_in_an_extra_field_is_named_by_its_position(tmp_path: Path) -> None:
    """Beyond the header's columns a NUL is named by the column's number."""
    result = _scan(_write(tmp_path, _lines("a,60,US,,,extra\0")))
    assert ("6", "holds a NUL byte") in [(p.column, p.problem[:16]) for p in result.first_problems]


# --- CSV syntax and names --------------------------------------------------------------------------


def test_unclosed_quote_in_the_header(tmp_path: Path) -> None:
    """The header row is row 0 and its columns have no names yet: the position is given."""
    message = _refusal(_write(tmp_path, b'VoiceConnectorId,"Default\nabc,60\n'))
    assert message.endswith(
        "input.csv: the header row, column 2: the quote that opens this cell on line 1 is never closed, "
        "so the rest of the file would be read into it; close the quote (a quote inside a quoted cell is "
        'written "")'
    )


def test_bad_byte_in_a_file_of_lone_cr_line_endings_names_its_row(tmp_path: Path) -> None:
    """Old Mac line endings: the row, column and line of a byte that is not UTF-8 are still found."""
    content = _lines("a,60,US,,", "b,60,U\xd6,,").replace(b"\n", b"\r").replace("Ö".encode(), b"\xd6")
    message = _refusal(_write(tmp_path, content))
    assert "row 2, column PhoneNumberPoolCountries ('UÖ'): byte 0xD6 at offset" in message
    assert "(line 3)" in message


def test_vertical_bar_separated_file_is_told_to_use_commas(tmp_path: Path) -> None:
    """'|' as the separator is recognised and named, like ';' and tab."""
    message = _refusal(_write(tmp_path, _lines("a|60|US||", header=HEADER.replace(",", "|"))))
    assert "is separated by vertical bars, not commas" in message


def test_unprintable_file_name_is_shown_escaped(tmp_path: Path) -> None:
    """A name holding a newline or an escape cannot break the message into forged lines."""
    path = _write(tmp_path, b"", name="in\nput\x1b[31m.csv")
    message = _refusal(path)
    assert message.isprintable()
    assert "in\\nput\\x1b[31m.csv" in message


# --- the invalid report ----------------------------------------------------------------------------


def _invalid(tmp_path: Path) -> Scan:
    result = _scan(_write(tmp_path, _lines("a,0,US,,")))
    assert not result.ok
    return result


def test_report_never_follows_a_planted_symlink(tmp_path: Path) -> None:
    """A symlink at the old predictable ``.partial`` name, or at the report itself, is never written
    through: the report is a new file renamed into place, and the link's target is untouched."""
    victim = _write(tmp_path, b"precious", name="victim.txt")
    report = tmp_path / "input.invalid.csv"
    (tmp_path / "input.invalid.csv.partial").symlink_to(victim)
    report.symlink_to(victim)
    _invalid(tmp_path).write_invalid_report(report)
    assert victim.read_bytes() == b"precious"
    assert not report.is_symlink()
    assert report.read_text(encoding="utf-8").startswith("row,column,value,problem")


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (lambda d: d / "missing" / "input.invalid.csv", "No such file or directory"),
        (lambda d: d / "dir.invalid.csv", "Is a directory"),
    ],
)
def test_unwritable_report_is_a_clean_error_that_still_says_what_is_wrong(
    tmp_path: Path, target: Callable[[Path], Path], reason: str
) -> None:
    """No traceback and no partial file: the message names the report, the reason and the first problem."""
    result = _invalid(tmp_path)
    (tmp_path / "dir.invalid.csv").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(UsageError) as caught:
        result.write_invalid_report(target(tmp_path))
    message = str(caught.value)
    assert f"cannot write the list of invalid rows to {target(tmp_path)} ({reason})" in message
    assert "1 problem(s) in 1 row(s); the first: row 1, column DefaultSessionExpiryMinutes" in message
    assert "nothing was sent" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# --- cost ------------------------------------------------------------------------------------------


def _best_of_three(action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def test_header_cost_is_linear_in_its_columns(tmp_path: Path) -> None:
    """100,000 columns cost a small multiple of what merely splitting the line and putting each name in
    a dict costs: linear work. The quadratic header took two minutes, thousands of times that.

    Measured against that baseline, best of three, rather than 10k against 100k columns: at these sizes
    the CPU caches alone bend a pure ratio, and a loaded machine bends both sides of this one alike.
    """
    columns = 100_000
    names = [f"column{n}" for n in range(columns)] + ["VoiceConnectorId", "notes", "NOTES", "notes"]
    line = ",".join(names)
    path = _write(tmp_path, (line + "\nabc\n").encode(), name="wide.csv")
    header = read_input_header(path, needs_settings=False)
    assert len(header.unknown_columns) == columns + 2  # "notes" once, "NOTES" once
    assert header.index("VoiceConnectorId") == columns
    baseline = _best_of_three(lambda: dict.fromkeys(line.split(",")))
    cost = _best_of_three(lambda: read_input_header(path, needs_settings=False))
    assert cost < 30 * baseline, (cost, baseline)
