"""Planted side files (issue 10 item 5): no writer of batchproxy follows a link it did not make.

Each test plants a symbolic link (or a hard link) at one of the predictable names a run writes, pointing
at a "victim" file outside the run, then drives the journal API in-process and checks that the victim
is byte-for-byte and mode-for-mode what it was, and that the run either refused with a message naming
the planted path or went on without touching it. The end-to-end twin is ``tests/e2e/test_hostile_files``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from batchproxy import input as input_file
from batchproxy.errors import UsageError
from batchproxy.journal import (
    Journal,
    OpenMode,
    RowNumbers,
    RunMeta,
    load_meta,
    lock_path,
    meta_path,
    save_meta,
)
from batchproxy.journal.files import atomic_replace, open_private
from batchproxy.rows import Outcome, Status
from tests.test_journal import HEADER, OK, make_row, record

VICTIM_BYTES = b"someone else's file\nline two\n"


class Victim:
    """A file the run must never modify; remembers its bytes and mode."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "elsewhere" / "victim.txt"
        self.path.parent.mkdir()
        self.path.write_bytes(VICTIM_BYTES)
        self.path.chmod(0o644)

    def plant_at(self, name: Path) -> Path:
        name.symlink_to(self.path)
        return name

    def assert_untouched(self) -> None:
        assert self.path.read_bytes() == VICTIM_BYTES
        assert stat.S_IMODE(self.path.stat().st_mode) == 0o644


@pytest.fixture
def victim(tmp_path: Path) -> Victim:
    return Victim(tmp_path)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return tmp_path / "input.results.csv"


def finished_journal(results: Path) -> Journal:
    journal = Journal.open(results, HEADER, OpenMode.NEW)
    record(journal, make_row(1), OK)
    record(journal, make_row(2), Outcome(status=Status.FAILED, error_code="NotFoundException"))
    return journal


# --- refused: a link where we would write in place ------------------------------------------------


@pytest.mark.parametrize("mode", list(OpenMode))
def test_a_link_at_the_results_path_is_refused_in_every_mode(
    results: Path, victim: Victim, mode: OpenMode
) -> None:
    """new, --force and --resume all refuse a results path that is a link, naming it; the target stays."""
    victim.plant_at(results)
    with pytest.raises(UsageError, match="symbolic link") as refused:
        Journal.open(results, HEADER, mode)
    assert str(results) in str(refused.value)
    victim.assert_untouched()
    assert not lock_path(results).exists()  # the refusal released the lock


def test_a_dangling_link_at_the_results_path_is_refused_and_creates_nothing(
    results: Path, tmp_path: Path
) -> None:
    """A link to a file that does not exist yet must not make us create that file (O_CREAT follows)."""
    target = tmp_path / "would-be-created.csv"
    results.symlink_to(target)
    for mode in OpenMode:
        with pytest.raises(UsageError, match="symbolic link"):
            Journal.open(results, HEADER, mode)
    assert not target.exists()


def test_a_link_at_the_lock_file_is_refused(results: Path, victim: Victim) -> None:
    """The lock file gets our PID written into it: through a link, that would truncate the target."""
    victim.plant_at(lock_path(results))
    with pytest.raises(UsageError, match="symbolic link") as refused:
        Journal.open(results, HEADER, OpenMode.NEW)
    assert str(lock_path(results)) in str(refused.value)
    victim.assert_untouched()
    assert not results.exists()


@pytest.mark.parametrize("planted", ["results", "lock"])
def test_a_hard_link_to_another_file_is_refused(results: Path, victim: Victim, planted: str) -> None:
    """A second name for someone's file is the same trap as a link: --force would truncate it."""
    where = results if planted == "results" else lock_path(results)
    os.link(victim.path, where)
    with pytest.raises(UsageError, match="hard links"):
        Journal.open(results, HEADER, OpenMode.FORCE)
    victim.assert_untouched()


@pytest.mark.parametrize("mode", list(OpenMode))
def test_a_fifo_at_the_results_path_is_refused_without_blocking(results: Path, mode: OpenMode) -> None:
    """Opening a FIFO waits for a peer; a planted one must be refused at once, in every mode."""
    os.mkfifo(results)
    with pytest.raises(UsageError, match="not a regular file"):
        Journal.open(results, HEADER, mode)


def test_a_fifo_at_the_lock_or_sidecar_does_not_block_a_resume(results: Path) -> None:
    """The sidecar is optional: a FIFO there reads as "nothing learned"; at the lock, it is refused."""
    os.mkfifo(meta_path(results))
    assert load_meta(results) == RunMeta()
    os.mkfifo(lock_path(results))
    with pytest.raises(UsageError, match="not a regular file"):
        open_private(lock_path(results), os.O_RDWR | os.O_CREAT)


# --- sidestepped: a link where we write a temporary file and rename -------------------------------


@pytest.mark.parametrize(
    "suffix", [".tmp", ".partial", ".state.json.tmp", ".state.json"], ids=lambda s: s.strip(".")
)
def test_finalize_and_meta_ignore_links_at_their_side_names(
    results: Path, victim: Victim, suffix: str
) -> None:
    """Temporary files get random names, and a rename replaces a link instead of writing through it."""
    planted = victim.plant_at(results.with_name(results.name + suffix))
    journal = finished_journal(results)
    with journal:
        numbers = RowNumbers()
        numbers.add(1)
        numbers.add(2)
        assert journal.finalize(numbers).lines == 2
    save_meta(results, RunMeta(learned_rates={(None, "us-east-1"): 12.5}))
    victim.assert_untouched()
    assert not results.is_symlink()
    if planted == meta_path(results):
        assert not planted.is_symlink()  # replaced by our own private file
        assert stat.S_IMODE(planted.stat().st_mode) == 0o600


@pytest.mark.parametrize("planted_name", ["input.failed.csv", "input.failed.csv.tmp"])
def test_the_failure_report_replaces_a_link_instead_of_writing_through_it(
    results: Path, victim: Victim, planted_name: str
) -> None:
    """The failure report ends up a private regular file; the link's target keeps its bytes."""
    report = results.with_name("input.failed.csv")
    victim.plant_at(results.with_name(planted_name))
    with finished_journal(results) as journal:
        journal.finalize(range(1, 3))
        assert journal.write_failure_report(report) == 1
    victim.assert_untouched()
    assert not report.is_symlink()
    assert stat.S_IMODE(report.stat().st_mode) == 0o600


@pytest.mark.parametrize("planted_suffix", [".invalid.csv", ".invalid.csv.partial", ".invalid.csv.tmp"])
def test_the_invalid_report_ignores_links_at_its_names(
    tmp_path: Path, victim: Victim, planted_suffix: str
) -> None:
    """Writing every problem of an invalid input replaces or sidesteps a planted link."""
    source = tmp_path / "input.csv"
    source.write_text(",".join(HEADER) + "\nvc1,zero,US,us-east-1\n", encoding="utf-8")
    victim.plant_at(tmp_path / ("input" + planted_suffix))
    scan = input_file.scan(source, default_region="us-east-1", needs_settings=True)
    assert not scan.ok
    report = scan.write_invalid_report(input_file.invalid_report_path(source))
    victim.assert_untouched()
    assert "zero" in report.read_text(encoding="utf-8")
    assert stat.S_IMODE(report.stat().st_mode) == 0o600


@pytest.mark.parametrize("planted_name", ["input.plan.csv", "input.plan.csv.tmp"])
def test_atomic_replace_as_the_plan_file_uses_it_never_follows_a_link(
    tmp_path: Path, victim: Victim, planted_name: str
) -> None:
    """The plan file is written with ``atomic_replace``: same guarantee, whatever is planted."""
    plan = tmp_path / "input.plan.csv"
    victim.plant_at(tmp_path / planted_name)
    with atomic_replace(plan) as out:
        out.write(b"row,action\n1,create\n")
    victim.assert_untouched()
    assert plan.read_bytes() == b"row,action\n1,create\n"


def test_a_failed_atomic_replace_leaves_no_temporary_file(tmp_path: Path) -> None:
    """An error while writing leaves the directory as it was: no stray random-named temporary."""
    target = tmp_path / "report.csv"
    target.write_bytes(b"old\n")

    def write_half_then_fail() -> None:
        with atomic_replace(target) as out:
            out.write(b"half")
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        write_half_then_fail()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]
    assert target.read_bytes() == b"old\n"
