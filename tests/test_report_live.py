"""While a live display is shown, log lines go above it and a question pauses it (report/live.py), and
the --approve question reads its answer without blocking the event loop (report/question.py)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator

import anyio
import pytest

from batchproxy.report import live
from batchproxy.report.question import confirm


class Display:
    """A live display that records what it was asked to do."""

    def __init__(self) -> None:
        self.above: list[str] = []
        self.pauses = 0

    def print_above(self, line: str) -> None:
        self.above.append(line)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        self.pauses += 1
        yield


def test_whole_lines_go_above_a_shown_display_and_straight_out_otherwise() -> None:
    """A message and its newline arrive in two writes (print does that): one line above the display."""
    out = io.StringIO()
    stream, display = live.LineStream(out), Display()
    with live.showing(display):
        stream.write("row failed row=3")
        assert display.above == []  # half a line is held, not printed as a line of its own
        stream.write("\n")
        stream.write("one\ntwo\n")
    stream.write("after\n")
    assert display.above == ["row failed row=3", "one", "two"]
    assert out.getvalue() == "after\n"


def test_a_log_line_during_a_question_starts_on_a_new_line() -> None:
    """The question leaves its line open; a log line written meanwhile ends it first, once."""
    out = io.StringIO()
    stream = live.LineStream(out)
    with live.open_line(out):
        out.write("Continue? [y/N]: ")
        stream.write("stopping\n")
        stream.write("more\n")
    assert out.getvalue() == "Continue? [y/N]: \nstopping\nmore\n"


class Keys:
    """The operator's side of a pipe standing in for the terminal."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def type(self, text: bytes) -> None:
        assert self._fd is not None
        os.write(self._fd, text)

    def close(self) -> None:
        """End of input, as Ctrl-D on an empty line."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@pytest.fixture
def terminal() -> Iterator[tuple[io.TextIOWrapper, Keys]]:
    read, write = os.pipe()
    keys = Keys(write)
    with os.fdopen(read) as stdin:
        try:
            yield stdin, keys
        finally:
            keys.close()


@pytest.mark.parametrize(
    ("typed", "answer"), [(b"y\n", True), (b"YES\n", True), (b"\n", False), (b"", False)]
)
async def test_the_answer_is_read_and_enter_or_end_of_input_means_no(
    terminal: tuple[io.TextIOWrapper, Keys], typed: bytes, answer: bool
) -> None:
    """y/yes (any case) is yes; Enter alone or end of input is the default, no; the display is paused
    meanwhile, and the question's line is ended in every case."""
    stdin, keys = terminal
    keys.type(typed)
    if not typed:
        keys.close()
    out, display = io.StringIO(), Display()
    with live.showing(display), anyio.fail_after(5):
        assert await confirm("Continue?", stdin=stdin, out=out) is answer
    # Typed answers end their line with the terminal's echo (not in this StringIO); end of input with ours.
    assert out.getvalue() == "Continue? [y/N]: " + ("" if typed else "\n")
    assert display.pauses == 1


async def test_nonsense_is_asked_again(terminal: tuple[io.TextIOWrapper, Keys]) -> None:
    """An answer that is neither yes nor no gets the question again."""
    stdin, keys = terminal
    keys.type(b"maybe\nn\n")
    out = io.StringIO()
    with anyio.fail_after(5):
        assert await confirm("Continue?", stdin=stdin, out=out) is False
    assert out.getvalue() == "Continue? [y/N]: Please answer y or n.\nContinue? [y/N]: "


async def test_cancelling_the_question_ends_it_at_once(terminal: tuple[io.TextIOWrapper, Keys]) -> None:
    """Nothing typed: a cancelled scope (the scheduler stopping on Ctrl-C) ends the wait right away,
    and the question's line is ended so what follows starts on a line of its own."""
    stdin, _keys = terminal
    out = io.StringIO()
    with anyio.move_on_after(0.2) as scope:
        await confirm("Continue?", stdin=stdin, out=out)
    assert scope.cancelled_caught
    assert out.getvalue() == "Continue? [y/N]: \n"
