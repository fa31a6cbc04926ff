"""The scheduler in-process, against the in-process emulator over loopback: outcomes, waves, domains."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import anyio

from batchproxy.clients import ClientPool
from batchproxy.emulator import Emulator, EmulatorConfig, serve
from batchproxy.engine.domains import Domains
from batchproxy.engine.retry import RetryPolicy
from batchproxy.engine.scheduler import Scheduler
from batchproxy.engine.stats import RunStats
from batchproxy.operations import PutSetting
from batchproxy.rows import Outcome, Row, Status, Target, proxy_settings

CREDENTIALS = ("AKIDSCHEDULERTEST01", "scheduler-test-secret")
FAST, SLOW = "us-east-1", "eu-west-1"


def make_row(number: int, region: str = FAST) -> Row:
    connector = f"vc{number:05d}"
    return Row(
        number=number,
        values=(connector, region, "60", "US"),
        target=Target(voice_connector_id=connector, region=region),
        settings=proxy_settings(default_session_expiry_minutes=60, phone_number_pool_countries=("US",)),
    )


class ListRecorder:
    """Outcomes in the order they were recorded, each with the monotonic time it arrived."""

    def __init__(self) -> None:
        self.lines: list[tuple[Row, Outcome, float]] = []
        self._trigger: tuple[int, Callable[[], None]] | None = None

    def when_count(self, count: int, action: Callable[[], None]) -> None:
        """Call ``action`` once, as the ``count``-th outcome is recorded."""
        self._trigger = (count, action)

    def record(self, row: Row, outcome: Outcome) -> None:
        self.lines.append((row, outcome, time.monotonic()))
        if self._trigger is not None and len(self.lines) == self._trigger[0]:
            self._trigger[1]()

    def numbers(self) -> list[int]:
        return [row.number for row, _, _ in self.lines]


@contextlib.asynccontextmanager
async def against(rows: Sequence[Row], **dials: object) -> AsyncIterator[tuple[Emulator, ClientPool]]:
    """An in-process emulator that knows ``rows``' connectors, and a client pool pointed at it."""
    connectors = tuple((row.target.region, row.target.voice_connector_id) for row in rows)
    config = EmulatorConfig(connectors=connectors, seed=7, **dials)  # type: ignore[arg-type]
    async with (
        serve(config) as emulator,
        ClientPool(
            endpoint_url=emulator.url,
            max_connections=16,
            connect_timeout=5,
            read_timeout=10,
            static_credentials=CREDENTIALS,
        ) as clients,
    ):
        yield emulator, clients


def scheduler(
    clients: ClientPool,
    recorder: ListRecorder,
    *,
    concurrency: int,
    waves: StubWaves | None = None,
    max_attempts: int = 3,
) -> Scheduler:
    stats = RunStats()
    domains = Domains.over_pool(clients, rate=0, burst=1, stats=stats, memory_rows=concurrency * 2)
    return Scheduler(
        operation=PutSetting(),
        domains=domains,
        policy=RetryPolicy(max_attempts, base=0.05, cap=0.5),
        recorder=recorder,
        stats=stats,
        concurrency=concurrency,
        grace_seconds=5,
        waves=waves,
        handle_signals=False,
    )


async def test_a_stop_mid_run_still_gives_every_row_exactly_one_outcome() -> None:
    """Stopping after some rows: rows in flight finish ``ok``, the rest (queued or never read) are
    ``skipped``/NotAttempted with the stop reason; every row once, and ok rows are exactly the puts the
    emulator accepted."""
    rows = [make_row(n) for n in range(1, 201)]
    recorder = ListRecorder()
    async with against(rows, latency=0.03) as (emulator, clients):
        engine = scheduler(clients, recorder, concurrency=4)
        recorder.when_count(20, lambda: engine.control.stop("stopped by the test"))
        with anyio.fail_after(30):
            control = await engine.run(iter(rows))
        accepted = emulator.stats.accepted_writes["PutVoiceConnectorProxy"]

    assert control.reason == "stopped by the test"
    assert sorted(recorder.numbers()) == [row.number for row in rows]
    ok = [outcome for _, outcome, _ in recorder.lines if outcome.status is Status.OK]
    skipped = [outcome for _, outcome, _ in recorder.lines if outcome.status is Status.SKIPPED]
    assert len(ok) + len(skipped) == len(rows)
    assert len(ok) == accepted
    assert 20 <= len(ok) < len(rows)
    assert {(o.error_code, o.error_message, o.attempts) for o in skipped} == {
        ("NotAttempted", "stopped by the test", 0)
    }


class StubWaves:
    """Waves of 2, then 3 rows (repeating); the gate stops the run after ``stop_after`` waves.

    At each gate it notes how many outcomes the recorder holds and how many puts the emulator has
    accepted, to prove that a wave is complete before the next one starts.
    """

    def __init__(self, recorder: ListRecorder, emulator: Emulator, stop_after: int) -> None:
        self.recorder = recorder
        self.emulator = emulator
        self.stop_after = stop_after
        self.gates: list[tuple[int, int, int]] = []  # (wave, outcomes recorded, puts accepted)

    def sizes(self) -> Iterator[int]:
        yield 2
        while True:
            yield 3

    async def between(self, wave: int, stats: RunStats) -> str | None:
        await anyio.sleep(0.1)  # a pause: nothing of the next wave may start meanwhile
        accepted = self.emulator.stats.accepted_writes["PutVoiceConnectorProxy"]
        self.gates.append((wave, len(self.recorder.lines), accepted))
        return "the gate said stop" if wave + 1 == self.stop_after else None

    def after_outcome(self, stats: RunStats) -> str | None:
        return None


async def test_waves_finish_completely_before_the_gate_and_a_gate_stop_skips_the_rest() -> None:
    """Each wave's rows all have outcomes before the gate is asked, nothing of the next wave is sent
    during the gate, and a gate saying stop leaves every later row ``skipped`` with its reason."""
    rows = [make_row(n) for n in range(1, 21)]
    recorder = ListRecorder()
    async with against(rows, latency=0.02) as (emulator, clients):
        waves = StubWaves(recorder, emulator, stop_after=3)
        control = await scheduler(clients, recorder, concurrency=4, waves=waves).run(iter(rows))
        accepted = emulator.stats.accepted_writes["PutVoiceConnectorProxy"]

    assert waves.gates == [(0, 2, 2), (1, 5, 5), (2, 8, 8)]
    assert control.reason == "the gate said stop"
    assert accepted == 8
    assert recorder.numbers()[8:] == list(range(9, 21))
    assert {o.status for _, o, _ in recorder.lines[:8]} == {Status.OK}
    assert {(o.status, o.error_message) for _, o, _ in recorder.lines[8:]} == {
        (Status.SKIPPED, "the gate said stop")
    }
