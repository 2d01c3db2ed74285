"""Knowledge writes: a deadlock or serialization failure is a retryable conflict, other
database errors stay what they are."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge.tables import knowledge_facts
from flowbus_executor.executors.knowledge.writes import write
from flowbus_shared.step_worker import StepFailure


async def test_a_deadlock_is_a_retryable_conflict(deps: ExecutorDeps) -> None:
    if deps.engine.dialect.name == "sqlite":
        # SQLite's writers queue on BEGIN IMMEDIATE: they never deadlock. Its errors pass through.
        with pytest.raises(sa.exc.OperationalError):
            async with write(deps) as conn:
                await conn.exec_driver_sql("SELECT * FROM no_such_table")
        return
    with pytest.raises(StepFailure) as raised:
        async with write(deps) as conn:
            await conn.exec_driver_sql(
                "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$"
            )
    assert (raised.value.error_type, raised.value.retryable) == ("conflict", True)


async def test_other_database_errors_pass_through(deps: ExecutorDeps, tenant: str) -> None:
    with pytest.raises(IntegrityError):
        async with write(deps) as conn:
            await conn.execute(knowledge_facts.insert().values(tenant_id=tenant, fact_id="fact_incomplete"))
