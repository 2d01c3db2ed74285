"""Governance: the pure decision in process (p50 / p99 per decision), a whole check with its
audit record on PostgreSQL, and governance_check steps through Kafka (decisions/s with 1,000
at once, and p50 / p99 one at a time)."""

from __future__ import annotations

import asyncio
import time
import uuid

from flowbus_governance.adapters.agents import AgentRepository
from flowbus_governance.adapters.approvals import ApprovalStore
from flowbus_governance.adapters.audit import AuditLog
from flowbus_governance.app import GovernanceService
from flowbus_governance.domain.decide import AgentView, decide
from flowbus_governance.domain.policy import default_policy
from flowbus_governance.governance import Governance
from flowbus_governance.settings import GovernanceSettings
from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.runtime import Context, Runtime
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import open_store
from flowbus_shared.topics import STEP_RESULTS, STEPS_GOVERNANCE
from tests.bench.stats import percentile

ACTIONS = ["search", "thread_delete", "send_email", "contacts_search", "launch_rockets", "draft", "payment"]
Figures = dict[str, float]


def decision_in_process(rounds: int = 20_000) -> Figures:
    policy = default_policy()
    agent = AgentView("bench", "supervised", 0.8)
    timings: list[float] = []
    for n in range(rounds):
        action = ACTIONS[n % len(ACTIONS)]
        started = time.perf_counter_ns()
        decide(policy, agent, action)
        timings.append((time.perf_counter_ns() - started) / 1e9)
    return {"p50": percentile(timings, 0.5), "p99": percentile(timings, 0.99)}


async def check_with_audit(database_url: str, rounds: int = 500) -> Figures:
    store = await open_store(database_url)
    try:
        audit = AuditLog(store.engine)
        governance = Governance(
            AgentRepository(store.engine, audit),
            ApprovalStore(store.engine, audit),
            audit,
            default_policy(),
            approval_ttl_seconds=3600,
        )
        tenant = f"bench-{uuid.uuid4().hex[:6]}"
        await governance.agents.register(tenant, "bench", name="bench", status="autonomous", confidence=0.95)
        timings: list[float] = []
        for n in range(rounds):
            started = time.perf_counter()
            await governance.check(tenant, "bench", ACTIONS[n % len(ACTIONS)])
            timings.append(time.perf_counter() - started)
        return {"p50": percentile(timings, 0.5), "p99": percentile(timings, 0.99)}
    finally:
        await store.close()


async def through_kafka(
    settings: FlowbusSettings, database_url: str, burst: int = 1000, one_by_one: int = 200
) -> Figures:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(
        update={"topic_prefix": prefix, "consumer_group_prefix": prefix, "database_url": database_url}
    )
    await ensure_topics(settings)
    done: dict[str, float] = {}
    waiting: dict[str, asyncio.Event] = {}
    all_done = asyncio.Event()
    wanted = 0

    async def collect(result: StepResult, _delivery: Delivery) -> None:
        done[result.execution_id] = time.perf_counter()
        if result.execution_id in waiting:
            waiting.pop(result.execution_id).set()
        if len(done) >= wanted:
            all_done.set()

    def service(context: Context) -> GovernanceService:
        return GovernanceService(context, GovernanceSettings(governance_http_enabled=False))

    observer = KafkaBus(settings, client_name="bench-results")
    observer.subscribe(STEP_RESULTS, group="bench-results", handler=collect)
    runtime = Runtime(settings, [service], name="bench-governance")
    context = await runtime.start()
    await observer.start()
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    governance = next(s for s in runtime.services if isinstance(s, GovernanceService)).governance
    await governance.agents.register(tenant, "bench", name="bench", status="autonomous", confidence=0.95)

    def request(n: int) -> StepRequest:
        return StepRequest(
            execution_id=uuid.uuid4().hex,
            workflow_id="bench",
            tenant_id=tenant,
            step_id="check",
            step_type="governance_check",
            config={"agent_id": "bench", "action": ["search", "send_email"][n % 2]},
        )

    try:
        wanted = one_by_one
        latencies: list[float] = []
        for n in range(one_by_one):
            step = request(n)
            answered = waiting[step.execution_id] = asyncio.Event()
            started = time.perf_counter()
            await context.bus.publish(STEPS_GOVERNANCE, step)
            await asyncio.wait_for(answered.wait(), timeout=60)
            latencies.append(time.perf_counter() - started)
        done.clear()
        all_done.clear()
        wanted = burst
        began = time.perf_counter()
        for n in range(burst):
            await context.bus.publish(STEPS_GOVERNANCE, request(n))
        await asyncio.wait_for(all_done.wait(), timeout=600)
        elapsed = time.perf_counter() - began
    finally:
        await observer.stop()
        await runtime.stop()
    return {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "per_s": burst / elapsed}


async def governance_figures(settings: FlowbusSettings, database_url: str) -> list[str]:
    pure = decision_in_process()
    whole = await check_with_audit(database_url)
    kafka = await through_kafka(settings, database_url)
    return [
        f"| governance decision in process (policy + maturity): p50 / p99 | "
        f"{pure['p50'] * 1e6:.1f} µs / {pure['p99'] * 1e6:.1f} µs |",
        f"| governance check with its audit record on PostgreSQL: p50 / p99 | "
        f"{whole['p50'] * 1000:.2f} ms / {whole['p99'] * 1000:.2f} ms |",
        f"| governance_check steps through Kafka: p50 / p99 one at a time; 1,000 at once | "
        f"{kafka['p50'] * 1000:.2f} ms / {kafka['p99'] * 1000:.2f} ms; {kafka['per_s']:,.0f} decisions/s |",
    ]
