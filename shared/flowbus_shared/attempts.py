"""The result of every step attempt, recorded by idempotency key
(`execution_id:step_id:attempt`), so a redelivered request is answered from the
record instead of running its side effect again."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.schemas import StepResult
from flowbus_shared.store.engine import reads_without_transaction
from flowbus_shared.store.tables import Json

step_attempts = sa.Table(
    "step_attempts",
    sa.MetaData(),
    sa.Column("idempotency_key", sa.String(600), primary_key=True),
    sa.Column("worker", sa.String(200), nullable=False),
    sa.Column("result", Json, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)


class AttemptLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reads = reads_without_transaction(engine)  # looked up before every step runs

    async def recorded(self, idempotency_key: str) -> StepResult | None:
        async with self._reads.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(step_attempts.c.result).where(
                        step_attempts.c.idempotency_key == idempotency_key
                    )
                )
            ).first()
        return StepResult.model_validate(row.result) if row else None

    async def record(self, idempotency_key: str, worker: str, result: StepResult) -> StepResult:
        """Keep `result` for the key; if another delivery recorded first, return that one."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    step_attempts.insert().values(
                        idempotency_key=idempotency_key,
                        worker=worker,
                        result=result.model_dump(mode="json"),
                        recorded_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            earlier = await self.recorded(idempotency_key)
            if earlier is not None:
                return earlier
            raise
        return result
