"""Once a signal has stopped the run, another one must not cut its ending short.

The scheduler watches SIGINT and SIGTERM while rows are in flight: the first stops the run, a second
cancels the requests still in flight. People press Ctrl-C twice when the first seems slow, and the
second often lands just after the scheduler stopped watching, while the results file is finalized and
the failure report written. There it was a KeyboardInterrupt: no summary (so no resume command), no
failure report. So from the moment the scheduler stops watching after a signal until the summary is
printed, further SIGINT and SIGTERM are ignored; that ending takes moments (SIGKILL still ends it).

``guarded_ending`` marks the stretch (``job.run``); ``hold_repeats`` is the scheduler saying "stopped by
a signal, no longer watching". Outside a guarded stretch (a test driving the scheduler alone) it does
nothing, so no handler outlives the code that set it.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

__all__ = ["guarded_ending", "hold_repeats"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_guarded = False
_saved: dict[signal.Signals, Any] = {}  # the handlers hold_repeats replaced, to put back


@contextlib.contextmanager
def guarded_ending() -> Iterator[None]:
    """Within the block, ``hold_repeats`` may ignore signals; on leaving, the handlers are as before."""
    global _guarded  # noqa: PLW0603 - signal handlers are process state; so is this
    _guarded = True
    try:
        yield
    finally:
        _guarded = False
        while _saved:
            signum, handler = _saved.popitem()
            signal.signal(signum, handler)


def hold_repeats() -> None:
    """Ignore SIGINT and SIGTERM until the guarded stretch ends (no-op outside one)."""
    if not _guarded or _saved:
        return
    for signum in _SIGNALS:
        handler = signal.getsignal(signum)
        _saved[signum] = signal.SIG_DFL if handler is None else handler
        signal.signal(signum, signal.SIG_IGN)
