"""Helpers of the projects suites: requests of a test's own tenant (the PostgreSQL database is
shared by the session), run through the step worker's run_step, and reads of the stored rows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.projects import handlers, tables
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.step_worker import run_step
from tests.support.executor_deps import step_request


def request(step_type: str, config: dict[str, Any], tenant: str, *, step_id: str = "step") -> StepRequest:
    return step_request(step_type, config, step_id=step_id).model_copy(update={"tenant_id": tenant})


async def run(deps: ExecutorDeps, step: StepRequest) -> StepResult:
    return await run_step(handlers(deps), step, executed_by="executor")


async def succeed(deps: ExecutorDeps, step: StepRequest) -> dict[str, Any]:
    result = await run(deps, step)
    assert result.status == "succeeded", result.error
    return result.output


async def fail(deps: ExecutorDeps, step: StepRequest) -> tuple[str, str, bool]:
    """(error type, message, retryable) of a step that must fail."""
    result = await run(deps, step)
    assert result.status == "failed", result.output
    assert result.error is not None
    return result.error.error_type, result.error.message, result.error.retryable


async def rows(deps: ExecutorDeps, table: str, tenant: str) -> list[dict[str, Any]]:
    """The tenant's rows of one of the project tables, as mappings."""
    mirrored = tables.metadata.tables[table]
    query = sa.select(mirrored).where(mirrored.c.tenant_id == tenant)
    async with deps.engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(query)]
