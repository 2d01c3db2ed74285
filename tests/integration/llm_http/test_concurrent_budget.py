"""50 concurrent requests against a budget that covers a few: the ones that do not fit are
refused before any provider call, and the spend never passes the limit."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.integration.llm_http.conftest import Api
from tests.support.http_double import http_double
from tests.support.llm_double import openai_answer

# Each call costs 10 * 1 + 20 * 2 = 50 micro-dollars, and reserves about 70 (max_tokens 30).
CHAT = {"model": "openai/cheap-1", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 30}


async def test_fifty_concurrent_requests_never_overspend(api: Api) -> None:
    with http_double(openai_answer(["ok"])) as provider:
        async with api.client() as admin:
            await admin.put("/v1/llm/keys/openai", json={"api_key": "sk-a", "base_url": f"{provider.url}/v1"})
            await admin.put("/v1/llm/budgets", json={"limit_usd": "0.0007", "period": "total"})
            answers = await asyncio.gather(
                *(admin.post("/v1/chat/completions", json=CHAT) for _ in range(50))
            )
            budget = (await admin.get("/v1/llm/budgets")).json()["data"][0]
    statuses = sorted(a.status_code for a in answers)
    served = statuses.count(200)
    assert set(statuses) == {200, 402}
    # 700 micro-dollars hold 10 reservations of ~70 at once; settled one by one, 13 fit (50 each + 70 held)
    assert 10 <= served <= 13
    assert len(provider.requests) == served  # a refused request never reached the provider
    spent = Decimal(budget["spent_usd"])
    assert spent == Decimal("0.00005") * served
    assert spent <= Decimal(budget["limit_usd"])
    assert Decimal(budget["reserved_usd"]) == 0
