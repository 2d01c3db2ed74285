"""Key-ordered concurrency and the commit watermark of the Kafka backend."""

from __future__ import annotations

import asyncio

from flowbus_shared.bus.lanes import KeyedLanes, PartitionProgress


async def test_one_key_in_order_different_keys_at_once_never_more_than_the_bound() -> None:
    lanes: KeyedLanes[str] = KeyedLanes(max_in_flight=3)
    log: list[str] = []
    running = 0
    peak = 0
    release = {key: asyncio.Event() for key in "ab"}

    async def run(items: list[str]) -> None:
        nonlocal running, peak
        (item,) = items  # not batching: one at a time
        running += 1
        peak = max(peak, running)
        log.append(f"{item} start")
        await release[item[0]].wait()
        log.append(f"{item} end")
        running -= 1

    await lanes.submit("a", "a1", run)
    await lanes.submit("a", "a2", run)
    await lanes.submit("b", "b1", run)
    submitting = asyncio.create_task(lanes.submit("b", "b2", run))
    await asyncio.sleep(0)  # let queued work start
    await asyncio.sleep(0)
    assert not submitting.done()  # three already queued or running: the fourth waits for a slot
    assert sorted(log) == ["a1 start", "b1 start"]  # a2 waits for a1, b1 runs beside a1
    release["a"].set()
    release["b"].set()
    await submitting
    await lanes.drain()
    assert log.index("a1 end") < log.index("a2 start")
    assert log.index("b1 end") < log.index("b2 start")
    assert peak == 2


async def test_what_queues_behind_a_running_batch_goes_together_in_order() -> None:
    lanes: KeyedLanes[int] = KeyedLanes(max_in_flight=50)
    batches: list[list[int]] = []
    first_started, release = asyncio.Event(), asyncio.Event()

    async def run(items: list[int]) -> None:
        batches.append(items)
        first_started.set()
        await release.wait()

    async def other(items: list[int]) -> None:  # another subscription's items of the same key
        batches.append([-n for n in items])

    await lanes.submit("k", 0, run, batches=True)
    await first_started.wait()
    for n in range(1, 6):
        await lanes.submit("k", n, run, batches=True)
    await lanes.submit("k", 6, other, batches=True)
    await lanes.submit("k", 7, run, batches=True)
    release.set()
    await lanes.drain()
    # 1-5 waited together behind 0; another run's item is never merged, and stays in its place.
    assert batches == [[0], [1, 2, 3, 4, 5], [-6], [7]]


async def test_a_lane_that_does_not_batch_takes_one_at_a_time() -> None:
    lanes: KeyedLanes[int] = KeyedLanes(max_in_flight=50)
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def run(items: list[int]) -> None:
        batches.append(items)
        await release.wait()

    for n in range(4):
        await lanes.submit("k", n, run)
    release.set()
    await lanes.drain()
    assert batches == [[0], [1], [2], [3]]


def test_the_watermark_waits_for_every_earlier_offset() -> None:
    progress = PartitionProgress()
    for offset in (10, 11, 12):
        progress.begin("t", 0, offset)
    progress.begin("t", 1, 5)
    assert progress.finish("t", 0, 11) is None  # 10 is still open
    assert progress.finish("t", 1, 5) == 5  # partitions are independent
    assert progress.finish("t", 0, 10) == 11
    assert progress.finish("t", 0, 12) == 12
    progress.begin("t", 0, 13)
    progress.forget("t", 0)
    assert progress.finish("t", 0, 13) is None  # revoked: not ours to commit
