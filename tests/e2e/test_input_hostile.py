"""Hostile input files through the real CLI (issue 10, item 1): exit 2, one precise message, no traceback,
nothing sent, nothing left behind.

Each case writes a real file (or makes a FIFO, a directory, a pipe) in a directory of its own, then runs
``python -m batchproxy validate FILE`` and ``run FILE --endpoint-url <emulator> --force`` as subprocesses.
Judged by: exit code 2; the message on stderr (file, row, column where there is one, and the fix); no
``Traceback``; the directory holding nothing but the input, plus ``<stem>.invalid.csv`` for row problems;
and the emulator having served no request at all.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import EmulatorProcess, aws_env, emulator, run_cli

HEADER = "VoiceConnectorId,DefaultSessionExpiryMinutes,PhoneNumberPoolCountries,Region"
GOOD = "vc-good,60,US;CA,us-east-1"
SAVE_UTF8 = re.escape('save it as "CSV UTF-8"')


def _lines(*rows: str, header: str = HEADER, end: str = "\n") -> bytes:
    return (end.join((header, *rows)) + end).encode("utf-8")


def _big_unclosed_quote() -> bytes:
    # Past the csv module's field limit, an unclosed quote fails as "field too large": still named so.
    return _lines(GOOD, 'vc-2,60,"US', *(f"vc{n},60,US,us-east-1" for n in range(20_000)))


def _wide_header() -> bytes:
    return (",".join(f"column{n}" for n in range(100_000)) + "\n").encode()


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], Path]  # builds the input inside the given directory, returns its path
    message: str  # a regex stderr must match
    row_problem: bool = False  # validation problems: <stem>.invalid.csv is written, nothing else


def _file(content: bytes, name: str = "input.csv") -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(content)
        return path

    return make


def _fifo(directory: Path) -> Path:
    path = directory / "input.csv"
    os.mkfifo(path)  # no writer ever comes: opening it would block, so it must not be opened
    return path


def _directory(directory: Path) -> Path:
    path = directory / "input.csv"
    path.mkdir()
    return path


CASES = [
    Case(
        "latin-1 byte",
        _file(_lines("caf\xe9,60,US,us-east-1").replace(b"\xc3\xa9", b"\xe9")),
        r"input\.csv: row 1, column VoiceConnectorId \('café'\): byte 0xE9 at offset \d+ \(line 2\) "
        r"is not UTF-8; .*Windows-1252 or Latin-1: " + SAVE_UTF8,
    ),
    Case(
        "cp1252 smart quotes",
        _file(_lines(GOOD, "vc-2,60,US,us-east-1").replace(b"vc-2", b"\x93vc\x94")),
        r"row 2, column VoiceConnectorId \('\\x93vc\\x94'\): byte 0x93 .* " + SAVE_UTF8,
    ),
    Case("UTF-16 with BOM", _file(_lines(GOOD).decode().encode("utf-16")), r"is UTF-16 text .*" + SAVE_UTF8),
    Case(
        "UTF-16 without BOM",
        _file(_lines(GOOD).decode().encode("utf-16-le")),
        r"looks like UTF-16 text without a byte order mark .*" + SAVE_UTF8,
    ),
    Case(
        "NUL in an id",
        _file(_lines(GOOD, "vc\x00x,60,US,us-east-1")),
        r"row 2, column VoiceConnectorId: holds a NUL byte, which no CSV text has; "
        r"remove it .*\('vc\\x00x'\)",
        row_problem=True,
    ),
    Case(
        "NUL in the header",
        _file(_lines(GOOD, header=HEADER.replace("Region", "Reg\x00ion"))),
        r"the header row, column 4, holds a NUL byte.*export the file again as CSV UTF-8",
    ),
    Case(
        "lone CR line endings",
        _file(_lines(GOOD, "vc-2,0,US,us-east-1", end="\r")),
        r"row 2, column DefaultSessionExpiryMinutes: must be at least 1 \('0'\)",
        row_problem=True,
    ),
    Case(
        "mixed line endings",
        _file(_lines(GOOD).rstrip(b"\n") + b"\r\nvc-2,60,US,us-east-1\rvc-3,x,US,us-east-1\n"),
        r"row 3, column DefaultSessionExpiryMinutes: must be a whole number",
        row_problem=True,
    ),
    Case(
        "unclosed quote",
        _file(_lines(GOOD, '"vc-2,60,US,us-east-1', "vc-3,60,US,us-east-1")),
        r"input\.csv: row 2, column VoiceConnectorId: the quote that opens this cell on line 3 is never "
        r"closed.*close the quote",
    ),
    Case(
        "unclosed quote in a long file",
        _file(_big_unclosed_quote()),
        r"row 2, column PhoneNumberPoolCountries: the quote that opens this cell on line 3 is never closed",
    ),
    Case(
        "text after a closing quote",
        _file(_lines(GOOD, '"vc-2"x,60,US,us-east-1')),
        r"row 2, column VoiceConnectorId \(line 3\): a quoted cell has text after its closing quote; "
        r'inside a quoted cell write a quote as two \(""\)',
    ),
    Case(
        "huge field",
        _file(_lines(GOOD, "vc-2,60,US," + "x" * 200_000)),
        r"row 2, column Region \(line 3\): the cell is longer than 131,072 characters",
    ),
    Case(
        "100,000 columns, none known",
        _file(_wide_header()),
        r"has no header row: its first line \(column0, .* and 99,992 more\) names none of the columns",
    ),
    Case(
        "duplicate header",
        _file(_lines(GOOD + ",x", header=HEADER + ",voice_connector_id")),
        r"names column VoiceConnectorId twice \(columns 1 and 5: VoiceConnectorId and "
        r"voice_connector_id\); remove or rename one of them",
    ),
    Case(
        "semicolons",
        _file(_lines("vc;60;US;us-east-1", header=HEADER.replace(",", ";"))),
        r"is separated by semicolons, not commas .*save it as \"CSV UTF-8 \(Comma delimited\)\"",
    ),
    Case(
        "tabs",
        _file(_lines("vc\t60\tUS\tus-east-1", header=HEADER.replace(",", "\t"))),
        r"is separated by tabs, not commas",
    ),
    Case("empty file", _file(b""), r"input\.csv is empty: it needs a header row"),
    Case("blank first line", _file(b"\n" + _lines(GOOD)), r"the first line is blank"),
    Case("directory", _directory, r"input\.csv is a directory, not a CSV file"),
    Case("missing file", lambda directory: directory / "input.csv", r"input\.csv does not exist"),
    Case(
        "FIFO without a writer",
        _fifo,
        # validate: cannot read it twice; run: cannot put the results beside it
        r"input\.csv is a pipe or FIFO(, not a regular file: .*save it to a file|: .*pass --results PATH)",
    ),
]


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorProcess]:
    with emulator() as running:
        yield running


def _check(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert re.search(message, result.stderr), result.stderr


def _left_behind(directory: Path, made: Path, *, row_problem: bool) -> None:
    expected = {made.name} if made.exists() or made.is_symlink() else set()
    if row_problem:
        expected.add(made.stem + ".invalid.csv")
    assert {p.name for p in directory.iterdir()} == expected


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_validate_refuses_hostile_input(tmp_path: Path, case: Case) -> None:
    """``validate`` ends with exit 2 and the case's message, and leaves nothing but the documented report."""
    path = case.make(tmp_path)
    result = run_cli("validate", path, "--region", "us-east-1", cwd=tmp_path, timeout=60)
    _check(result, case.message)
    _left_behind(tmp_path, path, row_problem=case.row_problem)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_run_refuses_hostile_input_and_sends_nothing(
    tmp_path: Path, emu: EmulatorProcess, case: Case
) -> None:
    """``run --force`` refuses the same way before any request: no results file, no failure report."""
    path = case.make(tmp_path)
    before = emu.stats()["total"]
    result = run_cli(
        "run", path, "--endpoint-url", emu.url, "--region", "us-east-1", "--force", cwd=tmp_path, timeout=60
    )
    _check(result, case.message)
    _left_behind(tmp_path, path, row_problem=case.row_problem)
    assert emu.stats()["total"] == before


def _substituted(tmp_path: Path, emu: EmulatorProcess, *extra: str) -> subprocess.CompletedProcess[str]:
    """``batchproxy run <(cat input.csv) EXTRA`` through bash, in ``tmp_path``."""
    source = tmp_path / "input.csv"
    command = (
        f"{shlex.quote(sys.executable)} -m batchproxy run <(cat {shlex.quote(str(source))}) "
        f"--endpoint-url {emu.url} --region us-east-1 --force {' '.join(map(shlex.quote, extra))}"
    )
    return subprocess.run(
        ["bash", "-c", command],
        env=aws_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_process_substitution_without_results_is_refused_with_the_fix(
    tmp_path: Path, emu: EmulatorProcess
) -> None:
    """``run <(cat f.csv)``: no directory beside a pipe for the results; refused before anything."""
    (tmp_path / "input.csv").write_bytes(_lines(GOOD))
    before = emu.stats()["total"]
    result = _substituted(tmp_path, emu)
    _check(result, r"/dev/fd/\d+ is a pipe or FIFO: .*pass --results PATH")
    assert [p.name for p in tmp_path.iterdir()] == ["input.csv"]
    assert emu.stats()["total"] == before


def test_process_substitution_with_results_runs_and_resumes(tmp_path: Path, emu: EmulatorProcess) -> None:
    """With --results, the stream is spooled and read as often as needed; the failure report is named
    after the results file; --resume reads a new stream of the same input."""
    (tmp_path / "input.csv").write_bytes(_lines(GOOD, *(f"vc-pipe{n},60,US,us-east-1" for n in range(30))))
    results = tmp_path / "out.results.csv"
    emu.configure(auto_create=True)
    done = _substituted(tmp_path, emu, "--results", str(results))
    assert done.returncode == 0, done.stderr
    kept_beside = {"input.csv", "out.results.csv.state.json", "out.results.csv.timeline.jsonl"}
    made = {p.name for p in tmp_path.iterdir()} - kept_beside
    assert made == {"out.failed.csv", "out.results.csv"}
    lines = results.read_text().splitlines()
    assert len(lines) == 32
    again = _substituted(tmp_path, emu, "--results", str(results), "--resume")
    assert again.returncode == 0, again.stderr


def test_an_invalid_stream_reports_beside_the_results_path(tmp_path: Path, emu: EmulatorProcess) -> None:
    (tmp_path / "input.csv").write_bytes(_lines(GOOD, "vc-bad,not-a-number,US,us-east-1"))
    result = _substituted(tmp_path, emu, "--results", str(tmp_path / "out.csv"))
    _check(result, r"out\.invalid\.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv", "out.invalid.csv"]


def _as_nobody(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``command`` without the rights of root (which reads any file), when the tests run as root."""
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *command],
        env=aws_env(PYTHONDONTWRITEBYTECODE="1"),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_unreadable_file_is_named_with_the_fix() -> None:
    """Permission denied names the file; the input module also says to make it readable.

    The CLI's argument type (click.Path) checks readability first and says "Path '…' is not
    readable"; ``scan`` itself, reached by any other caller, says what to do.
    """
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        directory.chmod(0o777)  # nobody may look in, but not read the file
        path = directory / "input.csv"
        path.write_bytes(_lines(GOOD))
        path.chmod(0)
        cli = _as_nobody(
            sys.executable,
            "-m",
            "batchproxy",
            "run",
            str(path),
            "--region",
            "us-east-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
            cwd=directory,
        )
        _check(cli, rf"Path '{re.escape(str(path))}' is not readable")
        code = (
            "import sys; from batchproxy.input import scan; "
            "scan(sys.argv[1], default_region=None, needs_settings=True)"
        )
        module = _as_nobody(sys.executable, "-c", code, str(path), cwd=directory)
        assert module.returncode == 1
        assert (
            f"UsageError: cannot read {path}: permission denied; make it readable by this user"
            in module.stderr
        )
        assert [p.name for p in directory.iterdir()] == ["input.csv"]
        assert stat.S_IMODE(path.stat().st_mode) == 0


def test_header_only_file_is_valid_and_empty(tmp_path: Path) -> None:
    """A header without rows is a valid parse: nothing to do, exit 0, nothing written."""
    path = tmp_path / "input.csv"
    path.write_bytes(_lines())
    result = run_cli("validate", path, "--region", "us-east-1", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "input.csv: 0 rows, all valid" in result.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["input.csv"]
