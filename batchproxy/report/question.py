"""A yes/no question on the terminal (``--approve``) that a Ctrl-C ends at once.

The answer is read inside the event loop: wait until the terminal has a line for us, then read it. A
blocking ``input()`` in a worker thread cannot be cancelled: a Ctrl-C stopped the run, but the run
still waited for the thread, so nothing happened until Enter. Here the scheduler cancels the wait when
the run stops, and the question is gone with it.

The question is written plainly on stderr with the progress display paused (``live.paused``): printed
through the display's console it would be parsed as markup, which ate the ``[y/N]``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import termios
from typing import TextIO

import anyio

from batchproxy.report import live

__all__ = ["confirm"]

_YES = frozenset({"y", "yes"})
_NO = frozenset({"", "n", "no"})  # Enter alone takes the default, which is no


async def confirm(question: str, *, stdin: TextIO | None = None, out: TextIO | None = None) -> bool:
    """Ask until the answer is yes or no (Enter or end of input: no). Cancellable while it waits."""
    source = stdin if stdin is not None else sys.stdin
    with live.paused():
        # Looked up once paused: while the display is shown, sys.stderr is rich's proxy for it.
        terminal = out if out is not None else sys.stderr
        while True:
            answer = await _ask(question, source.fileno(), terminal)
            if answer in _YES or answer in _NO:
                return answer in _YES
            terminal.write("Please answer y or n.\n")


async def _ask(question: str, fd: int, out: TextIO) -> str:
    out.write(f"{question} [y/N]: ")
    out.flush()
    with live.open_line(out) as line:
        try:
            text = await _read_line(fd)
        except anyio.get_cancelled_exc_class():
            # Whatever was typed of an answer would otherwise reach the shell once we exit.
            with contextlib.suppress(termios.error, OSError):
                termios.tcflush(fd, termios.TCIFLUSH)
            raise
        if text.endswith("\n"):
            line.answered()
    return text.strip().lower()


async def _read_line(fd: int) -> str:
    """One line from the terminal, or what was typed before end of input (Ctrl-D).

    A byte at a time: nothing past the line's end is consumed, so an answer typed ahead (or piped) for
    the next question is still there when it is asked.
    """
    data = b""
    while not data.endswith(b"\n"):
        await anyio.wait_readable(fd)
        byte = os.read(fd, 1)
        if not byte:
            break
        data += byte
    return data.decode(errors="replace")
