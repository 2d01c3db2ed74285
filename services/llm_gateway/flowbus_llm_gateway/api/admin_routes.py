"""Management routes of the llm-gateway, each scoped to the caller's tenant:

- keys:    GET /v1/llm/keys, PUT|DELETE /v1/llm/keys/{provider} (a key is never returned,
           only its fingerprint)
- prices:  GET /v1/llm/prices, PUT|DELETE /v1/llm/prices/{provider}/{model} (the tenant's overrides)
- budgets: GET /v1/llm/budgets, PUT /v1/llm/budgets (tenant) and /v1/llm/budgets/agents/{agent_id}
- usage:   GET /v1/llm/usage (totals per provider, model, agent or execution) and
           GET /v1/llm/usage/records (one row per call)

Reading needs the viewer role, changing needs admin.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.ledger import BudgetView, GroupBy, Ledger
from flowbus_llm_gateway.price_book import PriceBook
from flowbus_llm_gateway.pricing import CatalogueError
from flowbus_shared.auth import Principal
from flowbus_shared.http import ApiError, Authenticator

PROVIDER = r"^[a-z0-9][a-z0-9_.-]{0,99}$"


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(default="", max_length=4000, description="empty for servers without keys (Ollama)")
    base_url: str | None = Field(default=None, pattern=r"^https?://", max_length=2000)


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit_usd: Decimal = Field(ge=0, max_digits=18, decimal_places=8)
    period: Literal["month", "total"] = "month"


def _budget_out(view: BudgetView) -> dict[str, Any]:
    return {
        "agent_id": view.agent_id,
        "limit_usd": str(view.limit_usd),
        "spent_usd": str(view.spent_usd),
        "reserved_usd": str(view.reserved_usd),
        "remaining_usd": str(view.remaining_usd),
        "period": view.period,
        "period_start": view.period_start.isoformat(),
    }


def _money(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()} for row in rows]


def admin_router(keys: ProviderKeys, prices: PriceBook, ledger: Ledger, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1/llm", tags=["llm-gateway"])
    viewer, admin = Depends(auth.require("viewer")), Depends(auth.require("admin"))

    @router.get("/keys")
    async def list_keys(principal: Principal = viewer) -> dict[str, Any]:
        return {"data": await keys.list(principal.tenant_id)}

    @router.put("/keys/{provider}", status_code=201)
    async def put_key(
        key: KeyIn,
        provider: str = Path(
            pattern=PROVIDER, description="openai, anthropic, gemini, deepseek, or your own"
        ),
        principal: Principal = admin,
    ) -> dict[str, Any]:
        fingerprint = await keys.put(principal.tenant_id, provider, key.api_key, base_url=key.base_url)
        return {"provider": provider, "fingerprint": fingerprint}

    @router.delete("/keys/{provider}", status_code=204)
    async def delete_key(provider: str, principal: Principal = admin) -> Response:
        if not await keys.delete(principal.tenant_id, provider):
            raise ApiError(404, f"no key for provider {provider!r}")
        return Response(status_code=204)

    @router.get("/prices")
    async def list_prices(principal: Principal = viewer) -> dict[str, Any]:
        overridden = set(await prices.overrides(principal.tenant_id))
        return {
            "data": [
                {**m.model_dump(mode="json"), "overridden": m.key in overridden}
                for m in await prices.models(principal.tenant_id)
            ]
        }

    @router.put("/prices/{provider}/{model:path}")
    async def put_price(
        entry: dict[str, Any],
        model: str,
        provider: str = Path(
            pattern=PROVIDER, description="openai, anthropic, gemini, deepseek, or your own"
        ),
        principal: Principal = admin,
    ) -> dict[str, Any]:
        try:
            info = await prices.put(principal.tenant_id, provider, model, entry)
        except CatalogueError as error:
            raise ApiError(422, str(error), code="invalid_catalogue_entry") from None
        return info.model_dump(mode="json")

    @router.delete("/prices/{provider}/{model:path}", status_code=204)
    async def delete_price(provider: str, model: str, principal: Principal = admin) -> Response:
        if not await prices.remove(principal.tenant_id, provider, model):
            raise ApiError(404, f"the tenant has no override of {provider}/{model}")
        return Response(status_code=204)

    @router.get("/budgets")
    async def list_budgets(principal: Principal = viewer) -> dict[str, Any]:
        return {"data": [_budget_out(view) for view in await ledger.budgets(principal.tenant_id)]}

    @router.put("/budgets")
    async def put_budget(budget: BudgetIn, principal: Principal = admin) -> dict[str, Any]:
        return await _set(principal.tenant_id, None, budget)

    @router.put("/budgets/agents/{agent_id}")
    async def put_agent_budget(
        agent_id: str, budget: BudgetIn, principal: Principal = admin
    ) -> dict[str, Any]:
        return await _set(principal.tenant_id, agent_id, budget)

    async def _set(tenant_id: str, agent_id: str | None, budget: BudgetIn) -> dict[str, Any]:
        await ledger.set_budget(tenant_id, budget.limit_usd, agent_id=agent_id, period=budget.period)
        view = await ledger.budget(tenant_id, agent_id)
        assert view is not None
        return _budget_out(view)

    @router.get("/usage")
    async def usage_totals(
        group_by: GroupBy = "provider", since: datetime | None = None, principal: Principal = viewer
    ) -> dict[str, Any]:
        return {
            "group_by": group_by,
            "data": _money(await ledger.totals(principal.tenant_id, group_by, since=since)),
        }

    @router.get("/usage/records")
    async def usage_records(
        since: datetime | None = None,
        execution_id: str | None = None,
        agent_id: str | None = None,
        limit: int = Query(default=100, ge=1, le=1000),
        principal: Principal = viewer,
    ) -> dict[str, Any]:
        rows = await ledger.usage(
            principal.tenant_id, since=since, execution_id=execution_id, agent_id=agent_id, limit=limit
        )
        return {"data": _money(rows)}

    return router
