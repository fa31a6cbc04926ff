"""Summary lines fit 80 columns; a command broken over lines is still the same command to a shell."""

from __future__ import annotations

import shlex
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from batchproxy.report.fit import command_lines, fit_line

_WORD = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)


def _as_shell_reads_it(lines: list[str]) -> list[str]:
    """What a POSIX shell makes of the printed lines: backslash-newline is nothing."""
    text = "\n".join(lines).split(":", 1)[1]
    return shlex.split(text.replace("\\\n", ""))


@given(st.lists(_WORD, min_size=1, max_size=25))
def test_a_broken_command_splits_back_into_the_same_words(argv: list[str]) -> None:
    """Any argv, quoted and broken between words: the shell's words are argv again, and every line
    but one holding a single over-long word fits 80 columns."""
    lines = command_lines("resume", argv)
    assert _as_shell_reads_it(lines) == argv
    for line in lines:
        words = line.rstrip(" \\").split()
        assert len(line) <= 80 or len(words) <= 2, lines  # the label and one word too long to break


def test_a_real_shell_runs_the_broken_command_as_one() -> None:
    """bash, given the lines as printed, passes the program exactly its arguments."""
    argv = [sys.executable, "-c", "import sys; print(sys.argv[1:])", "--region", "eu-west-2"]
    argv += ["a b", "it's", "--waves", "1,10,10%", *(f"--opt{i}" for i in range(12))]
    lines = command_lines("retry", argv)
    assert len(lines) > 1
    assert all(len(line) <= 80 for line in lines[1:]), lines
    text = "\n".join(lines).split(":", 1)[1]
    done = subprocess.run(["bash", "-c", text], capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.strip() == repr(argv[3:])


def test_an_option_stays_with_its_value() -> None:
    """A break never falls between --region and its value."""
    argv = ["batchproxy", "run", "in.csv", *(["--region", "ap-southeast-2"] * 6)]
    for line in command_lines("or", argv):
        assert not line.rstrip(" \\").endswith("--region"), line


def test_fit_line_indents_under_the_text_after_the_label() -> None:
    """A long labelled line breaks at spaces; its continuation starts where its text started."""
    line = "  note:     " + " ".join(f"word{i}" for i in range(30))
    lines = fit_line(line)
    assert len(lines) > 1
    assert all(len(part) <= 80 for part in lines)
    assert all(part.startswith(" " * 12) and part[12] != " " for part in lines[1:])
    assert " ".join(part.strip() for part in lines) == line.strip()  # nothing lost, nothing added
    assert fit_line("  rows:     3 ok (of 3)") == ["  rows:     3 ok (of 3)"]
