"""The scheduler in virtual time: the send seam faked, the clock trio's ``MockClock``.

Every test runs its scheduler under ``anyio.run(..., backend="trio")`` with a ``MockClock`` that jumps
to the next timer whenever every task is blocked (``autojump_threshold=0``), so seconds of rate limiting,
back-off and grace periods take milliseconds, and times are exact. The fakes sit only at seams we own:
``transport.Send`` (answers or botocore ``ClientError``s built here) and the clock. Signals are real:
``signal.raise_signal`` while the scheduler watches for them.
"""

from __future__ import annotations

import signal
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import botocore.exceptions
import trio.testing

from batchproxy.engine.domains import Domains
from batchproxy.engine.retry import RetryPolicy
from batchproxy.engine.scheduler import Scheduler, StopControl
from batchproxy.engine.stats import Domain, RunStats
from batchproxy.engine.transport import Send
from batchproxy.operations import PutSetting
from batchproxy.rows import FailureKind, Outcome, Row, Status
from tests.conftest import make_row

T = TypeVar("T")
Answer = Callable[[Domain, str, dict[str, Any]], Awaitable[dict[str, Any]]]


def in_virtual_time(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` on trio with a clock that skips every wait (and starts at 0)."""
    clock = trio.testing.MockClock(autojump_threshold=0)
    return anyio.run(main, backend="trio", backend_options={"clock": clock})


def client_error(status: int, code: str) -> botocore.exceptions.ClientError:
    """What botocore raises for an error answer: the error boundary translates it as it would AWS's."""
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} from the fake service"},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": f"req-{code}", "HTTPHeaders": {}},
    }
    return botocore.exceptions.ClientError(response, "PutVoiceConnectorProxy")


def stored(params: dict[str, Any]) -> dict[str, Any]:
    """A put's answer: the proxy as stored, echoed back as the service does."""
    proxy = {
        "DefaultSessionExpiryMinutes": params["DefaultSessionExpiryMinutes"],
        "PhoneNumberCountries": params["PhoneNumberPoolCountries"],
        "Disabled": False,
    }
    return {"Proxy": proxy, "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "req-ok"}}


@dataclass
class FakeService:
    """A ``Send`` per domain that logs each arrival's virtual time, waits ``latency`` and answers."""

    latency: float = 0.05
    answer: Answer | None = None
    arrivals: dict[Domain, list[float]] = field(default_factory=lambda: defaultdict(list))
    released: list[tuple[Domain, float]] = field(default_factory=list)

    async def release(self, key: Domain) -> None:
        self.released.append((key, anyio.current_time()))

    async def connect(self, key: Domain) -> Send:
        async def send(method: str, params: dict[str, Any]) -> dict[str, Any]:
            self.arrivals[key].append(anyio.current_time())
            await anyio.sleep(self.latency)
            if self.answer is not None:
                return await self.answer(key, method, params)
            return stored(params)

        return send


@dataclass
class Lines:
    """The scheduler's ``Recorder``: each outcome with the virtual time it was recorded."""

    lines: list[tuple[Row, Outcome, float]] = field(default_factory=list)

    def record(self, row: Row, outcome: Outcome) -> None:
        self.lines.append((row, outcome, anyio.current_time()))

    def of(self, region: str, profile: str | None = None) -> list[Outcome]:
        return [o for r, o, _ in self.lines if r.target.domain == (profile, region)]


@dataclass
class Run:
    control: StopControl
    lines: Lines
    service: FakeService
    ended: float


def schedule(
    rows: Sequence[Row],
    service: FakeService,
    *,
    rate: float = 0,
    burst: int = 1,
    concurrency: int = 4,
    grace: float = 5.0,
    max_attempts: int = 5,
    breaker_threshold: int = 5,
    signals: bool = False,
    during: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> Run:
    """Carry ``rows`` through a scheduler against ``service`` in virtual time; ``during`` runs beside."""
    lines = Lines()

    async def main() -> Run:
        stats = RunStats()
        domains = Domains(
            service.connect,
            release=service.release,
            rate=rate,
            burst=burst,
            stats=stats,
            memory_rows=concurrency * 2,
            breaker_threshold=breaker_threshold,
        )
        scheduler = Scheduler(
            operation=PutSetting(),
            domains=domains,
            policy=RetryPolicy(max_attempts, base=0.2, cap=2.0),
            recorder=lines,
            stats=stats,
            concurrency=concurrency,
            grace_seconds=grace,
            handle_signals=signals,
        )
        background = () if during is None else (during,)
        control = await scheduler.run(iter(rows), background=background)
        return Run(control=control, lines=lines, service=service, ended=anyio.current_time())

    return in_virtual_time(main)


def interleaved(per_domain: int, domains: Sequence[tuple[str | None, str]]) -> list[Row]:
    """``per_domain`` rows for each domain, taking turns in input order."""
    rows: Iterator[Row] = (
        make_row(i * len(domains) + d + 1, region, profile)
        for i in range(per_domain)
        for d, (profile, region) in enumerate(domains)
    )
    return list(rows)


def busiest_second(times: Sequence[float]) -> int:
    """The most arrivals in any window of one second (sliding, starting at every arrival)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0 - 1e-6:
            start += 1
        best = max(best, end - start + 1)
    return best


# -- the rate ceiling and the shared pool ------------------------------------------------------------


def test_no_domain_exceeds_its_ceiling_with_many_saturated_domains() -> None:
    """Three regions at --rate 5 --burst 5 and 32 workers: in no second does any region get more than
    rate + burst = 10 requests (the old "known bound" allowed up to concurrency - burst more), and all
    three are kept busy at their ceiling side by side."""
    regions: list[tuple[str | None, str]] = [
        (None, "us-east-1"),
        (None, "eu-west-2"),
        (None, "ap-southeast-1"),
    ]
    rows = interleaved(60, regions)
    run = schedule(rows, FakeService(latency=0.05), rate=5, burst=5, concurrency=32)
    assert run.control.reason is None
    assert {o.status for _, o, _ in run.lines.lines} == {Status.OK}
    for key in regions:
        arrivals = run.service.arrivals[key]
        assert len(arrivals) == 60
        assert busiest_second(arrivals) <= 10, (key, busiest_second(arrivals))
        # Saturated: 5 at once, then 55 at 5/s = 11 s; nothing waits for the other regions.
        assert 10.5 <= max(arrivals) - min(arrivals) <= 11.5, (key, max(arrivals) - min(arrivals))
    assert run.ended < 12.0


def test_a_throttled_domain_does_not_hog_the_shared_pool() -> None:
    """One region's service takes 2 requests/s and throttles the rest; four shared workers keep carrying
    the other region's rows, which finish long before the throttled region's."""
    slow, fast = (None, "eu-west-1"), (None, "us-east-1")
    accepted: list[float] = []

    async def answer(key: Domain, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if key == slow:
            now = anyio.current_time()
            if sum(1 for at in accepted if now - at < 1.0) >= 2:
                raise client_error(429, "ThrottlingException")
            accepted.append(now)
        return stored(params)

    rows = [*interleaved(10, [slow, fast]), *(make_row(100 + n, fast[1]) for n in range(110))]
    run = schedule(rows, FakeService(latency=0.01, answer=answer), concurrency=4, max_attempts=30)
    assert {o.status for _, o, _ in run.lines.lines} == {Status.OK}
    done = {key: max(at for r, _, at in run.lines.lines if r.target.domain == key) for key in (slow, fast)}
    assert done[slow] > 3.0, done  # 10 rows at 2/s
    assert done[fast] < 1.5, done  # 120 rows, 10 ms each, over the workers the slow region leaves free


def test_each_domain_gives_its_client_back_after_its_last_row() -> None:
    """A domain whose rows end early releases its client then, not when the whole run ends."""
    short, long = (None, "eu-west-2"), (None, "us-east-1")
    rows = [*interleaved(3, [short, long]), *(make_row(100 + n) for n in range(40))]
    run = schedule(rows, FakeService(latency=0.5), concurrency=2)
    released = dict(run.service.released)
    assert sorted(released) == sorted([short, long])  # each once
    last = {key: max(at for r, _, at in run.lines.lines if r.target.domain == key) for key in released}
    assert last[short] <= released[short] < last[long] - 5, (released, last)
    assert released[long] >= last[long]


# -- waves ------------------------------------------------------------------------------------------


@dataclass
class GateLog:
    """Waves of 2, then 3 rows; at each gate, note the time and how many rows have outcomes and how
    many requests were sent, then pause 10 s; stop after ``stop_after`` waves."""

    lines: Lines
    service: FakeService
    stop_after: int
    gates: list[tuple[int, int, int, float]] = field(default_factory=list)

    def sizes(self) -> Iterator[int]:
        yield 2
        while True:
            yield 3

    async def between(self, wave: int, stats: RunStats) -> str | None:
        sent = sum(len(times) for times in self.service.arrivals.values())
        self.gates.append((wave, len(self.lines.lines), sent, anyio.current_time()))
        await anyio.sleep(10)  # a pause: nothing of the next wave may start meanwhile
        return "the gate said stop" if wave + 1 == self.stop_after else None

    def after_outcome(self, stats: RunStats) -> str | None:
        return None


def test_waves_finish_before_the_gate_pauses_hold_the_next_and_a_stop_skips_the_rest() -> None:
    """Each wave's rows all have outcomes before the gate is asked, nothing is sent during its 10 s
    pause, and a gate saying stop leaves every later row ``skipped`` with its reason."""
    rows = [make_row(n) for n in range(1, 21)]
    service = FakeService(latency=0.5)
    lines = Lines()
    gate = GateLog(lines, service, stop_after=3)

    async def main() -> StopControl:
        stats = RunStats()
        domains = Domains(service.connect, rate=0, burst=1, stats=stats, memory_rows=8)
        return await Scheduler(
            operation=PutSetting(),
            domains=domains,
            policy=RetryPolicy(3),
            recorder=lines,
            stats=stats,
            concurrency=4,
            grace_seconds=5,
            waves=gate,
            handle_signals=False,
        ).run(iter(rows))

    control = in_virtual_time(main)
    assert [(wave, done, sent) for wave, done, sent, _ in gate.gates] == [(0, 2, 2), (1, 5, 5), (2, 8, 8)]
    arrivals = sorted(service.arrivals[(None, "us-east-1")])
    for _, _, _, at in gate.gates:
        assert not [t for t in arrivals if at <= t < at + 10], "a request went out during a pause"
    assert control.reason == "the gate said stop"
    assert [row.number for row, _, _ in lines.lines[8:]] == list(range(9, 21))
    assert {(o.status, o.error_message) for _, o, _ in lines.lines[8:]} == {
        (Status.SKIPPED, "the gate said stop")
    }


# -- the auth breaker ---------------------------------------------------------------------------------


async def _refuse_profile_bad(key: Domain, method: str, params: dict[str, Any]) -> dict[str, Any]:
    if key[0] == "bad":
        raise client_error(403, "AccessDeniedException")
    return stored(params)


def test_refused_credentials_skip_the_rest_of_their_domain_only() -> None:
    """A profile whose requests are all refused trips its breaker after the threshold: its remaining
    rows are skipped with the reason, while another profile's rows all go through."""
    bad, good = ("bad", "us-east-1"), ("good", "us-east-1")
    rows = interleaved(20, [bad, good])
    service = FakeService(answer=_refuse_profile_bad)
    run = schedule(rows, service, concurrency=1, breaker_threshold=2)
    assert run.control.reason is None  # the good profile kept going: not a stop
    assert {o.status for o in run.lines.of("us-east-1", "good")} == {Status.OK}
    refused = run.lines.of("us-east-1", "bad")
    assert [o.status for o in refused[:2]] == [Status.FAILED, Status.FAILED]
    assert {(o.status, o.attempts) for o in refused[2:]} == {(Status.SKIPPED, 0)}
    assert all("were all refused (AccessDeniedException)" in o.error_message for o in refused[2:])
    assert len(service.arrivals[bad]) == 2  # nothing sent for it once tripped


def test_when_every_domain_is_refused_the_run_says_so() -> None:
    """Only refused domains: once every row is read the run counts as stopped by the breaker."""
    rows = [make_row(n, "us-east-1", "bad") for n in range(1, 9)]
    run = schedule(rows, FakeService(answer=_refuse_profile_bad), concurrency=1, breaker_threshold=2)
    assert run.control.reason is not None
    assert "were all refused" in run.control.reason
    assert len(run.lines.lines) == 8


# -- signals: grace, second signal, skip the rest -----------------------------------------------------


def _signal_at(*times: float) -> Callable[[], Coroutine[Any, Any, None]]:
    async def deliver() -> None:
        started = anyio.current_time()
        for at in times:
            await anyio.sleep(at - (anyio.current_time() - started))
            signal.raise_signal(signal.SIGINT)
        await anyio.sleep_forever()

    return deliver


def test_sigint_lets_requests_in_flight_finish_within_grace_and_skips_the_rest() -> None:
    """SIGINT at 1 s: the two requests in flight (3 s each) finish ok, no new row starts, and every other
    row is skipped as NotAttempted with the signal as reason."""
    rows = [make_row(n) for n in range(1, 11)]
    run = schedule(
        rows, FakeService(latency=3.0), concurrency=2, grace=5, signals=True, during=_signal_at(1.0)
    )
    assert run.control.interrupted
    assert run.control.reason == "interrupted by SIGINT"
    outcomes = [o for _, o, _ in run.lines.lines]
    assert [o.status for o in outcomes].count(Status.OK) == 2
    skipped = [o for o in outcomes if o.status is Status.SKIPPED]
    assert {(o.error_code, o.error_message) for o in skipped} == {("NotAttempted", "interrupted by SIGINT")}
    assert len(skipped) == 8
    assert 2.9 <= run.ended <= 3.5


def test_requests_still_in_flight_when_the_grace_ends_are_cancelled_as_unknown() -> None:
    """SIGINT at 1 s with 5 s of grace and 30 s requests: at 6 s they are cancelled and recorded
    ``skipped``/Cancelled with an unknown outcome (they may have reached AWS), so --resume sends them."""
    rows = [make_row(n) for n in range(1, 6)]
    run = schedule(
        rows, FakeService(latency=30.0), concurrency=2, grace=5, signals=True, during=_signal_at(1.0)
    )
    cancelled = [o for _, o, _ in run.lines.lines if o.error_code == "Cancelled"]
    assert len(cancelled) == 2
    assert {(o.failure_kind, o.attempts) for o in cancelled} == {(FailureKind.UNKNOWN_OUTCOME, 1)}
    assert 5.9 <= run.ended <= 6.5


def test_a_second_signal_cancels_requests_in_flight_at_once() -> None:
    """A second SIGINT does not wait for the grace period: requests in flight are cancelled right away."""
    rows = [make_row(n) for n in range(1, 6)]
    run = schedule(
        rows,
        FakeService(latency=30.0),
        concurrency=2,
        grace=60,
        signals=True,
        during=_signal_at(1.0, 2.0),
    )
    assert run.control.interrupted
    assert [o.error_code for _, o, _ in run.lines.lines].count("Cancelled") == 2
    assert len(run.lines.lines) == 5
    assert 1.9 <= run.ended <= 2.5
