"""Traces of the whole system as an operator sees them in Jaeger: the CLI and the four services
export over OTLP (gRPC and HTTP) through the collector configured by
deploy/observability/otel-collector.yaml to Jaeger v2; each execution is one trace, one connected
tree under its `execution` root, holding every service's part; the request that started it is a
trace of its own, linked from the root."""

from __future__ import annotations

import json
from typing import Any

from flowbus_shared.execution_trace import trace_id_of
from tests.e2e.conftest import E2E
from tests.support.e2e_workflows import api, register, slack_step, wait_for
from tests.support.jaeger import span_tree_problems
from tests.support.waiting import wait_until

SERVICES = {"flowbus-orchestrator", "flowbus-executor", "flowbus-llm-gateway", "flowbus-governance"}


def _definition(uid: str) -> dict[str, Any]:
    agent = f"traced-{uid}"
    return {
        "id": f"traced-{uid}",
        "name": f"traced {uid}",
        "start_step_id": "register",
        "steps": [
            {
                "id": "register",
                "type": "agent_register",
                "config": {"agent_id": agent, "name": "Traced agent", "category": "support"},
                "next_steps": ["check"],
            },
            {
                "id": "check",
                "type": "governance_check",
                "config": {"agent_id": agent, "action": "read", "payload": {"doc": uid}},
                "next_steps": ["write"],
            },
            {
                "id": "write",
                "type": "nlu_analysis",
                "config": {"text_input": f"Say hello to {uid}", "extract": ["intent"]},
                "next_steps": ["tell"],
            },
            slack_step("tell", f"traced {uid}"),
        ],
    }


def _service(trace: dict[str, Any], span: dict[str, Any]) -> str:
    return str(trace["processes"][span["processID"]]["serviceName"])


def _children(trace: dict[str, Any], parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        span
        for span in trace["spans"]
        if any(
            ref["refType"] == "CHILD_OF" and ref["spanID"] == parent["spanID"]
            for ref in span.get("references", [])
        )
    ]


def _descendants(trace: dict[str, Any], parent: dict[str, Any]) -> list[dict[str, Any]]:
    found, todo = [], [parent]
    while todo:
        below = _children(trace, todo.pop())
        found += below
        todo += below
    return found


async def _complete_trace(running: E2E, trace_id: str, step_count: int) -> dict[str, Any]:
    """The trace once every service's spans arrived and every step's span is in it."""
    latest: dict[str, Any] = {}

    async def arrived() -> bool:
        trace = await running.jaeger.trace(trace_id)
        if trace is None:
            return False
        latest.update(trace)
        services = {_service(trace, span) for span in trace["spans"]}
        steps = [s for s in trace["spans"] if s["operationName"].startswith("step ")]
        return services >= SERVICES and len(steps) >= step_count and not list(span_tree_problems(trace))

    try:
        await wait_until(arrived, within=60, interval=0.25)
    except AssertionError:
        problems = list(span_tree_problems(latest)) if latest else ["no trace"]
        raise AssertionError(f"trace {trace_id} incomplete: {problems}") from None
    return latest


async def test_each_execution_is_one_connected_trace_across_the_services(running: E2E, uid: str) -> None:
    definition = _definition(uid)
    await register(running.system, definition)
    started = []
    for n in range(2):
        out = await running.system.cli(
            "run",
            definition["id"],
            "--input",
            json.dumps({"n": n}),
            "--api-url",
            running.system.url("orchestrator"),
            "--api-key",
            running.system.tokens["user"],
            "-o",
            "json",
        )
        started.append(json.loads(out)["execution_id"])
    for execution_id in started:
        assert (await wait_for(running.system, execution_id)).status == "completed"

    traces = {}
    for execution_id in started:
        trace_id = f"{trace_id_of(execution_id):032x}"
        async with api(running.system) as client:  # operators find the trace from the execution
            assert (await client.get(f"/v1/executions/{execution_id}")).json()["trace_id"] == trace_id
        trace = await _complete_trace(running, trace_id, step_count=4)
        traces[execution_id] = trace
        (root,) = [s for s in trace["spans"] if _is_root(s)]
        assert root["operationName"] == f"execution traced {uid}"
        assert _service(trace, root) == "flowbus-orchestrator"
        tags = {tag["key"]: tag["value"] for tag in root["tags"]}
        assert tags["flowbus.execution.id"] == execution_id
        assert tags["flowbus.workflow.id"] == definition["id"]

        steps = {
            s["operationName"]: s for s in _children(trace, root) if s["operationName"].startswith("step ")
        }
        assert set(steps) == {
            "step agent_register",
            "step governance_check",
            "step nlu_analysis",
            "step slack_notification",
        }
        # Under each step: the Kafka hops, and the work of the service that ran it.
        for step in steps.values():
            below = {s["operationName"].split(" ")[0] for s in _descendants(trace, step)}
            assert {"send", "process"} <= below, below
        llm = _descendants(trace, steps["step nlu_analysis"])
        assert any(s["operationName"].startswith("chat ") for s in llm)
        governance = _descendants(trace, steps["step governance_check"])
        assert "governance.check" in {s["operationName"] for s in governance}
        slack = _descendants(trace, steps["step slack_notification"])
        assert any(_service(trace, s) == "flowbus-executor" and s["operationName"] == "POST" for s in slack)

        # The CLI's request is a trace of its own (it may start several executions), linked from the root.
        (link,) = [ref for ref in root["references"] if ref["refType"] == "FOLLOWS_FROM"]
        request = await running.jaeger.trace(link["traceID"])
        assert request is not None
        assert {_service(request, s) for s in request["spans"]} >= {"flowbus-cli", "flowbus-orchestrator"}
        assert "POST /v1/executions" in {s["operationName"] for s in request["spans"]}
    first, second = ({s["spanID"] for s in traces[e]["spans"]} for e in started)
    assert not first & second  # one trace each


def _is_root(span: dict[str, Any]) -> bool:
    return not any(ref["refType"] == "CHILD_OF" for ref in span.get("references", []))
