"""Key-ordered concurrency and the commit watermark of the Kafka backend."""

from __future__ import annotations

import asyncio

from flowbus_shared.bus.lanes import KeyedLanes, PartitionProgress


async def test_one_key_in_order_different_keys_at_once_never_more_than_the_bound() -> None:
    lanes = KeyedLanes(max_in_flight=3)
    log: list[str] = []
    running = 0
    peak = 0
    release = {key: asyncio.Event() for key in "ab"}

    def work(key: str, n: int) -> object:
        async def run() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            log.append(f"{key}{n} start")
            await release[key].wait()
            log.append(f"{key}{n} end")
            running -= 1

        return run

    await lanes.submit("a", work("a", 1))  # type: ignore[arg-type]
    await lanes.submit("a", work("a", 2))  # type: ignore[arg-type]
    await lanes.submit("b", work("b", 1))  # type: ignore[arg-type]
    submitting = asyncio.create_task(lanes.submit("b", work("b", 2)))  # type: ignore[arg-type]
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
