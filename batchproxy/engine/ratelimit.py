"""Requests per second per (profile, region): a fair token bucket, steered by a CUBIC-style controller.

Every request that goes on the wire, retries included, first takes a ``Permit`` from the limiter of its
(profile, region) domain (docs/reference.md §2, §7). Three layers: ``bucket.TokenBucket`` (the fair bucket
that
paces the permits), and here:

``AdaptiveLimiter``
    Owns one bucket and moves its rate. Why CUBIC (RFC 9438) rather than AIMD: AIMD's sawtooth spends
    half of each cycle well below the limit (average ≈ (1 + β) / 2 of it: 85% for β = 0.7), short of
    the 0.95 goodput target, and its linear climb is either too slow to recover from 30 to 150/s or
    too coarse at 3/s. CUBIC's rate is a cubic function of the time since the last decrease, centred
    on ``w_max``, the rate at which throttling last began: it climbs back fast, flattens out near the
    known limit (where it spends most of its time), then probes beyond it ever faster, which is how it
    finds new headroom within seconds. The cubic is scaled by ``w_max``, so it is the same at 3/s and
    at 300/s, except that a cycle spans at least 40 requests and 10 round trips (each cycle costs
    about a round trip of 429s; see ``_growth_for``).

    * Decrease: on a 429, ``rate = β · r``, where r is the rate in force, or a clearly lower measured
      rate: what the workers really sent (a ceiling far above what they can send is not the rate that
      failed), or what the service accepted over the last second (with a long round trip the rate has
      run past the limit before the first 429 comes back; the accepted rate is the limit itself).
    * Once per round trip: only a request *sent after* the last decrease can cause the next one. The
      429s of requests already in flight at a cut say nothing about the new rate; counting them would
      collapse the rate to the floor.
    * Unlimited ceiling (``--rate 0``): no bucket at all until the first 429; then there is no rate in
      force, so r is the measured send rate and the rate becomes β times that. From then on the
      domain is limited like any other, with no upper bound.
    * Growth stops at twice the measured send rate (never below ``w_max``): a rate the workers do not
      use says nothing about the service, and letting it run away would make the next decrease start
      from a meaningless number (RFC 7661's "application-limited" rule).
    * A stale plateau is left fast: past ``w_max`` a short probe (0.5 s, or 8 round trips, or 10
      requests) draws a 429 soon when the capacity has not moved; when it draws none, the rate
      doubles every 0.35 s (or 6 round trips, or 7 requests) until the first 429 (``_curve``). The
      plain cubic took 4-5 s to find a rise from 30 to 150/s.
    * Idle time is not growth time: the cubic's clock runs only while permits are being used. A domain
      whose rows all sleep (most often out a ``Retry-After``) would otherwise come back at a rate grown
      far past the limit, and every row would be throttled again at once (Linux's CUBIC shifts its
      epoch by the idle time for the same reason).
    * A 429's ``Retry-After`` makes the measured rates no evidence for a while: rows told to wait send
      nothing, so what was sent and accepted over that window says how long the service asked us to
      wait, not what it can take. Cutting from such a measurement would collapse the rate far below
      the capacity; the cut is then from the rate in force.
    * Saved-up burst is dropped at each decrease, and the burst never exceeds one second's worth.
    * The rate stays within [floor, ceiling]; after a cut to the floor it is back within a minute.

One limiter per domain is owned by that domain's ``domains.RateDomain``, so a throttled region does
not slow down the others.

The clock is injected (``bucket.Clock``) so that all of this is tested in virtual time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from batchproxy import principal
from batchproxy.engine.bucket import REAL_CLOCK, AnyioClock, Clock, TokenBucket, check_rate_and_burst

__all__ = [
    "DEFAULT_BETA",
    "DEFAULT_FLOOR",
    "DEFAULT_GROWTH",
    "REAL_CLOCK",
    "AdaptiveLimiter",
    "AnyioClock",
    "Clock",
    "Domain",
    "LimiterStatistics",
    "Permit",
    "TokenBucket",
]

Domain = principal.Domain
"""(profile or role, region): the unit that shares one rate ceiling and one view of throttling."""

DEFAULT_BETA = 0.7  # multiplicative decrease, as in CUBIC (RFC 9438)
DEFAULT_GROWTH = 0.4  # CUBIC's C, here relative to w_max: w_max · 0.4 per s³ away from the plateau
DEFAULT_FLOOR = 0.5  # req/s: slow enough for any account, fast enough to notice the limit lifting

# Rates are measured over this window: long enough to smooth a burst, short enough to follow a change.
_METER_WINDOW = 1.0
# ... but never over less than this, so the first few answers of a run do not make a wild estimate.
_METER_MIN_SPAN = 0.25
# A throttle-free rate may not grow beyond this multiple of what is actually being sent.
_APP_LIMITED_FACTOR = 2.0
# A back-off-and-climb cycle spans at least this many requests and this many round trips (_growth_for).
_MIN_CYCLE_REQUESTS = 40
_MIN_CYCLE_RTTS = 10
# ... but the climb back takes no longer than this, so that a rate cut to the floor recovers in a minute.
_MAX_CLIMB_SECONDS = 10.0
# Past the plateau, the cubic probes for this long, or this many round trips or requests if longer ...
_PROBE_SECONDS = 0.5
_PROBE_RTTS = 8
_PROBE_REQUESTS = 10
# ... by at most this much (relative to the plateau) in that time ...
_PROBE_GAIN = 0.1
# ... and then, still without a 429, the plateau is stale: the rate doubles every this long (or RTTs,
# or requests at the plateau's rate).
_DOUBLING_SECONDS = 0.35
_DOUBLING_RTTS = 6
_DOUBLING_REQUESTS = 7
_MAX_DOUBLINGS = 64.0
# ... but not after an idle spell longer than this since the last decrease (see _curve).
_IDLE_TOLERANCE = 0.1
# Weight of a new sample in the smoothed round-trip time, as TCP's SRTT (RFC 6298).
_RTT_GAIN = 0.125
# Rate changes smaller than this are not pushed to the bucket: each push wakes the head waiter.
_RETUNE_TOLERANCE = 0.01


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to send one request. Hand it back with ``on_throttle``/``on_success`` when the answer comes."""

    sent_at: float  # clock time at which it was granted
    epoch: int  # how many decreases had happened by then: older permits cannot cause another one


@dataclass(frozen=True, slots=True, kw_only=True)
class LimiterStatistics:
    """A snapshot of one domain's limiter, for the progress display and the summary."""

    rate: float  # requests/s currently allowed; 0 = unlimited
    ceiling: float  # the configured --rate; 0 = none
    send_rate: float  # requests/s actually granted over the last second
    throttles: int  # throttled answers reported
    decreases: int  # times the rate was lowered (throttles from older requests do not count)
    granted: int  # permits handed out: requests sent, retries included
    successes: int  # answers reported as successful
    waiting: int  # tasks waiting for a permit now


class AdaptiveLimiter:
    """The rate of one (profile, region): starts high, backs off on throttling, probes back up (CUBIC)."""

    def __init__(
        self,
        ceiling: float,
        burst: float = 1.0,
        *,
        clock: Clock = REAL_CLOCK,
        start_rate: float | None = None,
        floor: float = DEFAULT_FLOOR,
        beta: float = DEFAULT_BETA,
        growth: float = DEFAULT_GROWTH,
    ) -> None:
        check_rate_and_burst(ceiling, burst)
        if not 0 < beta < 1 or growth <= 0 or floor <= 0:
            raise ValueError("need 0 < beta < 1, growth > 0 and floor > 0")
        self._ceiling = ceiling
        self._max_burst = burst
        self._clock = clock
        self._floor = min(floor, ceiling) if ceiling else floor
        self._beta, self._growth = beta, growth
        self._sent = _RateMeter(clock)  # requests granted
        self._accepted = _RateMeter(clock)  # requests the service accepted
        self._throttles = self._decreases = self._successes = 0
        self._srtt = 0.0  # smoothed seconds from permit to answer; 0 until the first answer
        self._last_use: float | None = None  # when a permit was last granted or asked for
        self._idle_in_epoch = 0.0  # seconds of idle time since the last decrease
        self._held_until = -math.inf  # until when some row waits out a Retry-After
        # CUBIC state; None until the first throttle (or a learned start rate) gives it a reference.
        self._w_max: float | None = None
        self._epoch_start = 0.0
        self._k = 0.0
        self._c = growth
        self._bucket = TokenBucket(ceiling, self._burst_for(ceiling), clock=clock)
        if start_rate is not None and start_rate > 0:
            self._start_from(start_rate)

    @property
    def ceiling(self) -> float:
        """The configured --rate for this domain; 0 = none."""
        return self._ceiling

    @property
    def current_rate(self) -> float:
        """Requests/s allowed now (0 = unlimited); what the journal keeps as the learned rate."""
        self._retune()
        return self._bucket.rate

    @property
    def learned_rate(self) -> float | None:
        """The current rate once throttling (or a previous run) has taught us something, else None."""
        return None if self._w_max is None else self.current_rate

    async def acquire(self) -> Permit:
        """Wait for leave to send one request (every attempt takes one)."""
        self._skip_idle(self._clock.now())
        self._retune()
        sent_at = await self._bucket.acquire()
        self._sent.note(sent_at)
        self._last_use = sent_at
        return Permit(sent_at=sent_at, epoch=self._decreases)

    def ready_in(self, ahead: int = 0) -> float:
        """Seconds until ``acquire`` would grant a permit, after those waiting and ``ahead`` more."""
        self._retune()
        return self._bucket.ready_in(ahead)

    def on_throttle(self, permit: Permit, *, retry_after: float | None = None) -> bool:
        """A request was throttled (429). Returns True when this lowered the rate.

        ``retry_after``: the seconds the 429 asked its row to wait, when it said (``Retry-After``).
        """
        self._throttles += 1
        self._note_rtt(permit)
        lowered = permit.epoch >= self._decreases  # else: sent before the last cut, already accounted for
        if lowered:
            self._decrease()
        if retry_after:
            # After the cut: the measurements that cut was based on were taken before this wait.
            self._held_until = max(self._held_until, self._clock.now() + retry_after)
        return lowered

    def on_success(self, permit: Permit) -> None:
        """A request was accepted: counted, and measured as evidence of what the service takes."""
        self._successes += 1
        self._note_rtt(permit)
        self._accepted.note(self._clock.now())

    def statistics(self) -> LimiterStatistics:
        return LimiterStatistics(
            rate=self.current_rate,
            ceiling=self.ceiling,
            send_rate=self._sent.rate(),
            throttles=self._throttles,
            decreases=self._decreases,
            granted=self._bucket.granted,
            successes=self._successes,
            waiting=self._bucket.waiting,
        )

    def _start_from(self, rate: float) -> None:
        # A rate learned by an earlier run is where the last plateau was: start there (K = 0) and probe.
        rate = min(rate, self.ceiling) if self.ceiling else rate
        self._w_max = max(rate, self._floor)
        self._epoch_start, self._k = self._clock.now(), 0.0
        self._last_use = self._epoch_start
        self._c = self._growth_for(self._w_max)
        self._set_bucket_rate(self._w_max)

    def _decrease(self) -> None:
        now = self._clock.now()
        at_throttle = max(self._throttled_rate(now), self._floor)
        w_max = at_throttle
        if self._w_max is not None and at_throttle < self._w_max:
            # Fast convergence (RFC 9438 §4.7): the limit is falling, so aim the plateau lower too.
            w_max = at_throttle * (1 + self._beta) / 2
        new_rate = max(self._beta * at_throttle, self._floor)
        self._w_max = w_max
        self._epoch_start = self._last_use = now
        self._idle_in_epoch = 0.0
        # K: how long the cubic takes to climb from new_rate back to w_max.
        self._c = self._growth_for(w_max)
        self._k = math.cbrt(max(w_max - new_rate, 0.0) / (self._c * w_max))
        self._decreases += 1
        self._set_bucket_rate(new_rate)
        # Saved-up tokens were earned at the rate that just proved too high.
        self._bucket.drain()

    def _throttled_rate(self, now: float) -> float:
        """The rate that just proved too high: the allowance, unless measurements show far less.

        Two measurements can: what was really sent (the workers may not use a ceiling far above what
        they can send), and what the service accepted (with a long round trip the allowance has run
        well past the limit before the first 429 comes back; the accepted rate is the limit itself,
        and cutting from it takes one step where cutting from the allowance would take several).
        A one-second count is noisy at a few requests per second, so a measurement only overrides
        the allowance when it is clearly lower (below β times it), or when there is no allowance.
        """
        allowed = self._target(now)
        if self._held_until > now - _METER_WINDOW and allowed:
            return allowed  # some rows sat out a Retry-After within the window: the meters undercount
        evidence = [self._sent.rate()]
        # Answers lag sends by a round trip, so early on the accepted count says more about the
        # round trip than about the service: only a full window of it is evidence.
        if self._accepted.has_full_window():
            evidence.append(self._accepted.rate())
        evidence = [rate for rate in evidence if rate > 0]
        if allowed == 0:
            return min(evidence, default=0.0)
        clearly_lower = [rate for rate in evidence if rate < self._beta * allowed]
        return min(clearly_lower, default=allowed)

    def _growth_for(self, w_max: float) -> float:
        """The cubic's steepness for a plateau at ``w_max``.

        Every probing cycle ends in some 429s: at least one, and about a round trip's worth of the
        excess, because requests already on their way when the limit is crossed all arrive too late
        to be held back. So a cycle must span enough requests and enough round trips for those to be
        a small share: at 3/s a one-second cycle would throttle every third request, and at a 200 ms
        round trip one second is only five round trips. The cubic needs K = cbrt((1 - β) / c) seconds
        to climb back to w_max; we make K at least ``_MIN_CYCLE_REQUESTS / w_max`` and
        ``_MIN_CYCLE_RTTS`` round trips by flattening the curve when either is longer than usual.
        """
        k_min = min(max(_MIN_CYCLE_REQUESTS / w_max, _MIN_CYCLE_RTTS * self._srtt), _MAX_CLIMB_SECONDS)
        return min(self._growth, (1 - self._beta) / k_min**3)

    def _note_rtt(self, permit: Permit) -> None:
        sample = self._clock.now() - permit.sent_at
        self._srtt = sample if self._srtt == 0 else self._srtt + _RTT_GAIN * (sample - self._srtt)

    def _idle_time(self, now: float) -> float:
        """Seconds since the last permit beyond the one-permit interval, when nobody is waiting for one."""
        rate = self._bucket.rate
        if self._last_use is None or self._bucket.waiting or rate == 0:
            return 0.0
        return max(0.0, now - self._last_use - 1 / rate)

    def _skip_idle(self, now: float) -> None:
        # Move the cubic's epoch past the idle spell, so growth resumes where it stopped.
        idle = self._idle_time(now)
        self._epoch_start += idle
        self._idle_in_epoch += idle
        self._last_use = now

    def _target(self, now: float) -> float:
        """The rate CUBIC allows at ``now``; the ceiling (0 = unlimited) before any throttle."""
        if self._w_max is None:
            return self.ceiling
        t = now - self._idle_time(now) - self._epoch_start - self._k
        rate = self._w_max * self._curve(t)
        cap = max(self._w_max, _APP_LIMITED_FACTOR * self._sent.rate())
        if self.ceiling:
            cap = min(cap, self.ceiling)
        return min(max(rate, self._floor), cap)

    def _curve(self, t: float) -> float:
        """The rate relative to ``w_max``, ``t`` seconds after the cubic reached it (negative: before).

        Up to the plateau, CUBIC's concave climb, flattened at low rates (``_growth_for``) so that a
        cycle is not all 429s. Beyond it, a short probe that the flattening does not slow down (it is
        what made a rise from 30 to 150/s take 5 s to find), bounded to ``_PROBE_GAIN`` over
        ``_PROBE_*``. If that probe passes without a 429 the old plateau is no longer the limit: with
        the capacity unchanged the 429 comes sooner, about when the service's own burst runs out. The
        rate then doubles at a steady pace, as a slow start would, until the first 429 tells where the
        new limit is. Never slower than the plain cubic (which is what brings a rate at the floor back
        within a minute); the app-limited cap and the ceiling still bound it. Not after the domain
        sat idle (its rows waiting out a Retry-After, most often): the service's burst refilled
        meanwhile and hides the limit, and doubling into it throttled every row at once again.
        """
        if t <= 0:
            return 1 + self._c * t**3
        w_max = self._w_max or self._floor
        probe = max(_PROBE_SECONDS, _PROBE_RTTS * self._srtt, _PROBE_REQUESTS / w_max)
        doubling = max(_DOUBLING_SECONDS, _DOUBLING_RTTS * self._srtt, _DOUBLING_REQUESTS / w_max)
        c = max(self._c, min(self._growth, _PROBE_GAIN / probe**3))
        probed = 1 + c * min(t, probe) ** 3
        if self._idle_in_epoch > _IDLE_TOLERANCE:
            # While we sent nothing the service's burst filled up: a quiet probe since proves nothing.
            return 1 + c * t**3
        # Bounded exponent: hours without a 429 must not overflow a float (the caps bound the rate).
        doublings = min(max(0.0, t - probe) / doubling, _MAX_DOUBLINGS)
        return max(1 + c * t**3, probed * 2**doublings)

    def _retune(self) -> None:
        target = self._target(self._clock.now())
        current = self._bucket.rate
        if current == target:
            return
        # Growth is continuous; only push changes that matter (each one wakes the head waiter), but
        # do land exactly on the ceiling.
        small = abs(target - current) < _RETUNE_TOLERANCE * current
        if current and target and small and target != self.ceiling:
            return
        self._set_bucket_rate(target)

    def _set_bucket_rate(self, rate: float) -> None:
        self._bucket.set_rate(rate, self._burst_for(rate))

    def _burst_for(self, rate: float) -> float:
        # At most one second's worth at the current rate: a burst of 10 means little at 1000/s but
        # would be ten times the allowance in the first second at a throttled 1/s.
        return self._max_burst if rate == 0 else max(1.0, min(self._max_burst, rate))


class _RateMeter:
    """Events per second over the last ``_METER_WINDOW`` (shorter early on, once events have begun)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._times: deque[float] = deque()
        self._first: float | None = None

    def note(self, at: float) -> None:
        if self._first is None:
            self._first = at
        self._times.append(at)
        self._forget_before(at - _METER_WINDOW)

    def rate(self) -> float:
        if self._first is None:
            return 0.0
        now = self._clock.now()
        self._forget_before(now - _METER_WINDOW)
        # Early in a run a full window would understate the rate; a too-short one would overstate it.
        span = min(_METER_WINDOW, max(now - self._first, _METER_MIN_SPAN))
        return len(self._times) / span

    def has_full_window(self) -> bool:
        return self._first is not None and self._clock.now() - self._first >= _METER_WINDOW

    def _forget_before(self, horizon: float) -> None:
        while self._times and self._times[0] <= horizon:
            self._times.popleft()
