"""The LLM usage ledger on every database: reservations hold budget atomically, settling
books the real cost once, and concurrent callers never overspend a limit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from flowbus_llm_gateway.catalogue import Prices
from flowbus_llm_gateway.ledger import (
    BudgetExceeded,
    Ledger,
    LedgerError,
    llm_budgets,
    llm_reservations,
    llm_usage,
)
from flowbus_llm_gateway.model import Usage
from flowbus_llm_gateway.pricing import cost_usd
from flowbus_shared.store import SqlEventStore

PRICES = Prices(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75, reasoning=20.0)
USAGE = Usage(
    input_tokens=1200,
    cached_input_tokens=800,
    cache_write_tokens=400,
    output_tokens=500,
    reasoning_tokens=200,
)
FLAT = Prices(input=1.0, output=1.0)  # 50,000 input tokens cost exactly 0.05 USD
FIVE_CENTS = Usage(input_tokens=50_000)


@pytest.fixture
def ledger(store: SqlEventStore) -> Ledger:
    return Ledger(store.engine)


def rid() -> str:
    return f"req-{uuid.uuid4().hex}"


async def test_reserve_then_settle_books_the_real_cost(ledger: Ledger, tenant: str) -> None:
    await ledger.set_budget(tenant, "10")
    reservation = await ledger.reserve(tenant, Decimal("0.5"), request_id=rid())
    held = await ledger.budget(tenant)
    assert held is not None
    assert held.reserved_usd == Decimal("0.5")
    assert held.remaining_usd == Decimal("9.5")

    cost = await ledger.settle(
        reservation, USAGE, PRICES, provider="anthropic", model="claude", execution_id="ex-1", step_id="s-1"
    )
    expected = Decimal(str(cost_usd(USAGE, PRICES))).quantize(Decimal("0.00000001"))
    assert cost == expected
    after = await ledger.budget(tenant)
    assert after is not None
    assert (after.spent_usd, after.reserved_usd) == (expected, Decimal(0))
    assert after.remaining_usd == Decimal(10) - expected

    [row] = await ledger.usage(tenant)
    assert row["request_id"] == reservation.request_id
    assert (row["provider"], row["model"], row["execution_id"], row["step_id"]) == (
        "anthropic",
        "claude",
        "ex-1",
        "s-1",
    )
    assert {name: row[name] for name in Usage.model_fields} == USAGE.model_dump()
    assert row["cost_usd"] == expected
    assert isinstance(row["cost_usd"], Decimal)
    assert row["recorded_at"].tzinfo is not None


async def test_settling_twice_counts_once(ledger: Ledger, tenant: str) -> None:
    await ledger.set_budget(tenant, 10)
    reservation = await ledger.reserve(tenant, "0.1", request_id=rid())
    first = await ledger.settle(reservation, USAGE, PRICES, provider="openai", model="gpt")
    again = await ledger.settle(reservation.request_id, USAGE, PRICES, provider="openai", model="gpt")
    assert again == first
    view = await ledger.budget(tenant)
    assert view is not None
    assert (view.spent_usd, view.reserved_usd) == (first, Decimal(0))
    assert len(await ledger.usage(tenant)) == 1
    with pytest.raises(LedgerError, match="already settled"):
        await ledger.reserve(tenant, "0.1", request_id=reservation.request_id)
    with pytest.raises(LedgerError, match="no reservation"):
        await ledger.settle(rid(), USAGE, PRICES, provider="openai", model="gpt")


async def test_release_gives_the_reservation_back(ledger: Ledger, tenant: str) -> None:
    await ledger.set_budget(tenant, 1, agent_id="writer")
    await ledger.set_budget(tenant, 2)
    reservation = await ledger.reserve(tenant, "0.75", agent_id="writer", request_id=rid())
    agent_view = await ledger.budget(tenant, "writer")
    assert agent_view is not None
    assert agent_view.reserved_usd == Decimal("0.75")
    assert await ledger.release(reservation.request_id) is True
    assert await ledger.release(reservation.request_id) is False
    for agent in (None, "writer"):
        view = await ledger.budget(tenant, agent)
        assert view is not None
        assert (view.spent_usd, view.reserved_usd) == (Decimal(0), Decimal(0))
    assert await ledger.usage(tenant) == []


async def test_a_reservation_beyond_the_budget_is_refused(ledger: Ledger, tenant: str) -> None:
    await ledger.set_budget(tenant, "1.00")
    first = await ledger.reserve(tenant, "0.60", request_id=rid())
    await ledger.settle(first, FIVE_CENTS, FLAT, provider="openai", model="gpt")  # spent 0.05
    await ledger.reserve(tenant, "0.30", request_id=rid())  # reserved 0.30
    with pytest.raises(BudgetExceeded) as refused:
        await ledger.reserve(tenant, "0.70", request_id=rid())
    assert refused.value.tenant_id == tenant
    assert refused.value.agent_id is None
    assert refused.value.remaining_usd == Decimal("0.65")
    assert refused.value.estimate_usd == Decimal("0.70")
    view = await ledger.budget(tenant)
    assert view is not None
    assert view.reserved_usd == Decimal("0.30")  # the refused request holds nothing
    await ledger.reserve(tenant, "0.65", request_id=rid())  # exactly the remainder still fits


async def test_agent_budgets_are_enforced_apart_from_the_tenant_budget(ledger: Ledger, tenant: str) -> None:
    await ledger.set_budget(tenant, 5)
    await ledger.set_budget(tenant, "0.5", agent_id="researcher")
    await ledger.reserve(tenant, "0.4", agent_id="researcher", request_id=rid())
    with pytest.raises(BudgetExceeded) as refused:
        await ledger.reserve(tenant, "0.2", agent_id="researcher", request_id=rid())
    assert (refused.value.agent_id, refused.value.remaining_usd) == ("researcher", Decimal("0.1"))
    tenant_view = await ledger.budget(tenant)
    assert tenant_view is not None
    assert tenant_view.reserved_usd == Decimal("0.4")  # the tenant part of the refused request rolled back

    await ledger.reserve(tenant, "3", agent_id="writer", request_id=rid())  # no budget of its own
    with pytest.raises(BudgetExceeded) as by_tenant:
        await ledger.reserve(tenant, "2", agent_id="writer", request_id=rid())
    assert (by_tenant.value.agent_id, by_tenant.value.remaining_usd) == (None, Decimal("1.6"))


async def test_a_tenant_without_budget_is_unlimited(ledger: Ledger, tenant: str) -> None:
    assert await ledger.budget(tenant) is None
    reservation = await ledger.reserve(tenant, "1000000", request_id=rid())
    assert reservation == await ledger.reserve(tenant, "1000000", request_id=reservation.request_id)
    cost = await ledger.settle(reservation, USAGE, PRICES, provider="openai", model="gpt")
    assert cost > 0
    assert len(await ledger.usage(tenant)) == 1


async def test_concurrent_requests_never_overspend(ledger: Ledger, tenant: str) -> None:
    cost = Decimal("0.05")
    assert Decimal(str(cost_usd(FIVE_CENTS, FLAT))) == cost
    await ledger.set_budget(tenant, cost * 20, agent_id="a")
    await ledger.set_budget(tenant, cost * 20)

    async def call(n: int) -> bool:
        try:
            reservation = await ledger.reserve(
                tenant, cost, agent_id="a" if n % 2 else None, request_id=rid()
            )
        except BudgetExceeded:
            return False
        await ledger.settle(reservation, FIVE_CENTS, FLAT, provider="openai", model="gpt")
        return True

    outcomes = await asyncio.gather(*(call(n) for n in range(50)))
    assert outcomes.count(True) == 20
    view = await ledger.budget(tenant)
    assert view is not None
    assert view.spent_usd == cost * 20 == view.limit_usd
    assert view.reserved_usd == 0
    assert sum(row["cost_usd"] for row in await ledger.usage(tenant)) == cost * 20
    with pytest.raises(BudgetExceeded):
        await ledger.reserve(tenant, "0.00000001", request_id=rid())


async def test_month_budgets_roll_over(ledger: Ledger, store: SqlEventStore, tenant: str) -> None:
    await ledger.set_budget(tenant, "2")
    await ledger.set_budget(tenant, "1", agent_id="total", period="total")
    for agent in (None, "total"):
        reservation = await ledger.reserve(tenant, "0.9", agent_id=agent, request_id=rid())
        await ledger.settle(reservation, Usage(input_tokens=900_000), FLAT, provider="x", model="y")
    last_month = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    async with store.engine.begin() as conn:
        await conn.execute(
            llm_budgets.update().where(llm_budgets.c.tenant_id == tenant).values(period_start=last_month)
        )
    with pytest.raises(BudgetExceeded):  # a 'total' budget does not roll over
        await ledger.reserve(tenant, "0.5", agent_id="total", request_id=rid())
    view = await ledger.budget(tenant)
    assert view is not None
    assert view.spent_usd == 0  # shown rolled over before any write
    assert view.period_start == datetime.now(UTC).date().replace(day=1)
    await ledger.reserve(tenant, "0.5", request_id=rid())
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(llm_budgets).where(llm_budgets.c.tenant_id == tenant, llm_budgets.c.agent_id == "")
            )
        ).one()
    assert row.period_start == datetime.now(UTC).date().replace(day=1)
    assert Decimal(row.spent_usd) == 0
    assert Decimal(row.reserved_usd) == Decimal("0.5")


async def test_totals_by_provider_and_model(ledger: Ledger, tenant: str) -> None:
    calls = [
        ("openai", "gpt-a", Usage(input_tokens=100_000, output_tokens=10_000, reasoning_tokens=4_000)),
        ("openai", "gpt-b", Usage(input_tokens=50_000, cached_input_tokens=20_000)),
        ("anthropic", "claude", Usage(input_tokens=10_000, cache_write_tokens=5_000, output_tokens=1_000)),
        ("openai", "gpt-a", Usage(input_tokens=1_000, output_tokens=1_000)),
    ]
    costs: list[Decimal] = []
    for provider, model, usage in calls:
        reservation = await ledger.reserve(tenant, "0.5", request_id=rid(), agent_id=f"agent-{model}")
        costs.append(await ledger.settle(reservation, usage, PRICES, provider=provider, model=model))

    by_provider = await ledger.totals(tenant, "provider")
    assert [row["provider"] for row in by_provider] == ["anthropic", "openai"]
    anthropic, openai = by_provider
    assert anthropic["requests"] == 1
    assert anthropic["cache_write_tokens"] == 5_000
    assert anthropic["cost_usd"] == costs[2]
    assert openai["requests"] == 3
    assert openai["input_tokens"] == 151_000
    assert openai["cached_input_tokens"] == 20_000
    assert openai["output_tokens"] == 11_000
    assert openai["reasoning_tokens"] == 4_000
    assert openai["cost_usd"] == costs[0] + costs[1] + costs[3]

    by_model = {row["model"]: row for row in await ledger.totals(tenant, "model")}
    assert set(by_model) == {"gpt-a", "gpt-b", "claude"}
    assert by_model["gpt-a"]["requests"] == 2
    assert by_model["gpt-a"]["cost_usd"] == costs[0] + costs[3]
    assert by_model["gpt-b"]["cost_usd"] == costs[1]
    by_agent = await ledger.totals(tenant, "agent_id")
    assert {row["agent_id"] for row in by_agent} == {"agent-gpt-a", "agent-gpt-b", "agent-claude"}
    with pytest.raises(ValueError, match="group_by"):
        await ledger.totals(tenant, "tenant_id")  # type: ignore[arg-type]


async def test_usage_filters(ledger: Ledger, store: SqlEventStore, tenant: str) -> None:
    for execution, agent in (("ex-1", "a"), ("ex-1", "b"), ("ex-2", "a")):
        reservation = await ledger.reserve(tenant, "0.01", agent_id=agent, request_id=rid())
        await ledger.settle(reservation, FIVE_CENTS, FLAT, provider="p", model="m", execution_id=execution)
    assert len(await ledger.usage(tenant, execution_id="ex-1")) == 2
    assert len(await ledger.usage(tenant, agent_id="a")) == 2
    assert len(await ledger.usage(tenant, since=datetime.now(UTC) - timedelta(minutes=5))) == 3
    assert await ledger.usage(tenant, since=datetime.now(UTC) + timedelta(minutes=5)) == []
    async with store.engine.connect() as conn:  # the reservations are all closed
        rows = await conn.execute(sa.select(llm_reservations).where(llm_reservations.c.tenant_id == tenant))
        assert rows.all() == []
        counted = await conn.execute(
            sa.select(sa.func.count()).select_from(llm_usage).where(llm_usage.c.tenant_id == tenant)
        )
        assert counted.scalar() == 3


async def test_abandoned_reservations_are_released_after_the_timeout(ledger: Ledger, tenant: str) -> None:
    await ledger.set_budget(tenant, "1", agent_id="bot")
    await ledger.set_budget(tenant, "1")
    request_id = rid()
    await ledger.reserve(tenant, Decimal("0.4"), agent_id="bot", request_id=request_id)
    await ledger.release_abandoned(timedelta(hours=1))  # too young: kept
    held = await ledger.budget(tenant)
    assert held is not None
    assert held.reserved_usd == Decimal("0.4")
    assert await ledger.release_abandoned(timedelta(0)) >= 1  # its process died: given back
    for agent in (None, "bot"):
        view = await ledger.budget(tenant, agent)
        assert view is not None
        assert (view.reserved_usd, view.spent_usd) == (Decimal(0), Decimal(0))
    with pytest.raises(LedgerError):
        await ledger.settle(request_id, USAGE, PRICES, provider="openai", model="m")


async def test_without_a_budget_nothing_is_held_and_settling_is_idempotent(
    ledger: Ledger, tenant: str
) -> None:
    reservation = await ledger.reserve(tenant, "5", request_id=rid())
    assert not reservation.held
    first = await ledger.settle(reservation, USAGE, PRICES, provider="openai", model="m", step_id="s")
    again = await ledger.settle(reservation, USAGE, PRICES, provider="openai", model="m", step_id="s")
    assert again == first
    rows = await ledger.usage(tenant)
    assert [(row["request_id"], row["step_id"], row["cost_usd"]) for row in rows] == [
        (reservation.request_id, "s", first)
    ]
    assert not await ledger.release(reservation)
    await ledger.set_budget(tenant, "1")  # from now on calls are reserved against it
    assert (await ledger.reserve(tenant, "0.5", request_id=rid())).held
