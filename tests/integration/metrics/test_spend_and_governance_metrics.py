"""LLM spend from the real gateway over a loopback provider double, and governance verdicts and
approvals waiting from the real use cases over SQLite, as the metrics registry sees them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from flowbus_governance.adapters.agents import AgentRepository
from flowbus_governance.adapters.approvals import ApprovalStore
from flowbus_governance.adapters.audit import AuditLog
from flowbus_governance.domain.policy import default_policy
from flowbus_governance.governance import Governance
from flowbus_llm_gateway.catalogue import ModelInfo, Prices
from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.model import ChatMessage, ChatRequest, Usage
from flowbus_llm_gateway.pricing import cost_usd
from flowbus_shared.store import SqlEventStore, open_store
from flowbus_shared.vault import ConnectionVault
from tests.support.executor_deps import TEST_MASTER_KEYS
from tests.support.http_double import http_double

MODEL = ModelInfo(
    provider="openai",
    model="metrics-model-1",
    context_window=128_000,
    quality=90,
    prices=Prices(input=0.5, output=1.5),
    priced_on=date(2026, 11, 1),
)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlEventStore]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}")
    yield opened
    await opened.close()


async def test_an_answered_llm_call_counts_its_tokens_and_cost_for_the_tenant(
    store: SqlEventStore, topic_prefix: str
) -> None:
    tenant = f"spender-{topic_prefix}"
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": MODEL.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500},
    }
    keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
    with http_double(lambda _r: (200, answer)) as provider:
        await keys.put(tenant, "openai", "sk-metrics", base_url=f"{provider.url}/v1")
        async with httpx.AsyncClient() as client:
            reply = await Gateway(client, keys, [MODEL]).complete(
                tenant, ChatRequest(model="", messages=[ChatMessage(role="user", content="hello")])
            )
    labels = {"provider": "openai", "model": MODEL.model, "tenant": tenant}
    assert sample("flowbus_llm_tokens_total", **labels, **{"class": "input"}) == 1200
    assert sample("flowbus_llm_tokens_total", **labels, **{"class": "output"}) == 300
    expected = cost_usd(Usage(input_tokens=1200, output_tokens=300), MODEL.prices)
    assert expected > 0
    assert reply.cost_usd == pytest.approx(expected)
    assert sample("flowbus_llm_cost_usd_total", provider="openai", tenant=tenant) == pytest.approx(expected)


async def test_governance_counts_verdicts_and_the_sweep_counts_approvals_waiting(
    store: SqlEventStore,
) -> None:
    audit = AuditLog(store.engine)
    approvals = ApprovalStore(store.engine, audit)
    agents = AgentRepository(store.engine, audit)
    governance = Governance(agents, approvals, audit, default_policy(), approval_ttl_seconds=3600)
    await agents.register("acme", "helper", name="Helper", status="supervised", confidence=0.8)

    def verdicts(verdict: str, action: str, complexity: str) -> float:
        return sample(
            "flowbus_governance_verdicts_total", verdict=verdict, action=action, complexity=complexity
        )

    before = {
        "read": verdicts("allow", "read", "1"),
        "other": verdicts("deny", "other", "none"),
        "delete": verdicts("deny", "delete", "4"),
    }

    assert (await governance.check("acme", "helper", "read")).decision.verdict == "allow"
    assert (await governance.check("acme", "helper", "no such thing")).decision.verdict == "deny"
    assert (await governance.check("acme", "helper", "delete")).decision.verdict == "deny"
    first = await governance.check("acme", "helper", "read", require_approval=True)
    second = await governance.check("acme", "helper", "read", require_approval=True)
    assert first.approval is not None
    assert second.approval is not None

    assert verdicts("allow", "read", "1") == before["read"] + 1
    assert verdicts("deny", "other", "none") == before["other"] + 1  # never the free-text action
    assert verdicts("deny", "delete", "4") == before["delete"] + 1

    await approvals.expire_due()  # what the sweeper runs every few seconds
    assert REGISTRY.get_sample_value("flowbus_approvals_waiting") == 2

    await approvals.decide("acme", first.approval.approval_id, approve=True, by="alice")
    await approvals.expire_due(now=datetime.now(UTC) + timedelta(hours=2))  # the other one runs out
    assert REGISTRY.get_sample_value("flowbus_approvals_waiting") == 0
