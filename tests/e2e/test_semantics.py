"""Execution semantics across the service processes: a retry that succeeds on the third attempt,
a delay that outlives a restart of every service, a fork and a resume sent as plain JSON commands."""

from __future__ import annotations

import asyncio
import uuid

from tests.e2e.conftest import E2E
from tests.support.e2e_system import SERVICES
from tests.support.e2e_workflows import (
    execution_of,
    output,
    register,
    send_command,
    send_trigger,
    slack_step,
    start,
    state,
    trigger,
    wait_for,
)
from tests.support.waiting import wait_until


async def test_a_step_failing_twice_with_503_succeeds_on_the_third_attempt(running: E2E, uid: str) -> None:
    url = f"{running.doubles.apis.url}/flaky/{uid}"
    definition = {
        "id": f"retry-{uid}",
        "name": "retry",
        "start_step_id": "call",
        "steps": [
            {
                "id": "call",
                "type": "api_call",
                "config": {"method": "POST", "url": url, "json": {"order": uid}},
                "retry_policy": {"max_retries": 3, "initial_delay_seconds": 0.2, "exponential_base": 2},
                "next_steps": ["done"],
            },
            slack_step("done", f"called {uid} {{{{call.body.calls}}}} times"),
        ],
    }
    execution = await wait_for(running.system, await start(running.system, running.producer, definition))
    assert execution.status == "completed", execution.error
    calls = running.doubles.api_requests(f"/flaky/{uid}")
    # Each attempt is a new idempotency key: the API may not take the third for the first.
    assert [r.headers.get("Idempotency-Key") for r in calls] == [
        f"{execution.execution_id}:call:{attempt}" for attempt in (1, 2, 3)
    ]
    assert all(r.body == {"order": uid} for r in calls)
    events = await running.system.events(execution.execution_id)
    failures = [data for kind, data in events if kind == "step.failed"]
    assert [(f["attempt"], f["error"]["error_type"], f["error"]["retryable"]) for f in failures] == [
        (1, "server_error", True),
        (2, "server_error", True),
    ]
    assert all(f["retry_at"] for f in failures)
    assert execution.steps["call"].attempt == 3
    assert output(execution, "call")["body"] == {"ok": True, "calls": 3}
    assert running.doubles.slack_texts(f"called {uid}") == [f"called {uid} 3 times"]


async def test_a_pending_delay_outlives_a_restart_of_every_service(running: E2E, uid: str) -> None:
    system = running.system
    definition = {
        "id": f"delay-{uid}",
        "name": "delay across restarts",
        "start_step_id": "before",
        "steps": [
            slack_step("before", f"before the delay {uid}", next_steps=["wait"]),
            {"id": "wait", "type": "delay", "config": {"delay_seconds": 5}, "next_steps": ["after"]},
            slack_step("after", f"after the delay {uid}"),
        ],
    }
    execution_id = await start(running.system, running.producer, definition)

    async def waiting() -> bool:
        return "wait" in (await state(system, execution_id)).active

    await wait_until(waiting, within=30, message="the delay to be pending")
    await system.stop(*SERVICES)  # SIGTERM to all four at once; each exits 0
    assert (await state(system, execution_id)).status == "running"
    assert running.doubles.slack_texts(f"after the delay {uid}") == []
    await system.start(*SERVICES)
    execution = await wait_for(system, execution_id, within=60)
    assert execution.status == "completed", execution.error
    assert running.doubles.slack_texts(f"after the delay {uid}") == [f"after the delay {uid}"]
    waited = [data for kind, data in await system.events(execution_id) if kind == "step.waiting"]
    assert len(waited) == 1  # the restart did not start the delay again
    assert output(execution, "wait")["waited_until"] >= waited[0]["until"]


async def test_a_failed_execution_resumes_once_the_cause_is_fixed(running: E2E, uid: str) -> None:
    doubles = running.doubles
    doubles.apis_state.broken.add(uid)
    definition = {
        "id": f"resume-{uid}",
        "name": "resume",
        "start_step_id": "first",
        "steps": [
            slack_step("first", f"first {uid}", next_steps=["call"]),
            {
                "id": "call",
                "type": "api_call",
                "config": {"method": "POST", "url": f"{doubles.apis.url}/switch/{uid}", "json": {}},
                "next_steps": ["last"],
            },
            slack_step("last", f"last {uid}"),
        ],
    }
    execution_id = await start(running.system, running.producer, definition)
    failed = await wait_for(running.system, execution_id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert (failed.error["step_id"], failed.error["error_type"]) == ("call", "bad_request")
    assert len(doubles.api_requests(f"/switch/{uid}")) == 1  # a 400 is permanent: no retry

    doubles.apis_state.broken.discard(uid)
    await send_command(
        running.system, running.producer, {"type": "command.resume", "execution_id": execution_id}
    )
    resumed = await wait_for(running.system, execution_id, "completed")
    assert resumed.steps["first"].attempt == 1  # done before the failure: not run again
    assert len(doubles.api_requests(f"/switch/{uid}")) == 2
    assert doubles.slack_texts(f"first {uid}") == [f"first {uid}"]
    assert doubles.slack_texts(f"last {uid}") == [f"last {uid}"]
    kinds = [kind for kind, _ in await running.system.events(execution_id)]
    assert kinds.count("execution.resumed") == 1
    assert kinds.count("execution.failed") == kinds.count("execution.completed") == 1


async def test_a_fork_reruns_from_a_step_with_new_variables(running: E2E, uid: str) -> None:
    definition = {
        "id": f"fork-{uid}",
        "name": "fork",
        "start_step_id": "lookup",
        "steps": [
            {
                "id": "lookup",
                "type": "data_transformation",
                "config": {"output": {"greeting": "hello"}},
                "next_steps": ["greet"],
            },
            slack_step("greet", f"{{{{lookup.greeting}}}} {{{{name}}}} {uid}"),
        ],
    }
    source_id = await start(running.system, running.producer, definition, {"name": "Ada"})
    source = await wait_for(running.system, source_id)
    assert source.status == "completed", source.error

    fork_id = uuid.uuid4().hex
    await send_command(
        running.system,
        running.producer,
        {
            "type": "command.fork",
            "execution_id": fork_id,
            "source_execution_id": source_id,
            "step_id": "greet",
            "variable_overrides": {"name": "Grace"},
            "requested_by": "e2e",
        },
    )
    fork = await wait_for(running.system, fork_id)
    assert fork.status == "completed", fork.error
    assert fork.parent is not None
    assert (fork.parent["execution_id"], fork.parent["step_id"]) == (source_id, "greet")
    assert fork.variables["name"] == "Grace"
    assert output(fork, "lookup") == {"greeting": "hello"}  # copied from the source, not run again
    scheduled = [d["step_id"] for kind, d in await running.system.events(fork_id) if kind == "step.scheduled"]
    assert scheduled == ["greet"]
    assert running.doubles.slack_texts(uid) == [f"hello Ada {uid}", f"hello Grace {uid}"]
    # The source is untouched.
    assert (await state(running.system, source_id)).to_dict() == source.to_dict()


async def test_a_duplicate_trigger_starts_nothing_new(running: E2E, uid: str) -> None:
    workflow_id = f"dedupe-{uid}"
    definition = {
        "id": workflow_id,
        "name": "dedupe",
        "start_step_id": "only",
        "steps": [slack_step("only", f"once {uid}")],
    }
    await register(running.system, definition)
    sent = trigger("e2e_started", {}, workflow_id=workflow_id)
    await asyncio.gather(*(send_trigger(running.system, running.producer, sent) for _ in range(3)))
    execution = await wait_for(running.system, execution_of(sent, workflow_id))
    assert execution.status == "completed"
    assert running.doubles.slack_texts(f"once {uid}") == [f"once {uid}"]
