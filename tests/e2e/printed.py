"""The commands a summary prints (``resume:``, ``retry:``, ``or:``), read back as a person would copy them.

The summary breaks a long command over several lines, each ending in `` \\`` (report/fit.py); a shell
reads them as one command line. ``printed_command`` returns that text as printed, to hand to a real
shell; ``printed_argv`` splits it the way the shell would.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

__all__ = ["printed_argv", "printed_command"]


def printed_command(output: str | Sequence[str], label: str) -> str:
    """The command after ``label:`` (with its continuation lines); exactly one must be printed."""
    lines = output.splitlines() if isinstance(output, str) else list(output)
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(f"{label}:")]
    assert len(starts) == 1, f"{len(starts)} '{label}:' lines in:\n" + "\n".join(lines)
    first = starts[0]
    taken = [lines[first].split(f"{label}:", 1)[1]]
    while taken[-1].endswith("\\") and first + len(taken) < len(lines):
        taken.append(lines[first + len(taken)])
    return "\n".join(taken).strip()


def printed_argv(output: str | Sequence[str], label: str) -> list[str]:
    """``printed_command`` split into words as a POSIX shell splits it (a backslash-newline is nothing)."""
    return shlex.split(printed_command(output, label).replace("\\\n", ""))
