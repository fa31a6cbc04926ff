"""One API request for one row: rate permit, send, classify, retry — the ``Caller`` operations use.

This is where the scheduler's limiter, the retry policy and the error boundary meet the SDK client.
Each request that goes on the wire takes one permit and counts as one attempt (CONTRACT §7).
"""

from __future__ import annotations

from typing import Any

import anyio

from batchproxy.errors import CallFailed, translate
from batchproxy.ratelimit import AdaptiveLimiter
from batchproxy.retry import RetryPolicy
from batchproxy.rows import FailureKind
from batchproxy.stats import RunStats

__all__ = ["AuthBreaker", "BreakerOpen", "RowCaller"]


class BreakerOpen(Exception):
    """Raised instead of sending once the auth breaker has tripped: the row is skipped, not failed."""


class AuthBreaker:
    """Trips when the first answered requests of a run are all 401/403 (CONTRACT §4).

    Bad credentials or a missing permission fail every row alike; after ``threshold`` such answers
    and no success, going on would only fill the results file with the same error.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = max(threshold, 1)
        self._auth_failures = 0
        self._settled = False  # a non-auth answer came: the credentials work
        self.tripped = False
        self.last_failure: CallFailed | None = None

    def observe(self, failure: CallFailed | None) -> None:
        if self._settled:
            return
        if failure is None or not failure.is_auth:
            self._settled = failure is None or failure.http_status is not None
            return
        self._auth_failures += 1
        self.last_failure = failure
        if self._auth_failures >= self.threshold:
            self.tripped = True


class RowCaller:
    """The ``operations.Caller`` for one row: remembers what the results file needs to say of it."""

    def __init__(
        self,
        *,
        client: Any,
        limiter: AdaptiveLimiter,
        policy: RetryPolicy,
        stats: RunStats,
        breaker: AuthBreaker,
        capacity: anyio.CapacityLimiter,
        region: str,
    ) -> None:
        self._client = client
        self._limiter = limiter
        self._policy = policy
        self._stats = stats
        self._breaker = breaker
        self._capacity = capacity
        self._region = region
        self.attempts = 0
        self.http_status: int | None = None
        self.request_id = ""

    async def __call__(self, method: str, **params: Any) -> dict[str, Any]:
        async def attempt(_number: int) -> dict[str, Any]:
            return await self._attempt(method, params)

        return await self._policy.call(attempt, on_retry=self._on_retry)

    async def _attempt(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if self._breaker.tripped:
            # Other rows' answers already showed the credentials are refused; do not send more.
            raise BreakerOpen
        permit = await self._limiter.acquire()
        try:
            response = await self._send(method, params)
        except Exception as exc:
            failure = translate(exc)
            if failure is None:
                raise
            self._note_failure(failure, permit)
            raise failure from exc
        self._note_success(response, permit)
        return response

    async def _send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The request itself, holding one of the ``--concurrency`` slots while it is on the wire."""
        async with self._capacity:
            self.attempts += 1
            self._stats.on_attempt(self._region)
            self._stats.in_flight += 1
            try:
                response: dict[str, Any] = await getattr(self._client, method)(**params)
            finally:
                self._stats.in_flight -= 1
        return response

    def _note_failure(self, failure: CallFailed, permit: Any) -> None:
        self.http_status = failure.http_status
        self.request_id = failure.request_id or self.request_id
        self._breaker.observe(failure)
        if failure.kind is FailureKind.THROTTLED:
            self._stats.on_throttle(self._region)
            self._limiter.on_throttle(permit)

    def _note_success(self, response: dict[str, Any], permit: Any) -> None:
        metadata = response.get("ResponseMetadata", {})
        self.http_status = metadata.get("HTTPStatusCode")
        self.request_id = metadata.get("RequestId", "")
        self._breaker.observe(None)
        self._limiter.on_success(permit)

    def _on_retry(self, attempt: int, failure: CallFailed, wait: float) -> None:
        self._stats.retries += 1
