"""Fixtures of the knowledge suites: executor deps on each backend, a tenant of each test's own
(the PostgreSQL database is shared by the session) and a runner for the knowledge handlers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge import handlers
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.step_worker import run_step
from tests.support.executor_deps import executor_deps, step_request

Run = Callable[[str, dict[str, Any]], Awaitable[StepResult]]


@pytest.fixture
def tenant() -> str:
    return f"kb-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def deps(database_url: str) -> AsyncIterator[ExecutorDeps]:
    async with executor_deps(database_url) as built:
        yield built


def request_for(tenant: str, step_type: str, config: dict[str, Any]) -> StepRequest:
    return step_request(step_type, config).model_copy(
        update={"tenant_id": tenant, "execution_id": f"exec-{uuid.uuid4().hex}"}
    )


async def run_on(deps: ExecutorDeps, tenant: str, step_type: str, config: dict[str, Any]) -> StepResult:
    return await run_step(handlers(deps), request_for(tenant, step_type, config), executed_by="executor")


@pytest.fixture
def run(deps: ExecutorDeps, tenant: str) -> Run:
    """Run one knowledge step as the test's tenant, through the step worker's run_step."""

    async def go(step_type: str, config: dict[str, Any]) -> StepResult:
        return await run_on(deps, tenant, step_type, config)

    return go


def output(result: StepResult) -> dict[str, Any]:
    """The output of a step that must have succeeded (its error shown when it did not)."""
    assert result.status == "succeeded", result.error
    return result.output


def failure(result: StepResult) -> tuple[str, str]:
    assert result.status == "failed", result.output
    assert result.error is not None
    if result.error.error_type == "invalid_config":
        assert not result.error.retryable  # bad config stays bad: no retries
    return result.error.error_type, result.error.message
