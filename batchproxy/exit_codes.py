"""The process exit codes (docs/reference.md §5), defined once.

Kept free of imports beyond the standard library: ``entry`` needs them before anything heavy loads.
"""

from __future__ import annotations

import enum

__all__ = ["ExitCode"]


class ExitCode(enum.IntEnum):
    OK = 0  # every row ok
    NOT_ALL_OK = 1  # finished, with rows not ok (failed, skipped or invalid)
    USAGE = 2  # usage, input or credentials error: nothing was sent
    INTERRUPTED = 130  # stopped by a signal; the results file is resumable
