"""Fixtures of the finance suites: executor deps on each database backend, a tenant of each
test's own (the PostgreSQL database is shared by the session) and a step runner."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import handlers
from flowbus_shared.schemas import StepResult
from flowbus_shared.step_worker import run_step
from tests.support.executor_deps import executor_deps, step_request


class Run(Protocol):
    async def __call__(
        self, step_type: str, config: dict[str, Any], *, step_id: str = ..., attempt: int = ...
    ) -> StepResult: ...


@pytest.fixture
async def deps(database_url: str) -> AsyncIterator[ExecutorDeps]:
    async with executor_deps(database_url) as built:
        yield built


@pytest.fixture
def tenant() -> str:
    return f"fin-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def run(deps: ExecutorDeps, tenant: str) -> Run:
    steps = handlers(deps)

    async def run_one(
        step_type: str, config: dict[str, Any], *, step_id: str = "step", attempt: int = 1
    ) -> StepResult:
        request = step_request(step_type, config, step_id=step_id, attempt=attempt).model_copy(
            update={"tenant_id": tenant}
        )
        return await run_step(steps, request, executed_by="executor")

    return run_one
