"""After a signal stopped the run, repeats are ignored until the summary; handlers are put back after."""

from __future__ import annotations

import signal

from batchproxy.interrupts import guarded_ending, hold_repeats


def test_repeats_are_ignored_only_inside_the_guarded_ending_and_handlers_come_back() -> None:
    """Outside ``guarded_ending`` hold_repeats changes nothing; inside, SIGINT is ignored (a raised one
    is survived) until the block ends, when the handlers from before are back."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    hold_repeats()
    assert signal.getsignal(signal.SIGINT) is before[signal.SIGINT]
    with guarded_ending():
        hold_repeats()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)  # would be a KeyboardInterrupt without the hold
    assert {signum: signal.getsignal(signum) for signum in before} == before
