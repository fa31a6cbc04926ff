"""The terminal while a live display is shown: other output goes around it, never through it.

A live display (the progress bar) redraws a region at the bottom of the terminal by moving the cursor
back over what it drew last. A line written straight to the terminal lands after the bar, on the same
row; the next redraw starts below it, so the old frame stays on screen, glued to the log line. So while
a display is shown, log lines are handed to it (it prints them above itself), and a question put to the
operator pauses it (the bar is erased, the question is written plainly, the bar comes back after).

A question also leaves its line open while it waits (the cursor after ``[y/N]: ``): a log line written
then (the "stopping" of a Ctrl-C) starts on a new line instead of being glued to the question.

One process has one terminal: the shown display and the open line are module state.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol, TextIO

__all__ = ["LineStream", "LiveDisplay", "OpenLine", "open_line", "paused", "showing"]


class LiveDisplay(Protocol):
    def print_above(self, line: str) -> None:
        """Write one line (no newline, possibly with ANSI colours) above the live region."""
        ...

    def paused(self) -> contextlib.AbstractContextManager[None]:
        """Erase the live region until the block ends, then draw it again."""
        ...


_shown: LiveDisplay | None = None
_open: OpenLine | None = None


class OpenLine:
    """A line a question left unfinished on ``out``; ``end`` finishes it unless the answer's Enter did."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.is_open = True

    def answered(self) -> None:
        """The operator pressed Enter: the terminal's echo ended the line."""
        self.is_open = False

    def end(self) -> None:
        if self.is_open:
            self.is_open = False
            self._out.write("\n")
            self._out.flush()


@contextlib.contextmanager
def open_line(out: TextIO) -> Iterator[OpenLine]:
    """While a question waits on ``out``; on leaving (answered, cancelled) its line is ended."""
    global _open  # noqa: PLW0603 - one terminal per process; see the module docstring
    line = _open = OpenLine(out)
    try:
        yield line
    finally:
        _open = None
        line.end()


@contextlib.contextmanager
def showing(display: LiveDisplay) -> Iterator[None]:
    """While the block runs, ``display`` owns the bottom of the terminal."""
    global _shown  # noqa: PLW0603 - one terminal per process; see the module docstring
    earlier, _shown = _shown, display
    try:
        yield
    finally:
        _shown = earlier


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The terminal to write a question on: the live display, if one is shown, is erased meanwhile."""
    display = _shown
    if display is None:
        yield
        return
    with display.paused():
        yield


class LineStream:
    """A text file for loggers: whole lines go above the live display when one is shown, else to ``out``.

    Loggers write a message and its newline in separate calls, so text is held until its line is whole:
    a half line handed to the display would be printed as a line of its own.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._partial = ""
        self._lock = threading.Lock()  # botocore may log from a worker thread

    def write(self, text: str) -> int:
        with self._lock:
            if _open is not None:
                _open.end()
            display = _shown
            if display is None and not self._partial:
                return self._out.write(text)
            *lines, self._partial = (self._partial + text).split("\n")
            for line in lines:
                if display is None:
                    self._out.write(line + "\n")
                else:
                    display.print_above(line)
            return len(text)

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return self._out.isatty()
