"""One API request for one row: rate permit, send, classify, retry — the ``Caller`` operations use.

This is where a domain's limiter, the retry policy and the error boundary meet the send seam
(``transport.Send``). Each request that goes on the wire takes one permit and counts as one attempt
(docs/reference.md §7). The caller runs inside one of the scheduler's workers, and a worker *is* a concurrency
slot: the permit is granted to a request that already holds its slot, so it is sent at once, and the
rate ceiling holds exactly (no requests bunching up behind a second wait).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from batchproxy.engine.breaker import BreakerOpen, DomainBreaker
from batchproxy.engine.ratelimit import AdaptiveLimiter, Permit
from batchproxy.engine.retry import RetryPolicy
from batchproxy.engine.stats import Domain, RunStats
from batchproxy.engine.transport import Send
from batchproxy.errors import CallFailed, translate, unexpected
from batchproxy.rows import FailureKind

if TYPE_CHECKING:
    from batchproxy.report.domain import Domain as SeenDomain
    from batchproxy.report.observer import RunObserver

__all__ = ["Backlog", "BreakerOpen", "RowCaller"]


class Backlog:
    """How many of a domain's rows are backing off before a retry: each will want a permit soon.

    The shared worker pool counts them as queued for the domain's limiter, so a throttled domain,
    whose rows keep coming back for more permits, does not look ready and draw more workers in.
    """

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class RowCaller:
    """The ``operations.Caller`` for one row: remembers what the results file needs to say of it."""

    def __init__(
        self,
        *,
        send: Send,
        limiter: AdaptiveLimiter,
        policy: RetryPolicy,
        stats: RunStats,
        breaker: DomainBreaker,
        domain: Domain,
        backlog: Backlog | None = None,
        observer: RunObserver | None = None,
        seen: SeenDomain | None = None,
    ) -> None:
        self._send_request = send
        self._limiter = limiter
        self._policy = policy
        self._stats = stats
        self._breaker = breaker
        self._domain = domain
        self._backlog = backlog or Backlog()
        self._backing_off = False
        self.attempts = 0
        self.http_status: int | None = None
        self.request_id = ""
        self._permit: Permit | None = None  # taken ahead by ``take_permit``, for the first request
        # --events and the timeline: told of each request and answer (None: nobody is watching).
        self._watch = None if observer is None or seen is None else (observer, seen)
        self._sent_at = 0.0

    async def take_permit(self) -> None:
        """Take the permit for the row's first request now (the worker that picked the row does)."""
        if self._permit is None and not self._breaker.tripped:
            self._permit = await self._limiter.acquire()

    async def __call__(self, method: str, **params: Any) -> dict[str, Any]:
        began = self._breaker.now()  # where this call's retry budget starts, as the breaker sees it

        async def attempt(_number: int) -> dict[str, Any]:
            self._done_backing_off()
            return await self._attempt(method, params, began)

        try:
            return await self._policy.call(attempt, on_retry=self._on_retry)
        finally:
            self._done_backing_off()

    async def _attempt(self, method: str, params: dict[str, Any], began: float) -> dict[str, Any]:
        if self._breaker.tripped:
            # Other rows' answers already showed the domain cannot be served (refused credentials, an
            # unreachable endpoint); do not send more. A row backing off stops here.
            raise BreakerOpen
        permit, self._permit = self._permit or await self._limiter.acquire(), None
        try:
            response = await self._send(method, params)
        except Exception as exc:
            # Whatever the SDK raised while sending is this attempt's failure, classified or not: a
            # row must end with an outcome, never take the run down (cancellation is not an Exception).
            failure = translate(exc) or unexpected(exc)
            self._note_failure(failure, permit, began)
            raise failure from exc
        self._note_success(response, permit)
        return response

    async def _send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The request itself, right after its permit: the worker running this already is its slot."""
        self.attempts += 1
        self._stats.on_attempt(self._domain)
        self._stats.in_flight += 1
        if self._watch is not None:
            observer, seen = self._watch
            observer.attempt(seen)
            self._sent_at = time.monotonic()
        try:
            return await self._send_request(method, params)
        finally:
            self._stats.in_flight -= 1

    def _note_failure(self, failure: CallFailed, permit: Permit, began: float) -> None:
        self.http_status = failure.http_status
        self.request_id = failure.request_id or self.request_id
        self._breaker.observe(failure, began)
        self._answered(failure.http_status, failure.request_id or "")
        if failure.kind is FailureKind.THROTTLED:
            self._stats.on_throttle(self._domain)
            cut = self._limiter.on_throttle(permit, retry_after=failure.retry_after)
            if cut and self._watch is not None:
                observer, seen = self._watch
                observer.rate(seen, self._limiter.current_rate)  # the cut, as it happens

    def _note_success(self, response: dict[str, Any], permit: Permit) -> None:
        metadata = response.get("ResponseMetadata", {})
        self.http_status = metadata.get("HTTPStatusCode")
        self.request_id = metadata.get("RequestId", "")
        self._breaker.observe(None)
        self._limiter.on_success(permit)
        self._answered(self.http_status, self.request_id)

    def _answered(self, status: int | None, request_id: str) -> None:
        """Tell the observer (events, timeline) how the attempt was answered, and how fast."""
        if self._watch is not None:
            observer, seen = self._watch
            latency = time.monotonic() - self._sent_at
            observer.answer(seen, status=status, latency=latency, request_id=request_id)

    def _on_retry(self, attempt: int, failure: CallFailed, wait: float) -> None:
        self._stats.retries += 1
        self._backing_off = True
        self._backlog.count += 1

    def _done_backing_off(self) -> None:
        if self._backing_off:
            self._backing_off = False
            self._backlog.count -= 1
