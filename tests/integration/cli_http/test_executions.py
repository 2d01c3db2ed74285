"""Acting on executions from the command line against a running orchestrator: approve and
reject a waiting step (while `events --follow` streams the log), resume a failed execution,
fork one with overridden variables and read its lineage, cancel one that waits on a timer."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from flowbus_shared.schemas import StepRequest
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from tests.integration.cli_http.conftest import FLOWBUS, Cli, cli_system
from tests.support.system import TestSteps

APPROVAL = {
    "id": "refund",
    "name": "Refund",
    "start_step_id": "prepare",
    "steps": {
        "prepare": {
            "type": "data_transformation",
            "config": {"output": {"amount": "{{amount}}"}},
            "next_steps": ["manager_approval"],
        },
        "manager_approval": {
            "type": "approval_required",
            "config": {"expires_in_seconds": 3600},
            "next_steps": ["pay"],
        },
        "pay": {"type": "data_transformation", "config": {"output": {"paid": "{{prepare.amount}}"}}},
    },
}
CHARGE = {
    "id": "charge",
    "name": "Charge",
    "start_step_id": "price",
    "steps": {
        "price": {
            "type": "data_transformation",
            "config": {"output": {"total": "{{total}}"}},
            "next_steps": ["charge"],
        },
        "charge": {
            "type": "api_call",
            "config": {"url": "https://ledger.invalid/charge", "total": "{{total}}"},
        },
    },
}
NAP = {
    "id": "nap",
    "name": "Nap",
    "start_step_id": "sleep",
    "steps": {"sleep": {"type": "delay", "config": {"delay_seconds": 3600}}},
}


async def apply(cli: Cli, tmp_path: Path, definition: dict[str, Any]) -> None:
    file = tmp_path / f"{definition['id']}.yaml"
    file.write_text(yaml.safe_dump(definition))
    applied = await cli("workflows", "apply", str(file))
    assert applied.code == 0, applied.stderr


async def test_approve_and_reject_a_waiting_step_while_following_the_log(
    sqlite_settings: FlowbusSettings, topic_prefix: str, tmp_path: Path
) -> None:
    async with cli_system(
        sqlite_settings, TestSteps(), ["data_transformation"], tenant=f"cli-{topic_prefix}"
    ) as cli:
        await apply(cli, tmp_path, APPROVAL)
        waiting = await cli(
            "run", "refund", "--input", '{"amount": 120}', "--wait", "-o", "json", who="operator"
        )
        assert waiting.code == 3, waiting.stderr  # waits for a person
        execution_id = waiting.json()["execution_id"]
        assert waiting.json()["status"] == "waiting_approval"
        too_early = await cli("executions", "approve", execution_id, "pay", who="operator")
        assert too_early.code == 1
        assert "not waiting for an approval" in too_early.stderr

        follower = await asyncio.create_subprocess_exec(
            FLOWBUS,
            "executions",
            "events",
            execution_id,
            "--follow",
            "-o",
            "json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=cli.env("viewer"),
        )
        approved = await cli(
            "executions", "approve", execution_id, "manager_approval", "--comment", "fine", who="operator"
        )
        assert (approved.code, approved.stdout.strip()) == (
            0,
            f"approval of manager_approval in {execution_id}: accepted",
        )
        out, err = await asyncio.wait_for(follower.communicate(), 60)
        assert follower.returncode == 0, err.decode()
        followed = [json.loads(line) for line in out.decode().splitlines()]  # one JSON object a line
        kinds = [event["event_type"] for event in followed]
        assert (kinds[0], kinds[-1]) == ("execution.started", "execution.completed")
        granted = next(event for event in followed if event["event_type"] == "approval.granted")
        assert granted["data"]["comment"] == "fine"
        assert granted["data"]["by"].startswith("key:")

        second = (
            await cli("run", "refund", "--input", '{"amount": 9000}', "-o", "json", who="operator")
        ).json()
        await cli.wait_status(second["execution_id"], "waiting_approval")
        rejected = await cli(
            "executions",
            "reject",
            second["execution_id"],
            "manager_approval",
            "--reason",
            "too much",
            "-o",
            "json",
            who="operator",
        )
        assert rejected.json() == {
            "execution_id": second["execution_id"],
            "step_id": "manager_approval",
            "status": "accepted",
        }
        failed = await cli.wait_status(second["execution_id"], "failed")
        assert "too much" in json.dumps(failed["error"])


async def test_a_failed_execution_resumes_and_a_fork_overrides_variables(
    sqlite_settings: FlowbusSettings, topic_prefix: str, tmp_path: Path
) -> None:
    calls: Counter[str] = Counter()

    async def ledger_down_once(request: StepRequest) -> dict[str, Any]:
        calls[request.execution_id] += 1
        if calls[request.execution_id] == 1:
            raise StepFailure("upstream_down", "the ledger is down")
        return {"charged": request.config["total"]}

    steps = TestSteps({"api_call": ledger_down_once})
    async with cli_system(
        sqlite_settings, steps, ["data_transformation", "api_call"], tenant=f"cli-{topic_prefix}"
    ) as cli:
        await apply(cli, tmp_path, CHARGE)
        failed = await cli("run", "charge", "--input", '{"total": 40}', "--wait", who="operator")
        assert failed.code == 1
        assert "execution failed at step charge: the ledger is down" in failed.stderr
        execution_id = (await cli("executions", "list", "--workflow", "charge", "-o", "json")).json()[0][
            "execution_id"
        ]
        resumed = await cli("executions", "resume", execution_id, who="operator")
        assert (resumed.code, resumed.stdout.strip()) == (0, f"resume of {execution_id}: accepted")
        done = await cli.wait_status(execution_id, "completed")
        assert done["steps"]["charge"]["output"] == {"charged": 40}
        assert done["steps"]["charge"]["attempts"] == 2

        forked = await cli(
            "executions",
            "fork",
            execution_id,
            "--step",
            "price",
            "--set",
            "total=75",
            "-o",
            "json",
            who="operator",
        )
        assert forked.code == 0, forked.stderr
        fork_id = forked.json()["execution_id"]
        assert fork_id != execution_id
        fork = await cli.wait_status(fork_id, "failed", "completed")
        assert fork["status"] == "failed"  # the fork is a new execution: its first charge meets the outage
        assert fork["steps"]["price"]["output"] == {"total": 75}
        assert (fork["parent_execution_id"], fork["fork_step_id"]) == (execution_id, "price")

        family = (await cli("executions", "lineage", fork_id, "-o", "json", who="viewer")).json()
        assert [a["execution_id"] for a in family["ancestors"]] == [execution_id]
        tree = await cli("executions", "lineage", execution_id, who="viewer")
        assert tree.stdout.splitlines()[0].startswith(f"* {execution_id}")
        assert fork_id in tree.stdout
        assert "forked at price" in tree.stdout
        children = (await cli("executions", "list", "--parent", execution_id, "-o", "json")).json()
        assert [c["execution_id"] for c in children] == [fork_id]


async def test_cancel_an_execution_waiting_on_a_timer(
    sqlite_settings: FlowbusSettings, topic_prefix: str, tmp_path: Path
) -> None:
    async with cli_system(sqlite_settings, TestSteps(), [], tenant=f"cli-{topic_prefix}") as cli:
        await apply(cli, tmp_path, NAP)
        started = await cli("run", "nap", who="operator")
        assert started.code == 0, started.stderr
        execution_id = started.stdout.split()[2]  # "started execution <id> of nap"
        timed_out = await cli("run", "nap", "--wait", "--timeout", "5", "-o", "json", who="operator")
        assert timed_out.code == 3  # still running when --timeout passed
        assert timed_out.json()["status"] == "running"
        await cli.wait_status(execution_id, "running")
        cancelled = await cli("executions", "cancel", execution_id, "--reason", "not needed", who="operator")
        assert (cancelled.code, cancelled.stdout.strip()) == (0, f"cancel of {execution_id}: accepted")
        shown = await cli.wait_status(execution_id, "cancelled")
        assert shown["error"]["message"] == "not needed"
        again = await cli("executions", "cancel", execution_id, who="operator")
        assert (again.code, again.stderr.strip()) == (1, "error: the execution is cancelled already")
