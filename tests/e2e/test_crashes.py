"""Each service SIGKILLed in turn while a batch of executions is in flight, then started again (and
all four stopped with SIGTERM mid-batch): every execution completes exactly once (one completion in
its log, no step succeeding twice, no attempt scheduled twice) and the key-honouring API creates
each resource once. Slack, SMTP and the LLM provider take no idempotency key, so a kill between
their call and the attempt's record can repeat it: those repeats are reported as warnings."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import E2E
from tests.support.e2e_checks import duplicated, idempotent_creations, llm_calls_per_marker, log_problems
from tests.support.e2e_system import SERVICES, TENANT
from tests.support.e2e_workflows import execution_of, register, send_trigger, state, trigger, wait_for
from tests.support.waiting import wait_until

BATCH = 10
# The step whose progress shows the victim is busy: it is stopped once some executions are past it.
BUSY_STEP = {"orchestrator": "check", "llm-gateway": "nlu", "governance": "check", "executor": "notify"}


def crash_workflow(workflow_id: str, agent: str, apis_url: str) -> dict[str, Any]:
    """A step on every queue: the llm-gateway, governance, then the executor (an idempotent API,
    Slack and SMTP)."""
    order = "{{input.order}}"
    return {
        "id": workflow_id,
        "name": "crash batch",
        "start_step_id": "nlu",
        "steps": [
            {
                "id": "nlu",
                "type": "nlu_analysis",
                "config": {"text_input": "{{input.text}}"},
                "next_steps": ["check"],
            },
            {
                "id": "check",
                "type": "governance_check",
                "config": {"agent_id": agent, "action": "read", "payload": {"order": order}},
                "next_steps": ["call"],
            },
            {
                "id": "call",
                "type": "api_call",
                "config": {"method": "POST", "url": f"{apis_url}/slow/{order}", "json": {"o": order}},
                "next_steps": ["notify"],
            },
            {
                "id": "notify",
                "type": "slack_notification",
                "config": {"channel": "#crash", "message": f"order {order} processed"},
                "next_steps": ["mail"],
            },
            {
                "id": "mail",
                "type": "email_send",
                "config": {"recipient": "{{input.email}}", "subject": f"Order {order}", "content": "done"},
            },
        ],
    }


async def run_batch(
    e2e: E2E, uid: str, busy: Callable[[list[str]], Awaitable[bool]], interrupt: Callable[[], Awaitable[None]]
) -> str:
    """Start a batch; once `busy(execution ids)`, `interrupt` (stop and start services again); then
    check every execution completed exactly once. What was repeated, as text."""
    system, doubles = e2e.system, e2e.doubles
    agent = f"crash-{uid}"
    headers = {"authorization": f"Bearer {system.tokens['user']}"}
    async with httpx.AsyncClient(base_url=system.url("governance"), headers=headers) as api:
        assert (await api.post("/v1/agents", json={"agent_id": agent})).status_code == 201
    workflow_id = f"crash-{uid}"
    await register(system, crash_workflow(workflow_id, agent, doubles.apis.url))
    orders = [f"{uid}-{n:02d}" for n in range(BATCH)]
    payloads = [
        {"text": f"order {o}. e2e_sleep=0.2", "order": o, "email": f"{o}@example.com"} for o in orders
    ]
    sent = [trigger("e2e_crash", payload, workflow_id=workflow_id) for payload in payloads]
    ids = [execution_of(t, workflow_id) for t in sent]

    async def publish() -> None:
        for one in sent:  # spread over a second or so, so the batch is in flight for a while
            await send_trigger(system, e2e.producer, one)
            await asyncio.sleep(0.1)

    async def finished() -> int:
        return [(await state(system, i)).terminal for i in ids].count(True)

    publishing = asyncio.create_task(publish())
    await wait_until(lambda: busy(ids), within=60, interval=0.05, message="the batch to be in flight")
    await interrupt()
    done_then = await finished()
    assert done_then < BATCH, "the batch finished before the interruption: nothing was in flight"
    await publishing
    for execution_id in ids:
        done = await wait_for(system, execution_id, within=120)
        assert done.status == "completed", (execution_id, done.error)

    assert await log_problems(system, ids) == []
    created = idempotent_creations(doubles, f"/slow/{uid}-", ids)
    twice = [i for i in ids if created[i] != 1]
    failures = {i: [d for kind, d in await system.events(i) if kind == "step.failed"] for i in twice}
    assert twice == [], f"resources created more than once (a new attempt, a new key): {failures}"
    slack = Counter(doubles.slack_texts(uid))
    mail = Counter(str(m["To"]) for m in doubles.inbox.messages() if uid in str(m["To"]))
    assert set(slack) == {f"order {o} processed" for o in orders}  # every one sent at least once
    assert set(mail) == {f"{o}@example.com" for o in orders}
    audit = await system.cli(
        "audit", "list", "--tenant", TENANT, "--agent", agent, "--kind", "decision", "-o", "json"
    )
    decisions = Counter(json.loads(row["record"]).get("execution_id") for row in json.loads(audit))
    repeats = {
        "governance audit (decisions)": {e: n for e, n in decisions.items() if n > 1},
        "slack": duplicated(slack, [f"order {o} processed" for o in orders]),
        "smtp": duplicated(mail, [f"{o}@example.com" for o in orders]),
        "llm": duplicated(llm_calls_per_marker(e2e.llm, orders), orders),
    }
    if not any(repeats.values()):
        return ""
    return f"({done_then} of {BATCH} done when interrupted) repeated {repeats}"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("victim", ["orchestrator", "executor", "governance", "llm-gateway"])
async def test_a_service_killed_mid_run_loses_and_repeats_nothing(
    running: E2E, uid: str, victim: str
) -> None:
    doubles = running.doubles

    async def kill_and_restart() -> None:
        process = running.system.one(victim)
        await process.kill()
        assert process.process is not None
        assert process.process.returncode == -9
        doubles.slack_state.latency = doubles.inbox.latency = 0.0
        await running.system.start(victim)

    async def busy(ids: list[str]) -> bool:
        """Some execution is past the step of the victim's that shows it is at work."""
        for execution_id in ids:
            run = (await state(running.system, execution_id)).steps.get(BUSY_STEP[victim])
            if run is not None and run.status == "succeeded":
                return True
        return False

    if victim == "executor":
        # Answers that come late: a kill then often falls between a message sent and its answer.
        doubles.slack_state.latency = doubles.inbox.latency = 0.3
    try:
        repeated = await run_batch(running, uid, busy, kill_and_restart)
    finally:
        doubles.slack_state.latency = doubles.inbox.latency = 0.0
    if repeated:
        warnings.warn(f"{victim} SIGKILLed mid-run {repeated}", stacklevel=1)


@pytest.mark.timeout(240)
async def test_every_service_stopped_mid_call_with_sigterm_repeats_nothing(running: E2E, uid: str) -> None:
    apis = running.doubles.apis_state

    async def calling(_ids: list[str]) -> bool:
        return apis.slow_in_flight > 0

    async def stop_and_start() -> None:
        await running.system.stop(*SERVICES)  # a graceful stop, as in a rolling deploy; each exits 0
        await running.system.start(*SERVICES)

    apis.slow_seconds = 1.0  # a call is in flight when SIGTERM comes
    try:
        repeated = await run_batch(running, uid, calling, stop_and_start)
    finally:
        apis.slow_seconds = 0.15
    if repeated:
        warnings.warn(f"all four SIGTERMed mid-run {repeated}", stacklevel=1)
