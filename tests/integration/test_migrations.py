"""Migrations run up from an empty database, down to nothing, and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from flowbus_shared.store import create_engine, upgrade
from flowbus_shared.store.migrate import downgrade

TABLES = {
    "events",
    "tenants",
    "users",
    "snapshots",
    "processed_messages",
    "timers",
    "outbox",
    "workflow_definitions",
    "workflow_triggers",
    "executions",
    "step_attempts",
    "connections",
    "tasks",
    "llm_usage",
    "llm_budgets",
    "llm_reservations",
    "api_keys",
    "llm_prices",
    "audit_records",
    "audit_heads",
    "governance_agents",
    "governance_approvals",
    "governance_outcome_causes",
    "knowledge_facts",
    "cached_records",
    "ledger_accounts",
    "ledger_entries",
    "ledger_lines",
    "finance_sequences",
    "customer_invoices",
    "draft_orders",
    "projects",
    "project_milestones",
    "project_status_snapshots",
    "contracts",
    "staffing_assignments",
    "agent_runs",
    "agent_schedules",
}


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("fresh_pg_url"))  # a database of its own, not the shared one


async def test_up_down_up(empty_database: str) -> None:
    assert not (await table_names(empty_database)) & TABLES
    engine = create_engine(empty_database)
    try:
        await upgrade(engine)
        assert await table_names(empty_database) >= TABLES
        await upgrade(engine)  # idempotent
        await downgrade(engine)
        assert not (await table_names(empty_database)) & TABLES
        await upgrade(engine)
        assert await table_names(empty_database) >= TABLES
    finally:
        await engine.dispose()
