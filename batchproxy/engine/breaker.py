"""A domain's circuit breaker: when every further request of a (profile, region) would fail alike.

Some failures are not one row's problem but the domain's: the credentials are refused, have expired or
were revoked, or the endpoint cannot be reached from here. Going on would send (or try to send) every
remaining row only to record the same error on each, and a run of 20,000 rows against a name that
does not resolve would take hours. The breaker watches every answered attempt and trips on:

* ``AUTH_REFUSED``: ``threshold`` 401/403 answers in a row, before any other answer came (docs/reference.md
§4:
  the credentials or their permissions never worked).
* ``CREDENTIALS_EXPIRED``: one ``ExpiredToken…`` answer, at any time: a temporary key that expired
  fails every later request alike, and only new credentials help.
* ``CREDENTIALS_REVOKED``: ``threshold`` 401/403 answers in a row after the domain's credentials had
  worked (a revoked key, a detached policy). A per-connector IAM denial can also produce this; its rows
  are then ``skipped``, not lost, and the message says to check the permissions.
* ``UNREACHABLE``: a permanent connection failure (a name that does not exist, a rejected TLS
  certificate or handshake) at once; transient ones (refused, DNS not answering, connect timeout) once
  no answer at all has come from the domain for longer than the retry budget, the time a single
  request would have kept trying anyway.

Once tripped, the domain's rows are ``skipped`` (resumable) and its rows backing off stop at their next
attempt (``BreakerOpen``). Failures the trip explains (``covers``) are recorded ``skipped`` too, so
``--resume`` with fresh credentials or a working endpoint sends them again.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

import anyio

from batchproxy.errors import CallFailed
from batchproxy.principal import Principal
from batchproxy.principal import describe as describe_principal
from batchproxy.rows import FailureKind

__all__ = ["VERDICT_WAIT", "BreakerOpen", "DomainBreaker", "Trip", "describe"]

# How long a row refused after the credentials had worked waits for the breaker's verdict (the next
# answers of the domain's other rows) before it is recorded ``failed`` as a row of its own.
VERDICT_WAIT = 10.0

# The codes AWS answers a temporary key past its expiry with (STS, most JSON services, query APIs).
_EXPIRED_CODES = frozenset({"ExpiredTokenException", "ExpiredToken", "TokenRefreshRequired"})


class BreakerOpen(Exception):
    """Raised instead of sending once the domain's breaker has tripped: the row is skipped, not failed."""


class Trip(enum.Enum):
    AUTH_REFUSED = "credentials refused"
    CREDENTIALS_EXPIRED = "credentials expired"
    CREDENTIALS_REVOKED = "credentials stopped working"
    UNREACHABLE = "endpoint unreachable"


class DomainBreaker:
    """Watches a domain's answers; ``trip`` says why it stopped, ``last_failure`` with what."""

    def __init__(
        self,
        threshold: int,
        *,
        silence_budget: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = max(threshold, 1)
        self.silence_budget = silence_budget
        self._clock = clock
        self._auth_in_a_row = 0
        self._answered = False  # a non-auth answer (or a success) came: the credentials worked
        self._silent_since: float | None = None  # first connection failure since the last answer
        self._last_answer = -float("inf")
        self.trip: Trip | None = None
        self.last_failure: CallFailed | None = None
        self._verdict: anyio.Event | None = None  # set when a streak of refusals ends either way

    @property
    def tripped(self) -> bool:
        return self.trip is not None

    def now(self) -> float:
        return self._clock()

    def observe(self, failure: CallFailed | None, began: float | None = None) -> None:
        """One attempt's result: None for a success, else its failure. ``began``: when the call
        whose attempt this was started retrying (``now()``), so that silence and the retry budget
        are measured from the same moment."""
        if self.trip is not None:
            return
        if failure is None or failure.http_status is not None:
            self._silent_since, self._last_answer = None, self._clock()
            self._observe_answer(failure)
        elif failure.unreachable:
            self._observe_unreachable(failure, began)

    def _observe_answer(self, failure: CallFailed | None) -> None:
        if failure is None or not failure.is_auth:
            self._answered = True
            self._auth_in_a_row = 0
            self._decided()
            return
        self._auth_in_a_row += 1
        if failure.code in _EXPIRED_CODES:
            self._trip(Trip.CREDENTIALS_EXPIRED, failure)
        elif self._auth_in_a_row >= self.threshold:
            self._trip(Trip.CREDENTIALS_REVOKED if self._answered else Trip.AUTH_REFUSED, failure)

    def _observe_unreachable(self, failure: CallFailed, began: float | None) -> None:
        if failure.kind is FailureKind.PERMANENT:
            self._trip(Trip.UNREACHABLE, failure)
            return
        now = self._clock()
        # The silence began when the earliest request still failing began, or at the last answer.
        since = max(now if began is None else began, self._last_answer)
        if self._silent_since is None or since < self._silent_since:
            self._silent_since = since
        if self.silence_budget is not None and now - self._silent_since >= self.silence_budget:
            self._trip(Trip.UNREACHABLE, failure)

    def _trip(self, trip: Trip, failure: CallFailed) -> None:
        self.trip, self.last_failure = trip, failure
        self._decided()

    def _decided(self) -> None:
        if self._verdict is not None:
            self._verdict.set()
            self._verdict = None

    def doubts(self, failure: CallFailed) -> bool:
        """A refusal after the credentials had worked, not decided yet: one row's (a permission on
        one connector) or the first of a revoked key's? The next answers of other rows tell."""
        return self.trip is None and self._answered and failure.is_auth

    async def verdict(self, timeout: float = VERDICT_WAIT) -> None:
        """Wait until the current streak of refusals ends, by a trip or by another answer (bounded).

        A row held here is recorded after the verdict: ``skipped`` if the key turned out revoked (so
        ``--resume`` sends it again), ``failed`` if the refusal was its own.
        """
        if self._verdict is None:
            self._verdict = anyio.Event()
        event = self._verdict
        with anyio.move_on_after(timeout):
            await event.wait()

    def covers(self, failure: CallFailed) -> bool:
        """Is ``failure`` one the trip explains, so that its row is ``skipped`` rather than ``failed``?

        Rows refused before a start-of-run trip stay ``failed``, as they always were (docs/reference.md §4);
        after expired or revoked credentials or an unreachable endpoint, nothing was wrong with the row.
        """
        if self.trip is None or self.trip is Trip.AUTH_REFUSED:
            return False
        if self.trip is Trip.UNREACHABLE:
            return failure.unreachable
        return failure.is_auth


def describe(
    breaker: DomainBreaker, who: Principal, region: str, *, shared_endpoint: str | None = None
) -> str:
    """Why a tripped domain's rows are skipped, and what to do: said once in the summary."""
    failure = breaker.last_failure
    code = failure.code if failure else "AuthFailed"
    where = f"in {region}" if who is None else f"for {describe_principal(who)} in {region}"
    resume = "then run the same command with --resume to send the skipped rows"
    if breaker.trip is Trip.CREDENTIALS_EXPIRED:
        return f"the credentials {where} expired during the run ({code}): renew them, {resume}"
    if breaker.trip is Trip.CREDENTIALS_REVOKED:
        return (
            f"{breaker.threshold} requests {where} in a row were refused ({code}) after earlier ones "
            f"succeeded: the credentials were revoked or lost a permission; fix them, {resume}"
        )
    if breaker.trip is Trip.UNREACHABLE:
        detail = f"{code}: {failure.message}" if failure else code
        text = f"the endpoint {where} cannot be reached ({detail})"
        if shared_endpoint is not None:
            text += f"; every row of this run goes to {shared_endpoint}, so the run stopped"
        return f"{text}; once it can be reached, {resume}"
    return (
        f"the first {breaker.threshold} requests {where} were all refused ({code}): "
        "check the credentials and their IAM permissions"
    )
