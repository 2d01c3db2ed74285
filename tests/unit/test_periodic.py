"""Periodic housekeeping keeps going after a failing round, and stopping it twice is harmless."""

from __future__ import annotations

import pytest

from flowbus_shared.periodic import Periodic
from tests.support.waiting import wait_until


async def test_a_failing_round_does_not_stop_the_next_ones(caplog: pytest.LogCaptureFixture) -> None:
    rounds: list[int] = []

    async def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("database away")

    periodic = Periodic(work, 0.01, name="test sweep")
    periodic.start()
    await wait_until(lambda: len(rounds) >= 3, within=5, message="three rounds")
    await periodic.stop()
    assert "test sweep failed" in caplog.text
    await periodic.stop()  # stopping twice is harmless
