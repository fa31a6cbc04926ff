"""``batchproxy merge`` end to end, on shard results files written by real ``run --shard I/2`` processes.

Both shards run at once against one emulator subprocess, each writing its own results file, failure
report and shard record; the merge is judged against a single-process run of the whole input, row for
row. The refusals spoil copies of those real files. (Real shard processes killed and resumed, idle
shards, ``auto/N`` and ``--skip-invalid`` are in test_shard_runs.py.)
"""

from __future__ import annotations

import csv
import shutil
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from batchproxy.columns import RESULT_COLUMNS
from batchproxy.journal.lock import ResultsLock
from batchproxy.shard import ShardSpec, shard_path
from batchproxy.shard_record import load_shard_record, save_shard_record
from tests.e2e.harness import emulator, make_rows, read_csv, run_cli, start_cli, stop_process, write_csv

REGIONS = ("us-east-1", "eu-west-2", "ap-southeast-2", "us-west-2")
UNKNOWN = {3, 17, 30, 44}  # 0-based indexes of rows whose connector the emulator does not have
# Columns that differ between two runs of the same row by nature: timing and the service's request id.
VOLATILE = {"request_id", "duration_ms", "finished_at"}


@dataclass(frozen=True)
class Runs:
    """Shard results (with records) in ``shards/``, a single-process run of the whole input in ``single/``."""

    shard_dir: Path
    shard_files: tuple[Path, ...]
    single_results: Path
    single_failures: Path
    rows: int


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    base = tmp_path_factory.mktemp("shards")
    rows = make_rows(60, regions=REGIONS)
    (base / "shards").mkdir()
    (base / "single").mkdir()
    source = write_csv(base / "shards" / "input.csv", rows)
    known = write_csv(base / "known.csv", [r for i, r in enumerate(rows) if i not in UNKNOWN])
    with emulator("--connectors", str(known)) as emu:
        target = ("--endpoint-url", emu.url, "--region", "us-east-1", "--rate", "0", "--log-format", "json")
        shards = [start_cli("run", source, *target, "--shard", f"{index}/2") for index in (1, 2)]
        try:
            for shard in shards:
                _, stderr = shard.communicate(timeout=120)
                assert shard.returncode == 1, stderr  # each shard has some unknown connectors
        finally:
            for shard in shards:
                stop_process(shard)
        single_dir = base / "single"
        single_files = (
            "--results",
            single_dir / "input.results.csv",
            "--failures",
            single_dir / "input.failed.csv",
        )
        single = run_cli("run", source, *target, *single_files)
        assert single.returncode == 1, single.stderr
    shard_files = tuple(
        shard_path(base / "shards" / "input.results.csv", ShardSpec(index=index, count=2)) for index in (1, 2)
    )
    return Runs(
        base / "shards",
        shard_files,
        base / "single" / "input.results.csv",
        base / "single" / "input.failed.csv",
        len(rows),
    )


def _copy(runs: Runs, into: Path) -> list[Path]:
    """The shard files and their records, copied to ``into`` so a test may spoil them."""
    copies = []
    for path in runs.shard_files:
        copies.append(Path(shutil.copy2(path, into / path.name)))
        shutil.copy2(path.with_name(path.name + ".shard.json"), into / (path.name + ".shard.json"))
    return copies


def _stable(lines: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in line.items() if k not in VOLATILE} for line in lines]


def _merge(*args: str | Path) -> tuple[int, str, str]:
    done = run_cli("merge", *args)
    return done.returncode, done.stdout, done.stderr


def test_merge_equals_a_single_process_run_row_for_row(runs: Runs, tmp_path: Path) -> None:
    """The merged results equal a one-process run of the whole input in every column but timing and
    request ids (status, settings, fingerprints, error codes), in row order, one line per input row;
    the failure report equals the single run's; both files 0600; exit 1 because rows failed."""
    shard_files = _copy(runs, tmp_path)
    code, stdout, stderr = _merge(*shard_files)
    assert code == 1, stderr
    merged, report = tmp_path / "input.results.csv", tmp_path / "input.failed.csv"
    lines = read_csv(merged)
    assert [int(line["row"]) for line in lines] == list(range(1, runs.rows + 1))
    assert _stable(lines) == _stable(read_csv(runs.single_results))
    assert {int(line["row"]) - 1 for line in lines if line["status"] != "ok"} == UNKNOWN
    assert read_csv(report) == read_csv(runs.single_failures)
    assert merged.read_text().splitlines()[0] == runs.single_results.read_text().splitlines()[0]
    for path in (merged, report):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "merged 2 shards: 60 rows (56 ok, 4 failed)" in stdout
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("input.results.shard")) == [
        "input.failed.csv",
        "input.results.csv",
    ]


def test_each_shard_holds_whole_domains_and_every_row_once(runs: Runs) -> None:
    """Across the shard files every row appears exactly once and no region (domain) is in two shards."""
    owners: dict[str, set[int]] = {}
    rows: list[int] = []
    for index, path in enumerate(runs.shard_files, start=1):
        for line in read_csv(path):
            owners.setdefault(line["Region"], set()).add(index)
            rows.append(int(line["row"]))
    assert sorted(rows) == list(range(1, runs.rows + 1))
    assert all(len(shards) == 1 for shards in owners.values()), owners
    assert {next(iter(s)) for s in owners.values()} == {1, 2}  # 4 equal domains: 2 each


def test_all_ok_merge_exits_0_and_writes_a_header_only_failure_report(runs: Runs, tmp_path: Path) -> None:
    """With every row ok, merge exits 0 and the failure report is still written, header only (§7)."""
    shard_files = _copy(runs, tmp_path)
    for path in shard_files:  # make every line ok (a later --retry-failed would do this for real)
        with path.open(newline="") as source:
            lines = list(csv.reader(source))
        status_at = lines[0].index("status")
        for line in lines[1:]:
            line[status_at], line[status_at + 3] = "ok", ""
        with path.open("w", newline="") as out:
            csv.writer(out).writerows(lines)
    code, _, stderr = _merge(
        *shard_files, "--results", tmp_path / "all.csv", "--failures", tmp_path / "f.csv"
    )
    assert code == 0, stderr
    assert len(read_csv(tmp_path / "all.csv")) == runs.rows
    assert (tmp_path / "f.csv").read_text().count("\n") == 1


def _refused(tmp_path: Path, shard_files: Sequence[Path], *extra: str | Path) -> str:
    """Merge must exit 2 and leave no merged file, temporary or lock behind; returns stderr."""
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, stderr = _merge(*shard_files, *extra)
    assert code == 2, stdout + stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "Traceback" not in stderr
    return stderr


def test_missing_shard_is_refused(runs: Runs, tmp_path: Path) -> None:
    shard_files = _copy(runs, tmp_path)
    assert "shard(s) 2 of 2 missing" in _refused(tmp_path, shard_files[:1])


def test_a_row_claimed_by_two_shards_is_refused(runs: Runs, tmp_path: Path) -> None:
    """Shard 1's file presented as shard 2 too (both have 30 rows, so the row counts add up)."""
    first, second = _copy(runs, tmp_path)
    shutil.copy2(first, second)
    record = load_shard_record(first)
    assert record.shard_rows * 2 == runs.rows
    save_shard_record(second, replace(record, index=2))
    assert "is claimed by both shard 1 and shard 2" in _refused(tmp_path, [first, second])


def test_shards_of_different_inputs_are_refused(runs: Runs, tmp_path: Path) -> None:
    first, second = _copy(runs, tmp_path)
    save_shard_record(second, replace(load_shard_record(second), input_digest="blake2b:" + "0" * 32))
    assert "were written for different input files" in _refused(tmp_path, [first, second])


def test_shards_with_different_columns_are_refused(runs: Runs, tmp_path: Path) -> None:
    first, second = _copy(runs, tmp_path)
    text = second.read_text()
    second.write_text(text.replace("VoiceConnectorId,", "voice_connector_id,", 1))
    assert "have different columns" in _refused(tmp_path, [first, second])


def test_a_file_named_as_another_shard_than_its_record_is_refused(runs: Runs, tmp_path: Path) -> None:
    first, second = _copy(runs, tmp_path)
    save_shard_record(first, replace(load_shard_record(first), index=2))
    assert "is named as shard 1/2 but its shard record says shard 2/2" in _refused(tmp_path, [first, second])


def test_an_unfinished_shard_is_refused(runs: Runs, tmp_path: Path) -> None:
    """A shard killed mid-run has journal lines out of order (a later line for an earlier row)."""
    first, second = _copy(runs, tmp_path)
    lines = first.read_bytes().splitlines(keepends=True)
    with first.open("ab") as out:
        out.write(lines[1])
    stderr = _refused(tmp_path, [first, second])
    assert "is not a finished shard results file" in stderr
    assert "run shard 1/2's command again with --resume" in stderr


def test_a_shard_cut_short_is_refused(runs: Runs, tmp_path: Path) -> None:
    first, second = _copy(runs, tmp_path)
    lines = second.read_bytes().splitlines(keepends=True)
    second.write_bytes(b"".join(lines[:-3]))
    assert "it has 27 lines, its shard has 30 rows" in _refused(tmp_path, [first, second])


def test_a_results_file_without_a_shard_record_is_refused(runs: Runs, tmp_path: Path) -> None:
    first, second = _copy(runs, tmp_path)
    (tmp_path / (second.name + ".shard.json")).unlink()
    assert "was not written by a run with --shard" in _refused(tmp_path, [first, second])


def test_existing_merged_files_are_kept_unless_forced(runs: Runs, tmp_path: Path) -> None:
    shard_files = _copy(runs, tmp_path)
    merged = tmp_path / "input.results.csv"
    merged.write_text("mine\n")
    assert "already exists: use --force" in _refused(tmp_path, shard_files)
    assert merged.read_text() == "mine\n"
    code, _, stderr = _merge(*shard_files, "--force")
    assert code == 1, stderr
    assert len(read_csv(merged)) == runs.rows


def test_merged_results_must_not_overwrite_a_shard_file(runs: Runs, tmp_path: Path) -> None:
    shard_files = _copy(runs, tmp_path)
    stderr = _refused(tmp_path, shard_files, "--results", shard_files[0], "--force")
    assert "is one of the shard files" in stderr


def test_resume_without_a_results_file_starts_the_run(tmp_path: Path) -> None:
    """§12: a retried pod runs the same `--resume` command whether or not its first try got going."""
    rows = make_rows(5)
    source = write_csv(tmp_path / "input.csv", rows)
    done = run_cli("run", source, "--emulate", "--resume", "--log-format", "json")
    assert done.returncode == 0, done.stderr
    lines = read_csv(tmp_path / "input.results.csv")
    assert [(line["row"], line["status"]) for line in lines] == [(str(i), "ok") for i in range(1, 6)]
    assert list(lines[0])[-len(RESULT_COLUMNS) :] == list(RESULT_COLUMNS)


def test_a_shard_file_that_is_not_there_or_an_output_directory_that_is_not_are_named(
    runs: Runs, tmp_path: Path
) -> None:
    first, second = _copy(runs, tmp_path)
    gone = tmp_path / "gone" / second.name
    assert f"shard results file {gone} does not exist" in _refused(
        tmp_path, [first, gone], "--results", tmp_path / "m.csv"
    )
    stderr = _refused(tmp_path, [first, second], "--failures", tmp_path / "no-such-dir" / "f.csv")
    assert "no-such-dir is not a directory" in stderr


def test_merge_while_a_shard_still_runs_is_refused(runs: Runs, tmp_path: Path) -> None:
    """A shard that holds its results file's lock is still writing it: merge must not read it yet."""
    first, second = _copy(runs, tmp_path)
    lock = ResultsLock(second)
    lock.acquire()
    try:
        before = sorted(p.name for p in tmp_path.iterdir())
        code, _, stderr = _merge(first, second)
        assert code == 2, stderr
        assert f"is writing {second}" in stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == before
    finally:
        lock.release()
