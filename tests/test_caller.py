"""The auth breaker's rule, and ``RowCaller`` counting what went on the wire, through real calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from batchproxy.clients import ClientPool
from batchproxy.emulator import Emulator, EmulatorConfig, serve
from batchproxy.engine.breaker import BreakerOpen, DomainBreaker, Trip
from batchproxy.engine.caller import RowCaller
from batchproxy.engine.ratelimit import AdaptiveLimiter
from batchproxy.engine.retry import RetryPolicy
from batchproxy.engine.stats import RunStats
from batchproxy.engine.transport import ClientSend
from batchproxy.errors import CallFailed
from batchproxy.rows import FailureKind
from tests.conftest import DENIED_KEY

OPERATION = "PutVoiceConnectorProxy"
REGION = "us-east-1"
PUT: dict[str, Any] = {
    "VoiceConnectorId": "vc-1",
    "DefaultSessionExpiryMinutes": 45,
    "PhoneNumberPoolCountries": ["US"],
}


def _failure(status: int | None, code: str = "X", kind: FailureKind = FailureKind.PERMANENT) -> CallFailed:
    return CallFailed(kind=kind, code=code, message="", http_status=status)


# -- AuthBreaker ----------------------------------------------------------------------------------


def _tripped_after_each(breaker: DomainBreaker, answers: Sequence[CallFailed | None]) -> list[bool]:
    """Feed ``answers`` (None = a success) one by one; whether the breaker was tripped after each."""
    states = []
    for answer in answers:
        breaker.observe(answer)
        states.append(breaker.tripped)
    return states


def test_breaker_trips_after_threshold_auth_refusals() -> None:
    """``threshold`` 401/403 answers with nothing else before them trip it; it keeps the last one."""
    breaker = DomainBreaker(threshold=3)
    last = _failure(403, "ForbiddenException")
    answers = [_failure(403, "AccessDeniedException"), _failure(401, "UnauthorizedClientException"), last]
    assert _tripped_after_each(breaker, answers) == [False, False, True]
    assert breaker.last_failure is last
    assert breaker.trip is Trip.AUTH_REFUSED
    assert not breaker.covers(last)  # rows refused at the start stay failed (docs/reference.md §4)


def test_breaker_after_a_success_trips_on_threshold_refusals_in_a_row_as_revoked() -> None:
    """Credentials that worked and then are refused ``threshold`` times in a row were revoked."""
    breaker = DomainBreaker(threshold=3)
    answers = [None, _failure(403), None, _failure(403), _failure(403), _failure(403)]
    assert _tripped_after_each(breaker, answers) == [False, False, False, False, False, True]
    assert breaker.trip is Trip.CREDENTIALS_REVOKED


def test_breaker_counts_refusals_in_a_row_only() -> None:
    """A success or any non-auth answer between refusals starts the count again: per-row 403s."""
    breaker = DomainBreaker(threshold=2)
    answers = [_failure(403), None, _failure(403), _failure(404, "NotFoundException"), _failure(403)]
    assert not any(_tripped_after_each(breaker, answers))


def test_an_expired_token_trips_at_once_whenever_it_comes() -> None:
    """A temporary key past its expiry fails every later request: one answer is enough."""
    breaker = DomainBreaker(threshold=5)
    expired = _failure(403, "ExpiredTokenException")
    assert _tripped_after_each(breaker, [None, None, expired]) == [False, False, True]
    assert (breaker.trip, breaker.last_failure) == (Trip.CREDENTIALS_EXPIRED, expired)
    assert breaker.covers(_failure(403, "AccessDeniedException"))
    assert not breaker.covers(_failure(400, "BadRequestException"))


def _unreachable(kind: FailureKind, code: str = "DnsLookupFailed") -> CallFailed:
    return CallFailed(kind=kind, code=code, message="cannot resolve x", unreachable=True)


def test_a_permanent_unreachable_failure_trips_at_once() -> None:
    """A name that does not exist, a rejected certificate: every request to the endpoint fails alike."""
    breaker = DomainBreaker(threshold=5, silence_budget=60.0)
    assert _tripped_after_each(breaker, [None, _unreachable(FailureKind.PERMANENT)]) == [False, True]
    assert breaker.trip is Trip.UNREACHABLE
    assert breaker.covers(_unreachable(FailureKind.TRANSIENT, "ConnectionRefused"))
    assert not breaker.covers(_failure(403))


def test_transient_unreachable_trips_after_the_silence_budget_without_an_answer() -> None:
    """Refused connections trip it only once nothing has answered for the whole budget."""
    now = [0.0]
    breaker = DomainBreaker(threshold=5, silence_budget=10.0, clock=lambda: now[0])
    refused = _unreachable(FailureKind.TRANSIENT, "ConnectionRefused")
    states = []
    for moment, answer in [
        (0, refused),
        (6, refused),
        (9, _failure(503, "ServiceUnavailable")),
        (15, refused),
        (24, refused),
        (25, refused),
    ]:
        now[0] = float(moment)
        breaker.observe(answer)
        states.append(breaker.tripped)
    # The 503 at 9 s was an answer: the silence starts again at 15 s and reaches 10 s at 25 s.
    assert states == [False, False, False, False, False, True]
    assert breaker.trip is Trip.UNREACHABLE


def test_breaker_ignores_failures_without_an_answer() -> None:
    """Connection errors say nothing about credentials: they neither settle nor trip the breaker."""
    breaker = DomainBreaker(threshold=2)
    answers = [
        _failure(None, "ConnectionReset", FailureKind.UNKNOWN_OUTCOME),
        _failure(403),
        _failure(None, "ConnectTimeout", FailureKind.TRANSIENT),
        _failure(401),
    ]
    assert _tripped_after_each(breaker, answers) == [False, False, False, True]


def test_breaker_threshold_is_at_least_one() -> None:
    """A threshold of 0 would trip before any answer; it is raised to 1 and trips on the first 403."""
    breaker = DomainBreaker(threshold=0)
    assert (breaker.threshold, breaker.tripped) == (1, False)
    assert _tripped_after_each(breaker, [_failure(403)]) == [True]


# -- RowCaller through the in-process emulator ----------------------------------------------------


class _Harness:
    """What one scheduler worker gives a RowCaller: a client, a limiter, the policy, stats, breaker."""

    def __init__(self, client: Any, *, max_attempts: int, breaker: DomainBreaker | None = None) -> None:
        self.stats = RunStats()
        self.limiter = AdaptiveLimiter(0, 1)
        self.breaker = breaker or DomainBreaker(threshold=5)
        self._client = client
        # Real sleeps, kept short: the waits themselves are tests/test_retry.py's subject.
        self._policy = RetryPolicy(max_attempts, base=0.001, cap=0.005)

    def caller(self) -> RowCaller:
        return RowCaller(
            send=ClientSend(self._client),
            limiter=self.limiter,
            policy=self._policy,
            stats=self.stats,
            breaker=self.breaker,
            domain=(None, REGION),
        )


@pytest.fixture
async def client(client_pool: ClientPool) -> Any:
    return await client_pool.client((None, REGION))


async def _call(caller: RowCaller) -> dict[str, Any]:
    with anyio.fail_after(10):
        return await caller("put_voice_connector_proxy", **PUT)


async def _fails(caller: RowCaller) -> CallFailed:
    with pytest.raises(CallFailed) as raised:
        await _call(caller)
    return raised.value


async def test_success_records_one_attempt_status_and_request_id(emulator: Emulator, client: Any) -> None:
    """A put that succeeds at once: 1 attempt, http_status 200, the response's x-amzn-RequestId."""
    harness = _Harness(client, max_attempts=3)
    caller = harness.caller()
    response = await _call(caller)
    assert (caller.attempts, caller.http_status) == (1, 200)
    assert caller.request_id == response["ResponseMetadata"]["RequestId"] != ""
    assert (harness.stats.attempts, harness.stats.retries, harness.stats.in_flight) == (1, 0, 0)
    assert emulator.stats.count(OPERATION) == 1


async def test_retries_until_success_count_every_request(emulator: Emulator, client: Any) -> None:
    """Seeded 503s and 500s: every row ends ok, and attempts summed over rows equal the emulator's count."""
    emulator.set_faults({"503": 0.3, "500": 0.2})
    harness = _Harness(client, max_attempts=20)
    callers = [harness.caller() for _ in range(30)]
    for caller in callers:
        await _call(caller)
        assert caller.http_status == 200
    assert sum(c.attempts for c in callers) == emulator.stats.count(OPERATION) == harness.stats.attempts
    assert harness.stats.retries == harness.stats.attempts - len(callers) > 0
    assert emulator.stats.count(OPERATION, 200) == len(callers)


async def test_exhausted_retries_keep_the_last_status_and_request_id(emulator: Emulator, client: Any) -> None:
    """Always 503: max_attempts requests, then the last failure with its status and request id."""
    emulator.set_faults({"503": 1.0})
    caller = _Harness(client, max_attempts=3).caller()
    failure = await _fails(caller)
    assert (failure.code, failure.kind) == ("ServiceUnavailableException", FailureKind.TRANSIENT)
    assert (caller.attempts, caller.http_status) == (3, 503)
    assert caller.request_id == failure.request_id != ""
    assert emulator.stats.count(OPERATION) == 3


async def test_throttles_are_counted_and_reported_to_the_limiter(emulator: Emulator, client: Any) -> None:
    """429s are retried, counted as throttles in the run's stats and in the domain's limiter."""
    emulator.set_faults({"429": 1.0})
    harness = _Harness(client, max_attempts=4)
    caller = harness.caller()
    failure = await _fails(caller)
    assert (failure.kind, caller.attempts, caller.http_status) == (FailureKind.THROTTLED, 4, 429)
    assert harness.stats.throttles == 4
    assert harness.limiter.statistics().throttles == 4


async def test_not_found_is_not_retried(emulator: Emulator, client: Any) -> None:
    """A 404 is permanent: one request, http_status 404, NotFoundException."""
    caller = _Harness(client, max_attempts=5).caller()
    with pytest.raises(CallFailed) as raised:
        with anyio.fail_after(10):
            await caller("put_voice_connector_proxy", **{**PUT, "VoiceConnectorId": "no-such"})
    assert (raised.value.code, caller.attempts, caller.http_status) == ("NotFoundException", 1, 404)
    assert emulator.stats.count(OPERATION) == 1


@pytest.mark.parametrize("fault", ["reset", "lost"])
async def test_a_dropped_connection_is_an_unknown_outcome(
    emulator: Emulator, client: Any, fault: str
) -> None:
    """A connection dropped after the request was sent: the put may have applied, so the outcome is unknown.

    ``lost`` really applies the change before dropping; either way each attempt is one request.
    """
    emulator.set_faults({fault: 1.0})
    caller = _Harness(client, max_attempts=2).caller()
    failure = await _fails(caller)
    assert failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert failure.code == "ConnectionReset"
    assert (caller.attempts, caller.http_status) == (2, None)
    assert emulator.stats.count(OPERATION, fault) == 2 == emulator.stats.count(OPERATION)


async def test_a_refused_connection_is_transient(client: Any) -> None:
    """Nothing listening: the request never left, so the failure is transient (known not applied)."""
    async with serve(EmulatorConfig()) as gone:
        url = gone.url
    pool = ClientPool(
        endpoint_url=url,
        max_connections=1,
        connect_timeout=2,
        read_timeout=2,
        static_credentials=("AKIDX", "s"),
    )
    async with pool:
        caller = _Harness(await pool.client((None, REGION)), max_attempts=2).caller()
        failure = await _fails(caller)
    assert (failure.kind, failure.code, caller.attempts) == (FailureKind.TRANSIENT, "ConnectionRefused", 2)


async def test_denied_credentials_trip_the_shared_breaker(emulator: Emulator) -> None:
    """403s feed the breaker; once it trips, the next row raises BreakerOpen without sending anything."""
    pool = ClientPool(
        endpoint_url=emulator.url,
        max_connections=1,
        connect_timeout=5,
        read_timeout=5,
        static_credentials=(DENIED_KEY, "not-a-secret"),
    )
    async with pool:
        harness = _Harness(
            await pool.client((None, REGION)), max_attempts=5, breaker=DomainBreaker(threshold=2)
        )
        for _ in range(2):
            caller = harness.caller()
            failure = await _fails(caller)
            assert (failure.code, failure.http_status, caller.attempts) == ("AccessDeniedException", 403, 1)
        assert harness.breaker.tripped
        blocked = harness.caller()
        with pytest.raises(BreakerOpen):
            await _call(blocked)
    assert blocked.attempts == 0
    assert emulator.stats.count(OPERATION) == 2


async def test_a_refusal_after_success_waits_for_the_verdict_of_the_next_answers() -> None:
    """The first 403 after successes is in doubt; the streak reaching the threshold decides it."""
    breaker = DomainBreaker(threshold=2)
    breaker.observe(None)
    refused = _failure(403, "AccessDeniedException")
    breaker.observe(refused)
    assert breaker.doubts(refused)
    assert not breaker.covers(refused)
    async with anyio.create_task_group() as group:
        group.start_soon(breaker.verdict, 5.0)
        await anyio.sleep(0.01)
        breaker.observe(refused)  # the second in a row: revoked
    assert breaker.trip is Trip.CREDENTIALS_REVOKED
    assert breaker.covers(refused)


async def test_a_verdict_without_further_answers_gives_up_after_its_timeout() -> None:
    """No other row answers (the domain's last rows): the row is recorded as its own failure."""
    breaker = DomainBreaker(threshold=3)
    breaker.observe(None)
    breaker.observe(_failure(403))
    with anyio.fail_after(2):
        await breaker.verdict(0.05)
    assert not breaker.tripped
