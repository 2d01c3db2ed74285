"""Keys, prices, budgets and usage over HTTP: scoped to the caller's tenant, secrets never
returned, changes that take effect on the next call, and clear errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.integration.llm_http.conftest import Api
from tests.support.http_double import http_double
from tests.support.llm_double import openai_answer

CHAT = {"model": "openai/cheap-1", "messages": [{"role": "user", "content": "hi"}]}


async def test_keys_are_stored_listed_by_fingerprint_and_deleted(api: Api) -> None:
    async with api.client() as admin, api.client(role="viewer") as viewer, api.client("globex") as other:
        put = await admin.put("/v1/llm/keys/openai", json={"api_key": "sk-live-SECRET-123"})
        assert put.status_code == 201
        fingerprint = put.json()["fingerprint"]
        listed = await viewer.get("/v1/llm/keys")
        assert listed.json()["data"] == [{"provider": "openai", "fingerprint": fingerprint}]
        assert "SECRET" not in put.text + listed.text
        assert (await other.get("/v1/llm/keys")).json()["data"] == []  # another tenant sees nothing
        refused = await viewer.put("/v1/llm/keys/openai", json={"api_key": "sk-x"})
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert "admin" in refused.json()["detail"]
        bad = await admin.put("/v1/llm/keys/Open AI!", json={"api_key": "sk-x"})
        assert bad.status_code == 422
        assert (await admin.delete("/v1/llm/keys/openai")).status_code == 204
        assert (await admin.delete("/v1/llm/keys/openai")).status_code == 404


async def test_requests_without_a_valid_key_are_refused(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        for headers in (
            {},
            {"authorization": "Bearer fbk_0123456789ab_wrong"},
            {"authorization": "Basic eDp5"},
        ):
            response = await anonymous.get("/v1/llm/keys", headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["detail"]
    principal = await api.api_keys.authenticate(api.token())
    assert principal is not None
    assert await api.api_keys.revoke("acme", principal.key_id)
    async with api.client() as revoked:
        assert (await revoked.get("/v1/llm/keys")).status_code == 401


async def test_a_price_override_changes_the_next_bill(api: Api) -> None:
    with http_double(openai_answer(["ok"])) as provider:
        async with api.client() as admin:
            await admin.put("/v1/llm/keys/openai", json={"api_key": "sk-a", "base_url": f"{provider.url}/v1"})
            before = (await admin.post("/v1/chat/completions", json=CHAT)).json()["flowbus"]["cost_usd"]
            put = await admin.put("/v1/llm/prices/openai/cheap-1", json={"prices": {"output": 20.0}})
            assert put.status_code == 200, put.text
            assert put.json()["prices"] == {
                "input": 1.0,
                "output": 20.0,
                "cached_input": None,
                "cache_write": None,
                "reasoning": None,
            }
            after = (await admin.post("/v1/chat/completions", json=CHAT)).json()["flowbus"]["cost_usd"]
            listed = {m["model"]: m for m in (await admin.get("/v1/llm/prices")).json()["data"]}
            wrong = await admin.put("/v1/llm/prices/openai/cheap-1", json={"prices": {"input": -1}})
            assert (await admin.delete("/v1/llm/prices/openai/cheap-1")).status_code == 204
    assert before == (10 * 1 + 20 * 2) / 1e6
    assert after == (10 * 1 + 20 * 20) / 1e6
    assert listed["cheap-1"]["overridden"] is True
    assert listed["backup-1"]["overridden"] is False
    assert wrong.status_code == 422
    assert "input" in wrong.json()["detail"]


async def test_a_self_hosted_server_is_reached_by_base_url_without_a_key(api: Api) -> None:
    with http_double(openai_answer(["local answer"])) as ollama:
        async with api.client() as admin:
            await admin.put("/v1/llm/keys/ollama", json={"base_url": f"{ollama.url}/v1"})
            response = await admin.post(
                "/v1/chat/completions",
                json={
                    "model": "ollama/llama3.2",
                    "messages": [{"role": "user", "content": "hi"}],
                    "max_tokens": 50,
                },
            )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "local answer"
    assert (body["model"], body["flowbus"]["cost_usd"]) == ("ollama/llama3.2", 0)
    sent = ollama.requests[0]
    assert sent.body["model"] == "llama3.2"
    assert sent.body["max_tokens"] == 50  # compatible servers get max_tokens
    assert "authorization" not in {k.lower() for k in sent.headers}


async def test_budgets_stop_spending_and_usage_is_reported(api: Api) -> None:
    with http_double(openai_answer(["ok"])) as provider:
        async with api.client() as admin, api.client(role="operator") as operator:
            await admin.put("/v1/llm/keys/openai", json={"api_key": "sk-a", "base_url": f"{provider.url}/v1"})
            budget = await admin.put("/v1/llm/budgets", json={"limit_usd": "0.00025", "period": "total"})
            assert budget.status_code == 200, budget.text
            small = {**CHAT, "max_tokens": 30}  # worst case 10*1 + 30*2 = 70 micro-dollars
            answers = [
                await operator.post(
                    "/v1/chat/completions", json=small, headers={"x-flowbus-agent-id": "helper"}
                )
                for _ in range(5)
            ]
            budgets = (await admin.get("/v1/llm/budgets")).json()["data"]
            totals = (await admin.get("/v1/llm/usage", params={"group_by": "agent_id"})).json()["data"]
            records = (await admin.get("/v1/llm/usage/records", params={"agent_id": "helper"})).json()["data"]
            bad_group = await admin.get("/v1/llm/usage", params={"group_by": "colour"})
    statuses = [a.status_code for a in answers]
    assert statuses[:4] == [
        200,
        200,
        200,
        200,
    ]  # 4 x 50 micro-dollars spent: 50 left, short of the next ~70 estimate
    assert statuses[4] == 402
    assert answers[4].json()["error"]["code"] == "budget_exceeded"
    assert len(provider.requests) == 4
    assert Decimal(budgets[0]["spent_usd"]) == Decimal("0.0002")
    assert Decimal(budgets[0]["reserved_usd"]) == 0
    assert totals == [_total("helper", 4, Decimal("0.0002"))]
    assert len(records) == 4
    assert {r["model"] for r in records} == {"cheap-1"}
    assert bad_group.status_code == 422


def _total(agent: str, requests: int, cost: Decimal) -> dict[str, Any]:
    return {
        "agent_id": agent,
        "requests": requests,
        "input_tokens": 10 * requests,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 20 * requests,
        "reasoning_tokens": 0,
        "cost_usd": f"{cost:.8f}",
    }
