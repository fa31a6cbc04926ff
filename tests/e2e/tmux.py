"""A real terminal for end-to-end tests: the CLI runs in a tmux pane of a fixed size.

tmux is a real terminal emulator on a real pseudo-terminal: keys sent to the pane go through the tty's
line discipline (Ctrl-C becomes SIGINT for the foreground process), and ``capture-pane`` returns what a
person would see — escape codes already applied, so a progress bar that was not erased is still there.
Each pane gets its own tmux server on a private socket. The command runs under ``pane_exit.py``, which
records its exit status; on leaving, the command's process group (led by that wrapper) and the server
are stopped by their ids. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["Pane", "needs_tmux", "open_pane"]

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

_COMMAND_SECONDS = 10.0
_POLL_SECONDS = 0.05
_WRAPPER = Path(__file__).with_name("pane_exit.py")
# What tmux writes under a pane whose command has exited (remain-on-exit): not the command's output.
_DEAD_NOTICE = re.compile(r"^Pane is dead \(")
# The pane stays after its process exits (so its exit status and last screen can be read); no status
# bar, so the pane is the whole terminal; enough history for every line a test run prints.
_CONFIG = "set -g remain-on-exit on\nset -g status off\nset -g history-limit 20000\n"


@dataclass(frozen=True, slots=True)
class Pane:
    """One tmux pane running one command; the methods read its screen and type into it."""

    socket: Path
    pid: int  # the pane's first process (pane_exit.py), leader of the command's process group
    server_pid: int
    status_file: Path  # written by pane_exit.py once the command has exited

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=_COMMAND_SECONDS,
            check=True,
        )
        return done.stdout

    def screen(self) -> list[str]:
        """The visible screen, one string per row, trailing blanks removed."""
        return [line.rstrip() for line in self.tmux("capture-pane", "-p", "-t", "t").split("\n")[:-1]]

    def lines(self) -> list[str]:
        """Everything the terminal holds, scrollback and screen; a wrapped line comes back whole (``-J``)."""
        text = self.tmux("capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", "t")
        lines = [line.rstrip() for line in text.split("\n")[:-1] if not _DEAD_NOTICE.match(line)]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def keys(self, *keys: str) -> None:
        """Press keys by tmux name (``C-c``, ``Enter``)."""
        self.tmux("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        """Type ``text`` literally."""
        self.tmux("send-keys", "-t", "t", "-l", text)

    def wait_for(self, pattern: str, *, timeout: float = 30.0) -> list[str]:
        """The terminal's lines once one of them matches ``pattern``; fails after ``timeout`` seconds."""
        found = re.compile(pattern)
        return self._wait(lambda lines: any(found.search(line) for line in lines), pattern, timeout)

    def exit_status(self, *, timeout: float = 60.0) -> int:
        """The command's exit status once it has exited; fails if a signal killed it, or after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.status_file.exists():
            if time.monotonic() > deadline:
                shows = "\n".join(self.lines())
                raise AssertionError(f"no exit status after {timeout} s; the terminal shows:\n{shows}")
            time.sleep(_POLL_SECONDS)
        status, how = self.status_file.read_text().split()
        if how == "signal":
            raise AssertionError(f"killed by signal {int(status) - 128}:\n" + "\n".join(self.lines()))
        return int(status)

    def _wait(self, ready: Callable[[list[str]], bool], what: str, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if ready(lines):
                return lines
            if time.monotonic() > deadline:
                shows = "\n".join(lines)
                raise AssertionError(f"no {what!r} after {timeout} s; the terminal shows:\n{shows}")
            time.sleep(_POLL_SECONDS)


@contextlib.contextmanager
def open_pane(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    width: int = 100,
    height: int = 30,
) -> Iterator[Pane]:
    """Run ``command`` in ``cwd`` on a ``width`` by ``height`` terminal; on leaving, stop it and its
    tmux server. tmux's own files go to a private directory (short: a socket path has a length limit)."""
    with tempfile.TemporaryDirectory(prefix="tmux-") as private:
        config = Path(private) / "tmux.conf"
        config.write_text(_CONFIG)
        with _started(
            command, private=Path(private), config=config, cwd=cwd, env=env, size=(width, height)
        ) as pane:
            yield pane


@contextlib.contextmanager
def _started(
    command: Sequence[str],
    *,
    private: Path,
    config: Path,
    cwd: Path,
    env: Mapping[str, str],
    size: tuple[int, int],
) -> Iterator[Pane]:
    socket, status = private / "sock", private / "status"
    # The first tmux command starts the server, which passes its own environment to the pane.
    subprocess.run(
        [
            *("tmux", "-S", str(socket), "-f", str(config), "new-session", "-d", "-s", "t"),
            *("-x", str(size[0]), "-y", str(size[1]), "-c", str(cwd), "--"),
            *(sys.executable, str(_WRAPPER), str(status), *command),
        ],
        env={**env, "TERM": "xterm-256color"},
        capture_output=True,
        timeout=_COMMAND_SECONDS,
        check=True,
    )
    probe = Pane(socket, 0, 0, Path())
    pane = Pane(
        socket,
        int(probe.tmux("list-panes", "-t", "t", "-F", "#{pane_pid}")),
        int(probe.tmux("display-message", "-p", "#{pid}")),
        status,
    )
    try:
        yield pane
    finally:
        _stop(pane)


def _stop(pane: Pane) -> None:
    """The command's process group (the wrapper leads it) if the command has not exited, then tmux."""
    if not pane.status_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pane.pid, signal.SIGKILL)
    try:
        pane.tmux("kill-server")
    except subprocess.SubprocessError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pane.server_pid, signal.SIGKILL)
