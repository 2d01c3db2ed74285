"""The result of every step attempt, recorded by idempotency key
(`execution_id:step_id:attempt`), so a redelivered request is answered from the
record instead of running its side effect again."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.schemas import StepResult
from flowbus_shared.store.engine import standalone_statements
from flowbus_shared.store.tables import Json

step_attempts = sa.Table(
    "step_attempts",
    sa.MetaData(),
    sa.Column("idempotency_key", sa.String(600), primary_key=True),
    sa.Column("worker", sa.String(200), nullable=False),
    sa.Column("result", Json, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)


_LOOKUP = sa.select(step_attempts.c.result).where(step_attempts.c.idempotency_key == sa.bindparam("key"))


class AttemptLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Each statement here stands alone: without BEGIN/COMMIT around it on PostgreSQL.
        self._standalone = standalone_statements(engine)
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        # Built once: SQLAlchemy compiles a statement object once, not on every step.
        self._record = (
            insert(step_attempts)
            .on_conflict_do_nothing(index_elements=[step_attempts.c.idempotency_key])
            .returning(step_attempts.c.idempotency_key)
        )

    async def recorded(self, idempotency_key: str) -> StepResult | None:
        async with self._standalone.connect() as conn:
            row = (await conn.execute(_LOOKUP, {"key": idempotency_key})).first()
        return StepResult.model_validate(row.result) if row else None

    async def record(self, idempotency_key: str, worker: str, result: StepResult) -> StepResult:
        """Keep `result` for the key; if another delivery recorded first, return that one.

        One statement (INSERT ... ON CONFLICT DO NOTHING RETURNING), committed on its own: on
        PostgreSQL one round trip instead of BEGIN, INSERT and COMMIT."""
        row = {
            "idempotency_key": idempotency_key,
            "worker": worker,
            "result": result.model_dump(mode="json"),
            "recorded_at": datetime.now(UTC),
        }
        async with self._standalone.begin() as conn:
            inserted = (await conn.execute(self._record, row)).first()
        if inserted is not None:
            return result
        earlier = await self.recorded(idempotency_key)
        if earlier is None:  # cannot happen: the row that conflicted is never deleted
            raise RuntimeError(f"attempt {idempotency_key} conflicted but is not recorded")
        return earlier
