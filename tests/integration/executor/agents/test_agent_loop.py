"""agent_execution against the real governance API and a scripted model: allowed calls run and
feed back, denied ones are told, approvals pause and resume, budgets stop the run."""

from __future__ import annotations

import json
from typing import Any

from flowbus_executor.executors.agents.runs import load_run
from tests.integration.executor.agents.conftest import Model, Rig, agents_rig, final, tool_call
from tests.support.executor_deps import TENANT, step_request

PICK = {"data": {"a": 1, "b": 2}, "pick": ["a"], "rename": {"a": "alpha"}}


def header(headers: dict[str, str], name: str) -> str | None:
    return {key.lower(): value for key, value in headers.items()}.get(name)


def tool_messages(body: Any) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "tool"]


async def test_an_allowed_call_runs_and_its_output_goes_back_to_the_model(rig: Rig, model: Model) -> None:
    await rig.agent("clerk")  # student: data_transformation (complexity 1) is allowed
    model.answers = [tool_call("data_transformation", PICK), final("alpha is 1")]
    before = await rig.confidence("clerk")

    result = await rig.run(
        step_request(
            "agent_execution", {"agent_id": "clerk", "goal": "find alpha", "tools": ["data_transformation"]}
        )
    )

    assert result.status == "succeeded", result.error
    assert result.output == {
        "status": "completed",
        "answer": "alpha is 1",
        "steps_used": 2,
        "cost_usd": "0.002",
        "tool_calls": [{"name": "data_transformation", "verdict": "allow", "ok": True}],
    }
    first, second = model.chats()
    assert first.body["messages"][1] == {"role": "user", "content": "find alpha"}
    assert first.body["tools"][0]["function"]["name"] == "data_transformation"
    assert header(first.headers, "x-flowbus-tenant") == TENANT
    [told] = tool_messages(second.body)
    assert told["tool_call_id"] == "call_1"
    assert json.loads(told["content"])["output"] == {"alpha": 1}
    assert await rig.confidence("clerk") != before  # the successful run was fed back
    assert await load_run(rig.deps.engine, TENANT, "exec-1", "step") is None


async def test_a_denied_call_is_told_to_the_model_and_the_loop_goes_on(rig: Rig, model: Model) -> None:
    await rig.agent("clerk")  # student: api_call (complexity 3) is denied
    model.answers = [tool_call("api_call", {"url": "http://127.0.0.1:9/x"}), final("could not")]

    result = await rig.run(
        step_request("agent_execution", {"agent_id": "clerk", "prompt": "call it", "tools": ["api_call"]})
    )

    assert result.status == "succeeded", result.error
    assert result.output["answer"] == "could not"
    assert result.output["tool_calls"] == [{"name": "api_call", "verdict": "deny", "ok": False}]
    [told] = tool_messages(model.chats()[1].body)
    assert "requires maturity supervised" in json.loads(told["content"])["denied"]
    assert model.hooks() == []


async def test_an_approval_pauses_the_step_and_the_approved_call_runs_on_the_next_attempt(
    rig: Rig, model: Model
) -> None:
    await rig.agent("mailer", status="supervised")  # api_call (complexity 3) needs approval
    assert model.double is not None
    hook = f"{model.double.url}/hook"
    model.answers = [
        tool_call("api_call", {"url": hook, "method": "POST", "json": {"n": 1}}),
        final("posted"),
    ]
    config = {"agent_id": "mailer", "goal": "post n", "tools": ["api_call", "data_transformation"]}

    paused = await rig.run(step_request("agent_execution", config))
    assert paused.status == "succeeded", paused.error
    assert paused.output["verdict"] == "approval_required"
    assert paused.output["resume_after_approval"] is True
    assert paused.output["status"] == "waiting_approval"
    assert paused.output["expires_in_seconds"] > 0
    approval_id = paused.output["approval_id"]
    assert model.hooks() == []

    again = await rig.run(step_request("agent_execution", config))  # redelivered: still waiting
    assert again.output["approval_id"] == approval_id
    assert len(model.chats()) == 1

    async with rig.admin() as client:
        approved = await client.post(f"/v1/approvals/{approval_id}/approve", json={"comment": "fine"})
    assert approved.status_code == 200, approved.text

    done = await rig.run(step_request("agent_execution", config, attempt=2))
    assert done.status == "succeeded", done.error
    assert done.output["status"] == "completed"
    assert done.output["answer"] == "posted"
    assert done.output["tool_calls"] == [{"name": "api_call", "verdict": "approved", "ok": True}]
    [posted] = model.hooks()
    assert posted.body == {"n": 1}
    [told] = tool_messages(model.chats()[-1].body)
    assert json.loads(told["content"])["output"]["status"] == 200


async def test_a_rejected_call_is_told_to_the_model(rig: Rig, model: Model) -> None:
    await rig.agent("mailer", status="supervised")
    model.answers = [tool_call("api_call", {"url": "http://127.0.0.1:9/x"}), final("gave up")]
    config = {"agent_id": "mailer", "goal": "post", "tools": ["api_call"]}
    paused = await rig.run(step_request("agent_execution", config))
    async with rig.admin() as client:
        rejected = await client.post(
            f"/v1/approvals/{paused.output['approval_id']}/reject", json={"comment": "not now"}
        )
    assert rejected.status_code == 200, rejected.text

    done = await rig.run(step_request("agent_execution", config, attempt=2))

    assert done.output["answer"] == "gave up"
    assert done.output["tool_calls"] == [{"name": "api_call", "verdict": "rejected", "ok": False}]
    [told] = tool_messages(model.chats()[-1].body)
    assert "rejected" in json.loads(told["content"])["rejected"]
    assert model.hooks() == []


async def test_the_cost_cap_stops_the_run_and_counts_as_a_failure(rig: Rig, model: Model) -> None:
    await rig.agent("clerk")
    model.answers = [tool_call("data_transformation", PICK), final("too late")]
    before = await rig.confidence("clerk")
    config = {"agent_id": "clerk", "goal": "g", "tools": ["data_transformation"], "max_cost_usd": "0.0015"}

    result = await rig.run(step_request("agent_execution", config))

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.error_type == "cost_cap"
    assert not result.error.retryable
    assert await rig.confidence("clerk") < before
    assert await load_run(rig.deps.engine, TENANT, "exec-1", "step") is None


async def test_the_step_budget_stops_a_model_that_never_finishes(rig: Rig, model: Model) -> None:
    await rig.agent("clerk")
    model.answers = [tool_call("data_transformation", PICK)]  # forever
    config = {"agent_id": "clerk", "goal": "g", "tools": ["data_transformation"], "max_steps": 3}

    result = await rig.run(step_request("agent_execution", config))

    assert result.error is not None
    assert result.error.error_type == "step_budget_exhausted"
    assert len(model.chats()) == 3


async def test_a_business_agent_takes_its_id_from_its_type_and_its_goal_from_its_task(
    rig: Rig, model: Model
) -> None:
    await rig.agent("sales_assistant")
    model.answers = [final("done")]
    config = {"agent_type": "sales_assistant", "task": "sum up", "workspace_id": "ws-1"}

    result = await rig.run(step_request("business_agent_execution", config))

    assert result.output["status"] == "completed", result.error
    user = model.chats()[0].body["messages"][1]["content"]
    assert user.startswith("sum up")
    assert "ws-1" in user
    assert header(model.chats()[0].headers, "x-flowbus-agent-id") == "sales_assistant"


async def test_bad_config_and_missing_governance_are_permanent(rig: Rig, tmp_path: Any) -> None:
    bad = await rig.run(step_request("agent_execution", {"agent_id": "a", "goal": "g", "tools": ["nope"]}))
    assert bad.error is not None
    assert bad.error.error_type == "invalid_config"
    nested = await rig.run(
        step_request("agent_execution", {"agent_id": "a", "goal": "g", "tools": ["agent_execution"]})
    )
    assert nested.error is not None
    assert nested.error.error_type == "invalid_config"
    async with agents_rig(
        f"sqlite+aiosqlite:///{tmp_path / 'other.db'}", Model(), governance_url=None
    ) as bare:
        ungoverned = await bare.run(step_request("agent_execution", {"agent_id": "a", "goal": "g"}))
    assert ungoverned.error is not None
    assert ungoverned.error.error_type == "no_governance"


async def test_on_postgresql(pg_url: str) -> None:
    model = Model([tool_call("data_transformation", PICK), final("alpha is 1")])
    async with agents_rig(pg_url, model) as rig:
        await rig.agent("pg-clerk")
        result = await rig.run(
            step_request(
                "agent_execution",
                {"agent_id": "pg-clerk", "goal": "find alpha", "tools": ["data_transformation"]},
                step_id="pg-agent",
            )
        )
    assert result.output["status"] == "completed", result.error
    assert result.output["tool_calls"] == [{"name": "data_transformation", "verdict": "allow", "ok": True}]


async def test_each_tool_is_described_to_the_model_with_its_steps_documentation(
    rig: Rig, model: Model
) -> None:
    await rig.agent("helper")
    model.answers = [final("nothing to do")]
    config = {"agent_id": "helper", "goal": "tidy up", "tools": ["data_transformation", "api_call"]}
    assert (await rig.run(step_request("agent_execution", config))).status == "succeeded"
    tools = {t["function"]["name"]: t["function"]["description"] for t in model.chats()[0].body["tools"]}
    assert tools["data_transformation"].startswith("Run the data_transformation step")
    assert "JMESPath" in tools["data_transformation"]  # from the executor module's own documentation
    assert "url" in tools["api_call"]
