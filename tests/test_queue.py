"""A domain's row queue keeps input order across memory and its spill file; the reader's wait rule."""

from __future__ import annotations

import anyio

from batchproxy.engine.domains import Domains
from batchproxy.engine.queue import RowQueue
from batchproxy.engine.stats import Domain, RunStats
from batchproxy.engine.transport import Send
from batchproxy.rows import Row, Target, proxy_settings


def _row(number: int, region: str = "us-east-1") -> Row:
    return Row(
        number=number,
        values=(f"vc{number}", region, "60", "US;CA", "+12065550100", "true"),
        target=Target(voice_connector_id=f"vc{number}", region=region, profile="p"),
        settings=proxy_settings(
            default_session_expiry_minutes=60,
            phone_number_pool_countries=("US", "CA"),
            fall_back_phone_number="+12065550100",
            disabled=True,
        ),
    )


def test_a_queue_over_its_memory_keeps_input_order_through_the_spill_file() -> None:
    """Rows past the memory limit go to disk and come back equal and in order, also when refilled."""
    queue = RowQueue(memory_rows=3)
    for number in range(1, 11):
        queue.put(_row(number))
    assert queue.full
    first = [queue.take() for _ in range(4)]
    for number in range(11, 14):  # arrive while earlier rows are still spilled: they must queue behind
        queue.put(_row(number))
    rest = []
    while not queue.empty:
        rest.append(queue.take())
    assert [r.number for r in first + rest] == list(range(1, 14))
    assert rest[-1] == _row(13)  # a spilled row survives the round trip whole


def test_drain_returns_what_is_left_and_empties_the_queue() -> None:
    """What a stopped run records as skipped: every queued row, memory and spill alike."""
    queue = RowQueue(memory_rows=2)
    for number in range(1, 6):
        queue.put(_row(number))
    queue.take()
    assert [r.number for r in queue.drain()] == [2, 3, 4, 5]
    assert queue.empty


async def _no_send(domain: Domain) -> Send:
    raise AssertionError("the reader's rule never opens a client")


async def test_reader_waits_on_a_full_queue_only_while_no_other_domain_starves() -> None:
    """A full slow queue blocks the reader when alone; an empty other queue lets it spill and go on."""
    domains = Domains(_no_send, rate=0, burst=1, stats=RunStats(), memory_rows=1)
    slow = domains.get(("p", "eu-west-2"))
    slow.queue.put(_row(1, "eu-west-2"))
    with anyio.move_on_after(0.2) as waited:
        await domains.wait_for_room(slow)
    assert waited.cancelled_caught  # full, and nobody else to feed: backpressure
    fast = domains.get(("p", "us-east-1"))
    assert fast.queue.empty
    with anyio.fail_after(1):
        await domains.wait_for_room(slow)  # the fast queue is empty: spill rather than starve it
