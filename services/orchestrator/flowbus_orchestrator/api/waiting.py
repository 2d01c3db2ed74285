"""`?wait=SECONDS`: poll the executions projection until the execution settles or time is up."""

from __future__ import annotations

import asyncio
import time

from flowbus_orchestrator.adapters.projection import ExecutionProjection
from flowbus_orchestrator.domain.state import TERMINAL

SETTLED = TERMINAL | {"waiting_approval"}
FIRST_POLL_SECONDS = 0.02
LONGEST_POLL_SECONDS = 0.5


async def wait_settled(
    projection: ExecutionProjection, execution_id: str, tenant_id: str, seconds: float
) -> bool:
    """Whether the execution is terminal or waits on an approval within `seconds`."""
    deadline = time.monotonic() + seconds
    pause = FIRST_POLL_SECONDS
    while True:
        row = await projection.get(execution_id, tenant_id=tenant_id)
        if row is not None and row["status"] in SETTLED:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(pause, remaining))
        pause = min(pause * 1.5, LONGEST_POLL_SECONDS)
