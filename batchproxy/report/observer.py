"""One object for the engine to call: it feeds both the event stream and the timeline.

The engine has a handful of moments worth seeing — a request leaves, an answer comes, the limiter's
rate moves, a row ends, the run stops — and should not have to know that two consumers want them. The
clock is read here (wall time: the timeline and the events are read by people and other tools), once
per call. ``RunObserver.null()`` does nothing, so a command without ``--events`` or a results file
(plan, validate, unit tests) passes one and never checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from batchproxy.report.domain import Domain
from batchproxy.report.events import EventSink
from batchproxy.report.timeline import Timeline

__all__ = ["RATE_STEP", "RunObserver"]

# A rate_changed event when the rate moved by at least this fraction since the last one: the limiter
# retunes on every permit while it probes upward, and an event per permit would drown the stream.
RATE_STEP = 0.05


class RunObserver:
    def __init__(self, events: EventSink, timeline: Timeline, clock: Callable[[], float] = time.time) -> None:
        self.events = events
        self.timeline = timeline
        self._clock = clock
        self._announced: dict[Domain, float] = {}

    @classmethod
    def null(cls) -> RunObserver:
        return cls(EventSink.null(), Timeline.null())

    def attempt(self, domain: Domain) -> None:
        """A request goes on the wire (after its permit, inside the concurrency slot)."""
        self.timeline.on_attempt(domain, self._clock())

    def answer(self, domain: Domain, *, status: int | None, latency: float, request_id: str = "") -> None:
        """An attempt ended: HTTP ``status`` (None: no answer) after ``latency`` seconds."""
        self.timeline.on_answer(domain, self._clock(), status, latency)
        if status == 429:
            self.events.throttled(domain=domain, request_id=request_id)

    def rate(self, domain: Domain, rate: float) -> None:
        """The limiter's current rate; call after a throttle cut it and about once a second."""
        self.timeline.on_rate(domain, rate)
        last = self._announced.get(domain)
        if last is None or abs(rate - last) > RATE_STEP * max(last, 1e-9):
            self._announced[domain] = rate
            self.events.rate_changed(domain=domain, rate=rate)

    def tick(self) -> None:
        """About once a second (beside the journal's syncer): write the seconds that have closed."""
        self.timeline.flush(self._clock())

    def finish(self, *, counts: Mapping[str, int], exit_code: int, reason: str | None = None) -> None:
        """The run is over: the timeline's end record, then ``run_finished`` — always the last event."""
        self.timeline.close(exit_code=exit_code, reason=reason)
        self.events.run_finished(counts=counts, exit_code=exit_code)
