"""The console entry point: a Ctrl-C or SIGTERM is ours from the first line, before heavy imports.

Importing botocore takes about a second; a signal in that time would otherwise print a traceback
(SIGINT) or kill the process without a word (SIGTERM). Nothing has been sent at that point, so the
honest answer is exit 130 with one line. Once a command runs, ``cli`` and the scheduler take over.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

from batchproxy.exit_codes import ExitCode


def _as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _import_quietly() -> Callable[[], int]:
    """Import the command line with the cyclic garbage collector paused, then freeze what it made.

    Imports make a great many long-lived objects (classes, functions, botocore's and our own module
    state) and almost no garbage, yet every few hundred of them start a collection that walks them
    all again: about a fifth of start-up CPU. Frozen, they are left out of every later collection.
    """
    gc.disable()
    try:
        from batchproxy.cli import run_command_line  # noqa: PLC0415 - the point is to import it late
    finally:
        gc.freeze()
        gc.enable()
    return run_command_line


def main() -> None:
    # Whatever disposition we inherit (a shell's background job starts us with SIGINT ignored), a
    # Ctrl-C or SIGTERM must stop a run the same way: as KeyboardInterrupt here, then the scheduler's.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _as_interrupt)
    try:
        run_command_line = _import_quietly()
        code = run_command_line()
    except KeyboardInterrupt:
        sys.stderr.write("batchproxy: interrupted before anything was sent\n")
        sys.stderr.flush()
        # Straight out: an import cut short can leave modules half-made, and finalizing them has been
        # seen to turn this exit into death by SIGINT. Nothing of ours is open at this point.
        os._exit(ExitCode.INTERRUPTED)
    sys.exit(code)
