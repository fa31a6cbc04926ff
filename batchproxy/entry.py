"""The console entry point: a Ctrl-C or SIGTERM is ours from the first line, before heavy imports.

Importing botocore takes about a second; a signal in that time would otherwise print a traceback
(SIGINT) or kill the process without a word (SIGTERM). Nothing has been sent at that point, so the
honest answer is exit 130 with one line. Once a command runs, ``cli`` and the scheduler take over.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from batchproxy.exit_codes import ExitCode


def _as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # Whatever disposition we inherit (a shell's background job starts us with SIGINT ignored), a
    # Ctrl-C or SIGTERM must stop a run the same way: as KeyboardInterrupt here, then the scheduler's.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _as_interrupt)
    try:
        from batchproxy.cli import run_command_line  # noqa: PLC0415 - the point is to import it late

        code = run_command_line()
    except KeyboardInterrupt:
        sys.stderr.write("batchproxy: interrupted before anything was sent\n")
        sys.stderr.flush()
        # Straight out: an import cut short can leave modules half-made, and finalizing them has been
        # seen to turn this exit into death by SIGINT. Nothing of ours is open at this point.
        os._exit(ExitCode.INTERRUPTED)
    sys.exit(code)
