"""``python pane_exit.py STATUS_FILE COMMAND...``: run COMMAND, then write its exit status to STATUS_FILE.

tmux's own record of a pane's exit status is not reliable: now and then its server leaves the exited
process a zombie and reports the pane dead with no status. This wrapper is the pane's first process;
the command runs as its child in the same process group, so keys typed on the terminal reach it (Ctrl-C
is its SIGINT). The wrapper takes no part: its handler for SIGINT and SIGTERM does nothing, and a
handler (unlike an ignored signal) is not inherited by the command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def main() -> None:
    status_file, *command = sys.argv[1:]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: None)
    code = subprocess.call(command)
    # An exit status, or 128 + N for a command killed by signal N: what a shell reports.
    status = 128 - code if code < 0 else code
    partial = f"{status_file}.partial"
    with open(partial, "w", encoding="ascii") as out:
        out.write(f"{status} {'signal' if code < 0 else 'exit'}\n")
    os.replace(partial, status_file)  # whole or absent: the reader never sees half a status
    sys.exit(status)


if __name__ == "__main__":
    main()
