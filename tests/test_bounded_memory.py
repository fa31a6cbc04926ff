"""What keeps a run's memory flat with its input (issue 13): the duplicate check's hashes and the
finalize index go to unlinked temporary files past a fixed budget, and give the same answers as when
everything fits in memory. The budgets are made tiny here so that a few rows exercise the spilling."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchproxy.input import scan
from batchproxy.input._duplicates import DuplicateFinder
from batchproxy.journal import Journal, OpenMode, line_index
from batchproxy.journal.compact import FinalizeResult, write_failure_report
from batchproxy.journal.line_index import LineIndex
from tests.test_journal import (
    HEADER,
    NOT_FOUND,
    OK,
    SKIPPED,
    TIMED_OUT,
    by_name,
    make_row,
    record,
    write_journal,
)

Key = tuple[str, str]


def _duplicates(finder: DuplicateFinder, keys: list[Key]) -> list[tuple[int, int, Key]]:
    for key in keys:
        finder.add(key)

    def keyed_rows() -> Iterator[tuple[int, Key]]:
        yield from enumerate(keys, start=1)

    return sorted(finder.confirm(keyed_rows))


@pytest.mark.parametrize("seed", range(5))
def test_spilled_hashes_find_the_same_duplicates(seed: int) -> None:
    rng = random.Random(seed)
    keys = [(rng.choice(["us-east-1", "eu-west-2"]), f"vc{rng.randrange(400)}") for _ in range(600)]
    in_memory = _duplicates(DuplicateFinder(), keys)
    spilled = _duplicates(DuplicateFinder(spill_hashes=7), keys)
    assert in_memory  # 600 draws from 800 keys repeat some
    assert spilled == in_memory


def test_a_scan_that_spills_its_hashes_reports_the_duplicate_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("batchproxy.input._duplicates._SPILL_HASHES", 3)
    path = tmp_path / "input.csv"
    lines = ["VoiceConnectorId,Region"] + [f"vc{n % 7},us-east-1" for n in range(10)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = scan(path, default_region=None, needs_settings=False)
    assert sorted(result.invalid_rows()) == [1, 2, 3, 8, 9, 10]  # vc0, vc1, vc2 appear twice
    assert result.row_count == 10


def _reference(lines: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    latest: dict[int, tuple[int, int, int, int]] = {}
    for number, start, end, status in lines:
        latest[number] = (number, start, end - start, status)
    return [latest[number] for number in sorted(latest)]


@pytest.mark.parametrize("run_lines", [1, 3, 64, None])
def test_the_line_index_gives_each_rows_latest_line_in_row_order(run_lines: int | None) -> None:
    """Lines out of order and repeated (workers finish out of order; a resume appends again)."""
    rng = random.Random(run_lines)
    lines, offset = [], 100
    for _ in range(300):
        length = rng.randrange(20, 90)
        lines.append((rng.randrange(1, 120), offset, offset + length, rng.randrange(1, 5)))
        offset += length
    with LineIndex(run_lines) as index:
        for line in lines:
            index.note(*line)
        assert list(index.latest()) == _reference(lines)
        assert list(index.latest()) == _reference(lines)  # read again, same answer


def _finalized(results: Path) -> tuple[bytes, FinalizeResult]:
    rows = [make_row(n) for n in range(1, 8)]
    entries = [(rows[2], OK), (rows[0], TIMED_OUT), (rows[4], OK), (rows[3], SKIPPED), (make_row(9), OK)]
    write_journal(results, entries)
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        for row, outcome in [(rows[0], OK), (rows[1], NOT_FOUND), (rows[3], OK), (rows[6], OK)]:
            record(journal, row, outcome)
        result = journal.finalize(range(1, 9))  # row 6 and 8 have no line: named as missing
    return results.read_bytes(), result


def test_finalize_spilling_its_index_writes_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    in_memory = _finalized(tmp_path / "a" / "input.results.csv")
    monkeypatch.setattr(line_index, "RUN_LINES", 2)
    spilled = _finalized(tmp_path / "b" / "input.results.csv")
    assert spilled == in_memory
    text, result = spilled
    assert [line.split(b",")[0] for line in text.splitlines()[1:]] == [b"1", b"2", b"3", b"4", b"5", b"7"]
    assert result.missing == (6, 8)
    assert result.dropped == 1


def test_a_new_journal_finalizes_from_its_own_notes_as_from_parsing_the_file(tmp_path: Path) -> None:
    """A journal this run created notes each line as written; finalize then reads no CSV. The file it
    writes is the one finalize writes after parsing (a resumed journal, which was not noted)."""
    rows = [make_row(n) for n in range(1, 6)]
    order = [(rows[3], TIMED_OUT), (rows[0], OK), (rows[3], OK), (rows[2], NOT_FOUND), (rows[4], SKIPPED)]
    noted_path, parsed_path = tmp_path / "noted.results.csv", tmp_path / "parsed.results.csv"
    with Journal.open(noted_path, HEADER, OpenMode.NEW) as journal:
        for row, outcome in order:
            record(journal, row, outcome)
        noted = journal.finalize(range(1, 6))
    write_journal(parsed_path, order)
    with Journal.open(parsed_path, HEADER, OpenMode.RESUME) as journal:
        parsed = journal.finalize(range(1, 6))
    # The same lines, but for when the skipped row was written (it is stamped as it is written).
    assert _without_finished_at(noted_path) == _without_finished_at(parsed_path)
    assert noted == parsed
    assert noted.missing == (2,)


def _without_finished_at(path: Path) -> list[dict[str, str]]:
    lines = by_name(path)
    for line in lines:
        del line["finished_at"]
    return lines


def test_the_failure_report_from_noted_lines_is_the_one_from_reading_the_file(tmp_path: Path) -> None:
    """After finalize only the noted not-ok lines are read; a quoted line break is read whole."""
    rows = [make_row(1), make_row(2, connector="vc\r\nsplit"), make_row(3), make_row(4, connector='q"x')]
    results = tmp_path / "input.results.csv"
    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        for row, outcome in zip(rows, [OK, NOT_FOUND, OK, TIMED_OUT], strict=True):
            record(journal, row, outcome)
        journal.finalize(range(1, 5))
        assert journal.write_failure_report(tmp_path / "noted.failed.csv") == 2
        write_failure_report(results, tmp_path / "read.failed.csv", journal.layout)
    noted = (tmp_path / "noted.failed.csv").read_bytes()
    assert noted == (tmp_path / "read.failed.csv").read_bytes()
    assert b'"vc\r\nsplit"' in noted
