"""A full disk or a failed write (issue 10 item 4), made real: a lowered file-size limit, a tiny tmpfs.

No mock stands in for the failure: EFBIG comes from ``RLIMIT_FSIZE`` in a child process (SIGXFSZ
ignored, so the write fails instead of killing it), ENOSPC from a tmpfs mounted small (skipped where
mounting is not permitted). Each test checks the error names the file and the reason, that everything
recorded before it is intact (valid CSV up to the last complete line, no torn tail), and that once the
space is there a resume completes with one line per row.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchproxy import input as input_file
from batchproxy.errors import JournalWriteError, UsageError
from batchproxy.journal import Journal, OpenMode, load
from batchproxy.rows import Outcome, Status
from tests.test_journal import HEADER, OK, REPO, make_row, record

ROWS = 300


def results_lines(path: Path) -> list[list[str]]:
    """Every line of a results file; fails on a torn or malformed line (csv strict)."""
    raw = path.read_bytes()
    assert raw.endswith(b"\r\n"), "the file must end with a complete line"
    return list(csv.reader(raw.decode("utf-8").splitlines(), strict=True))


def resume_to_the_end(results: Path) -> None:
    """Record every row the journal has no line for, then finalize: what ``--resume`` does."""
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        for number in range(1, ROWS + 1):
            if journal.state.latest(number) is None:
                record(journal, make_row(number), OK)
        finished = journal.finalize(range(1, ROWS + 1))
    assert finished.lines == ROWS
    assert finished.missing == ()
    numbers = [int(line[0]) for line in results_lines(results)[1:]]
    assert numbers == list(range(1, ROWS + 1))


# --- EFBIG: a file-size limit in a child process --------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    from pathlib import Path
    from batchproxy.errors import JournalWriteError, UsageError
    from batchproxy.journal import Journal, OpenMode
    from tests.test_journal import HEADER, OK, make_row, record

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    recorded = 0
    try:
        with Journal.open(Path(sys.argv[1]), HEADER, OpenMode.NEW) as journal:
            for number in range(1, int(sys.argv[3]) + 1):
                record(journal, make_row(number), OK)
                recorded += 1
    except JournalWriteError as exc:
        print(json.dumps({"recorded": recorded, "errno": exc.errno, "message": str(exc)}))
        sys.exit(3)
    print(json.dumps({"recorded": recorded}))
    """
)


def journal_under_limit(results: Path, limit: int) -> dict[str, object]:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(results), str(limit), str(ROWS)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert child.returncode == 3, child.stderr
    assert "Traceback" not in child.stderr
    outcome: dict[str, object] = json.loads(child.stdout)
    return outcome


@pytest.mark.parametrize("limit", [5_000, 9_999, 20_011])
def test_efbig_while_journaling_keeps_every_complete_line_and_resumes(tmp_path: Path, limit: int) -> None:
    """The write that crosses the limit fails whole: no torn line, every earlier line kept, resumable."""
    results = tmp_path / "input.results.csv"
    outcome = journal_under_limit(results, limit)
    assert outcome["errno"] == errno.EFBIG
    message = str(outcome["message"])
    assert str(results) in message
    assert "File too large" in message
    assert "--resume" in message
    recorded = outcome["recorded"]
    assert isinstance(recorded, int)
    assert 0 < recorded < ROWS
    assert len(results_lines(results)) == 1 + recorded  # header + each recorded row, nothing more
    state = load(results, HEADER)
    assert state.torn_bytes == 0
    assert state.counts()[Status.OK] == recorded
    resume_to_the_end(results)


def test_efbig_while_writing_the_header_leaves_no_results_file(tmp_path: Path) -> None:
    """Too small for even the header: the error names the file, and no half-made file blocks a rerun."""
    results = tmp_path / "input.results.csv"
    outcome = journal_under_limit(results, 20)
    assert outcome == {"recorded": 0, "errno": errno.EFBIG, "message": outcome["message"]}
    assert str(results) in str(outcome["message"])
    assert not results.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- ENOSPC: a tmpfs mounted small ----------------------------------------------------------------


class SmallDisk:
    """A tmpfs of a few pages at ``path``; ``grow`` gives it room as an operator freeing space would."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        path.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
            capture_output=True,
            timeout=10,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")

    def grow(self, size: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], timeout=10, check=True)

    def unmount(self) -> None:
        subprocess.run(["umount", str(self.path)], timeout=10, check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = SmallDisk(tmp_path / "disk", 16 * 1024)
    try:
        yield disk
    finally:
        disk.unmount()


def test_enospc_while_journaling_keeps_every_complete_line_and_resumes(small_disk: SmallDisk) -> None:
    results = small_disk.path / "input.results.csv"
    recorded = 0
    with pytest.raises(JournalWriteError) as failed, Journal.open(results, HEADER, OpenMode.NEW) as journal:  # noqa: PT012
        for number in range(1, ROWS + 1):
            record(journal, make_row(number), OK)
            recorded += 1
    assert failed.value.errno == errno.ENOSPC
    assert str(results) in str(failed.value)
    assert "No space left on device" in str(failed.value)
    assert 0 < recorded < ROWS
    assert len(results_lines(results)) == 1 + recorded
    small_disk.grow(1024 * 1024)
    resume_to_the_end(results)


def test_enospc_while_finalizing_keeps_the_journal_and_leaves_no_temporary(small_disk: SmallDisk) -> None:
    """Finalize needs room for a second copy: without it, the journal stays as it was, resumable."""
    results = small_disk.path / "input.results.csv"
    rows = 0
    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        # Fill a little over half the disk, so the journal fits but its rewritten copy does not.
        while results.stat().st_size < 9 * 1024:
            rows += 1
            record(journal, make_row(rows), OK)
        before = results.read_bytes()
        with pytest.raises(JournalWriteError) as failed:
            journal.finalize(range(1, rows + 1))
    assert failed.value.errno == errno.ENOSPC
    assert str(results) in str(failed.value)
    assert results.read_bytes() == before
    assert sorted(p.name for p in small_disk.path.iterdir()) == ["input.results.csv"]
    small_disk.grow(1024 * 1024)
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        assert journal.state.counts()[Status.OK] == rows
        assert journal.finalize(range(1, rows + 1)).lines == rows


def test_enospc_while_writing_the_failure_report_names_it(small_disk: SmallDisk, tmp_path: Path) -> None:
    """The results file is on a roomy disk, the report on the full one: the report's error, no stray file."""
    results = tmp_path / "input.results.csv"
    report = small_disk.path / "input.failed.csv"
    refused = Outcome(
        status=Status.FAILED, error_code="NotFoundException", error_message="no such connector " * 8
    )
    with Journal.open(results, HEADER, OpenMode.NEW) as journal:
        for number in range(1, ROWS + 1):
            record(journal, make_row(number), refused)
        journal.finalize(range(1, ROWS + 1))
        with pytest.raises(JournalWriteError) as failed:
            journal.write_failure_report(report)
    assert failed.value.errno == errno.ENOSPC
    assert str(report) in str(failed.value)
    assert list(small_disk.path.iterdir()) == []
    assert len(results_lines(results)) == 1 + ROWS
    small_disk.grow(1024 * 1024)
    with Journal.open(results, HEADER, OpenMode.RESUME) as journal:
        journal.finalize(range(1, ROWS + 1))
        assert journal.write_failure_report(report) == ROWS


def test_enospc_while_writing_the_invalid_report_names_it(small_disk: SmallDisk, tmp_path: Path) -> None:
    source = tmp_path / "input.csv"
    bad = "".join(f"vc{n},zero,US,us-east-1\n" for n in range(2000))
    source.write_text(",".join(HEADER) + "\n" + bad, encoding="utf-8")
    scan = input_file.scan(source, default_region="us-east-1", needs_settings=True)
    target = small_disk.path / "input.invalid.csv"
    # Nothing was sent yet, so it is a usage error (exit 2) that still says what was wrong with the input.
    with pytest.raises(UsageError) as failed:
        scan.write_invalid_report(target)
    assert isinstance(failed.value.__cause__, JournalWriteError)
    assert failed.value.__cause__.errno == errno.ENOSPC
    assert str(target) in str(failed.value)
    assert "No space left on device" in str(failed.value)
    assert "2000 problem(s)" in str(failed.value)
    assert list(small_disk.path.iterdir()) == []
