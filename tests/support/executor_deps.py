"""Executor dependencies for tests: a real database (SQLite by default) with a vault
sealed by a test master key, and settings whose base URLs point at loopback doubles."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.schemas import StepRequest
from flowbus_shared.store import open_store
from flowbus_shared.vault import ConnectionVault

TEST_MASTER_KEYS = "test-1:" + base64.b64encode(bytes(range(32))).decode()
TENANT = "acme"


@asynccontextmanager
async def executor_deps(database: Path | str, **settings: Any) -> AsyncIterator[ExecutorDeps]:
    """`database`: a SQLite file path or an SQLAlchemy URL. `settings`: ExecutorSettings fields."""
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    store = await open_store(url)
    config = ExecutorSettings(**settings)
    async with httpx.AsyncClient(timeout=config.http_timeout_seconds) as client:
        yield ExecutorDeps(
            settings=config,
            http=client,
            vault=ConnectionVault(store.engine, TEST_MASTER_KEYS),
            engine=store.engine,
        )
    await store.close()


def step_request(
    step_type: str,
    config: dict[str, Any],
    *,
    step_id: str = "step",
    attempt: int = 1,
    timeout_seconds: float = 10.0,
) -> StepRequest:
    return StepRequest(
        execution_id="exec-1",
        workflow_id="wf",
        tenant_id=TENANT,
        step_id=step_id,
        step_type=step_type,
        attempt=attempt,
        config=config,
        timeout_seconds=timeout_seconds,
    )
