"""Write transactions of the knowledge steps. Two steps upserting overlapping batches of one
tenant can deadlock on PostgreSQL; the loser's attempt fails as a retryable `conflict` (its
transaction rolled back whole), so the orchestrator runs it again rather than failing the step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from flowbus_executor.deps import ExecutorDeps
from flowbus_shared.step_worker import StepFailure

# deadlock_detected, serialization_failure
RETRYABLE_SQLSTATES = {"40P01", "40001"}


@asynccontextmanager
async def write(deps: ExecutorDeps) -> AsyncIterator[AsyncConnection]:
    try:
        async with deps.engine.begin() as conn:
            yield conn
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            raise StepFailure(
                "conflict", "a concurrent knowledge write got in the way", retryable=True
            ) from None
        raise
