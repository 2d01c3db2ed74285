"""Background agents: a schedule in the database runs its agent once per interval, survives a
restart of the scheduler, and stops when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flowbus_executor.executors.agents.runs import get_schedule
from flowbus_executor.executors.agents.scheduler import BackgroundAgents
from tests.integration.executor.agents.conftest import Model, Rig, final, tool_call
from tests.support.executor_deps import TENANT, step_request


async def test_a_background_agent_runs_each_interval_until_stopped(rig: Rig, model: Model) -> None:
    await rig.agent("watcher")
    model.answers = [final("all quiet")]
    config = {
        "agent_id": "watcher",
        "goal": "watch the queue",
        "tools": ["data_transformation"],
        "interval_seconds": 60,
        "run_now": True,
    }
    started = await rig.run(step_request("background_agent_start", config))
    assert started.status == "succeeded", started.error
    assert started.output["active"] is True
    schedule_id = started.output["schedule_id"]
    now = datetime.now(UTC)

    assert await BackgroundAgents(rig.deps).run_due(now) == 1
    [chat] = model.chats()
    assert chat.body["messages"][1]["content"] == "watch the queue"
    assert await BackgroundAgents(rig.deps).run_due(now) == 0  # the round was taken

    restarted = BackgroundAgents(rig.deps)  # a new process: the schedule is in the database
    assert await restarted.run_due(now + timedelta(seconds=61)) == 1
    assert len(model.chats()) == 2
    schedule = await get_schedule(rig.deps.engine, TENANT, "watcher")
    assert schedule is not None
    assert schedule.schedule_id == schedule_id
    assert (schedule.runs, schedule.last_status) == (2, "completed")
    assert schedule.last_run_at is not None

    stopped = await rig.run(step_request("background_agent_stop", {"agent_id": "watcher"}))
    assert stopped.output == {"stopped": True}
    assert await restarted.run_due(now + timedelta(seconds=600)) == 0
    assert len(model.chats()) == 2
    again = await rig.run(step_request("background_agent_stop", {"agent_id": "watcher"}))
    assert again.output == {"stopped": False}


async def test_a_failing_round_is_recorded_and_the_schedule_goes_on(rig: Rig, model: Model) -> None:
    model.answers = [final("x")]  # the agent is unknown to governance: its feedback is ignored
    config = {"agent_id": "ghost", "goal": "g", "tools": [], "max_cost_usd": "0", "interval_seconds": 5}
    started = await rig.run(step_request("background_agent_start", config))
    assert started.status == "succeeded", started.error
    later = datetime.now(UTC) + timedelta(seconds=6)

    assert await BackgroundAgents(rig.deps).run_due(later) == 1

    schedule = await get_schedule(rig.deps.engine, TENANT, "ghost")
    assert schedule is not None
    assert schedule.last_status == "failed: cost_cap"
    assert schedule.active
    assert schedule.next_run_at > later


async def test_starting_refuses_a_bad_interval(rig: Rig) -> None:
    config = {"agent_id": "a", "goal": "g", "interval_seconds": 0.5}
    result = await rig.run(step_request("background_agent_start", config))
    assert result.error is not None
    assert result.error.error_type == "invalid_config"


async def test_a_round_waiting_for_approval_is_resumed_by_the_next_rounds(rig: Rig, model: Model) -> None:
    await rig.agent("poster", status="supervised")  # api_call (complexity 3) needs a person
    assert model.double is not None
    hook = f"{model.double.url}/hook"
    model.answers = [
        tool_call("api_call", {"url": hook, "method": "POST", "json": {"n": 7}}),
        final("posted"),
    ]
    config = {
        "agent_id": "poster",
        "goal": "post n",
        "tools": ["api_call"],
        "interval_seconds": 5,
        "run_now": True,
    }
    assert (await rig.run(step_request("background_agent_start", config))).status == "succeeded"
    now = datetime.now(UTC)

    assert await BackgroundAgents(rig.deps).run_due(now) == 1
    waiting = await get_schedule(rig.deps.engine, TENANT, "poster")
    assert waiting is not None
    assert waiting.last_status == "waiting_approval"
    assert await BackgroundAgents(rig.deps).run_due(now + timedelta(seconds=6)) == 1  # still undecided
    assert len(model.chats()) == 1  # the model is not asked again while the call waits
    assert model.hooks() == []

    async with rig.admin() as client:
        pending = (await client.get("/v1/approvals")).json()["data"]
        assert len(pending) == 1
        approved = await client.post(f"/v1/approvals/{pending[0]['approval_id']}/approve", json={})
        assert approved.status_code == 200, approved.text
    assert await BackgroundAgents(rig.deps).run_due(now + timedelta(seconds=12)) == 1
    [posted] = model.hooks()
    assert posted.body == {"n": 7}
    done = await get_schedule(rig.deps.engine, TENANT, "poster")
    assert done is not None
    assert (done.last_status, done.pending_execution_id) == ("completed", None)
