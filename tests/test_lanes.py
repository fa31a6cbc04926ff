"""A lane keeps input order across its in-memory part and its spill file; the reader's wait rule."""

from __future__ import annotations

import anyio

from batchproxy.lanes import Lane, Lanes
from batchproxy.rows import ProxySettings, Row, Target


def _row(number: int, region: str = "us-east-1") -> Row:
    return Row(
        number=number,
        values=(f"vc{number}", region, "60", "US;CA", "+12065550100", "true"),
        target=Target(voice_connector_id=f"vc{number}", region=region, profile="p"),
        settings=ProxySettings(
            default_session_expiry_minutes=60,
            phone_number_pool_countries=("US", "CA"),
            fall_back_phone_number="+12065550100",
            disabled=True,
        ),
    )


async def test_a_lane_over_its_memory_keeps_input_order_through_the_spill_file() -> None:
    """Rows past the memory limit go to disk and come back equal and in order, also when refilled."""
    lane = Lane(memory_rows=3)
    for number in range(1, 11):
        lane.put(_row(number))
    assert lane.full
    first = [lane.take() for _ in range(4)]
    for number in range(11, 14):  # arrive while earlier rows are still spilled: they must queue behind
        lane.put(_row(number))
    lane.close()
    rest = []
    while (row := await lane.get()) is not None:
        rest.append(row)
    assert [r.number for r in first + rest] == list(range(1, 14))
    assert rest[-1] == _row(13)  # a spilled row survives the round trip whole


async def test_drain_returns_what_is_left_and_empties_the_lane() -> None:
    """What a stopped run records as skipped: every queued row, memory and spill alike."""
    lane = Lane(memory_rows=2)
    for number in range(1, 6):
        lane.put(_row(number))
    lane.take()
    assert [r.number for r in lane.drain()] == [2, 3, 4, 5]
    assert lane.empty


async def test_reader_waits_on_a_full_lane_only_while_no_other_lane_starves() -> None:
    """A full slow lane blocks the reader when alone; an empty other lane lets it spill and go on."""
    lanes = Lanes(memory_rows=1)
    slow, _ = lanes.lane((None, "eu-west-2"))
    slow.put(_row(1, "eu-west-2"))
    with anyio.move_on_after(0.2) as waited:
        await lanes.wait_for_room(slow)
    assert waited.cancelled_caught  # full, and nobody else to feed: backpressure
    fast, created = lanes.lane((None, "us-east-1"))
    assert created
    assert fast.empty
    with anyio.fail_after(1):
        await lanes.wait_for_room(slow)  # the fast lane is empty: spill rather than starve it
