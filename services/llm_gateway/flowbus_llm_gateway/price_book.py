"""Each tenant's view of the catalogue: the operator's catalogue (file plus settings overrides)
with the tenant's own overrides on top, stored in the database (negotiated prices, or the
models of a self-hosted OpenAI-compatible server such as Ollama or vLLM).

Views are cached per tenant for `refresh_seconds`; a change made through this process is
seen at once, one made through another replica within that time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_llm_gateway.catalogue import ModelInfo
from flowbus_llm_gateway.pricing import apply_overrides, deep_merge

llm_prices = sa.Table(
    "llm_prices",
    sa.MetaData(),
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("provider", sa.String(100), primary_key=True),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("entry", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


class PriceBook:
    def __init__(
        self, engine: AsyncEngine, entries: Mapping[str, Mapping[str, Any]], *, refresh_seconds: float = 30.0
    ) -> None:
        self._engine = engine
        self._entries = entries
        self._refresh_seconds = refresh_seconds
        self._views: dict[str, tuple[float, list[ModelInfo]]] = {}
        self.defaults = apply_overrides(entries, None)

    async def models(self, tenant_id: str) -> list[ModelInfo]:
        cached = self._views.get(tenant_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        models = apply_overrides(self._entries, await self.overrides(tenant_id))
        self._views[tenant_id] = (time.monotonic() + self._refresh_seconds, models)
        return models

    async def overrides(self, tenant_id: str) -> dict[str, dict[str, Any]]:
        query = sa.select(llm_prices).where(llm_prices.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return {f"{r.provider}/{r.model}": dict(r.entry) for r in await conn.execute(query)}

    async def put(self, tenant_id: str, provider: str, model: str, entry: dict[str, Any]) -> ModelInfo:
        """Merge `entry` (a partial catalogue entry) over the model for this tenant; a model the
        catalogue lacks needs a whole entry. Raises CatalogueError when the result is invalid."""
        overrides = await self.overrides(tenant_id)
        key = f"{provider}/{model}"
        overrides[key] = deep_merge(overrides.get(key, {}), entry)
        merged = apply_overrides(self._entries, overrides)  # validates before anything is stored
        stored = {"tenant_id": tenant_id, "provider": provider, "model": model}
        async with self._engine.begin() as conn:
            await conn.execute(llm_prices.delete().where(*_row(tenant_id, provider, model)))
            await conn.execute(
                llm_prices.insert().values(**stored, entry=overrides[key], updated_at=datetime.now(UTC))
            )
        self._views.pop(tenant_id, None)
        return next(m for m in merged if m.key == key)

    async def remove(self, tenant_id: str, provider: str, model: str) -> bool:
        """Drop the tenant's override of a model (back to the operator's catalogue)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(llm_prices.delete().where(*_row(tenant_id, provider, model)))
        self._views.pop(tenant_id, None)
        return bool(result.rowcount)


def _row(tenant_id: str, provider: str, model: str) -> tuple[sa.ColumnElement[bool], ...]:
    c = llm_prices.c
    return (c.tenant_id == tenant_id, c.provider == provider, c.model == model)
