"""`flowbus workflows ...` and `flowbus run` against a running orchestrator: a YAML file
applied and versioned, validation faults, generation through an llm-gateway double, runs
waited on in JSON and with the progress view, and the execution read back with
`executions list|show|events`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from flowbus_shared.settings import FlowbusSettings
from tests.integration.cli_http.conftest import cli_system
from tests.support.http_double import http_double
from tests.support.llm_double import openai_answer
from tests.support.system import TestSteps

GREETER_YAML = """\
id: greeter
name: Greeter
start_step_id: greet
steps:
  greet:
    type: data_transformation
    config: {output: {said: "hello {{name}}"}}
    next_steps: [shout]
  shout:
    type: data_transformation
    config: {output: {loud: "{{greet.said}}!"}}
"""

BROKEN_YAML = """\
id: broken
name: Broken
start_step_id: first
steps:
  first:
    type: data_transformation
    next_steps: [nowhere]
"""


async def test_apply_versions_show_and_validate(
    sqlite_settings: FlowbusSettings, topic_prefix: str, tmp_path: Path
) -> None:
    greeter = tmp_path / "greeter.yaml"
    greeter.write_text(GREETER_YAML)
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_YAML)
    async with cli_system(sqlite_settings, TestSteps(), [], tenant=f"cli-{topic_prefix}") as cli:
        stored = await cli("workflows", "apply", str(greeter))
        assert (stored.code, stored.stdout.strip()) == (0, "stored greeter version 1"), stored.stderr
        again = await cli("workflows", "apply", str(greeter))
        assert again.stdout.startswith("unchanged: greeter version 1")

        changed = yaml.safe_load(GREETER_YAML)
        changed["steps"]["greet"]["config"]["output"]["said"] = "hi {{name}}"
        as_json = await cli("workflows", "apply", "-", "-o", "json", stdin=json.dumps(changed))
        assert as_json.code == 0, as_json.stderr
        assert (as_json.json()["workflow_id"], as_json.json()["version"]) == ("greeter", 2)

        listed = await cli("workflows", "list", "-o", "json", who="viewer")
        assert {"workflow_id": "greeter", "version": 2}.items() <= next(
            w for w in listed.json() if w["workflow_id"] == "greeter"
        ).items()
        first = (
            await cli("workflows", "show", "greeter", "--version", "1", "-o", "json", who="viewer")
        ).json()
        assert first["definition"]["steps"]["greet"]["config"]["output"]["said"] == "hello {{name}}"
        assert first["versions"] == [1, 2]
        shown = await cli("workflows", "show", "greeter", who="viewer")
        assert "hi {{name}}" in shown.stdout
        assert "versions" in shown.stdout

        valid = await cli("workflows", "validate", str(greeter), who="viewer")
        assert (valid.code, valid.stdout.startswith("valid")) == (0, True)
        invalid = await cli("workflows", "validate", str(broken), "-o", "json", who="viewer")
        assert invalid.code == 1
        assert invalid.json()["valid"] is False
        assert any("nowhere" in fault["reason"] for fault in invalid.json()["faults"])
        refused = await cli("workflows", "apply", str(broken))
        assert refused.code == 1
        assert (refused.stdout, "nowhere" in refused.stderr) == ("", True)


async def test_run_waits_for_the_outcome_and_the_log_reads_back(
    sqlite_settings: FlowbusSettings, topic_prefix: str, tmp_path: Path
) -> None:
    greeter = tmp_path / "greeter.yaml"
    greeter.write_text(GREETER_YAML)
    async with cli_system(
        sqlite_settings, TestSteps(), ["data_transformation"], tenant=f"cli-{topic_prefix}"
    ) as cli:
        assert (await cli("workflows", "apply", str(greeter))).code == 0
        ran = await cli(
            "run", "greeter", "--input", '{"name": "Ada"}', "--wait", "-o", "json", who="operator"
        )
        assert ran.code == 0, ran.stderr
        execution = ran.json()
        assert execution["status"] == "completed"
        assert execution["output"]["shout"] == {"loud": "hello Ada!"}

        watched = await cli("run", "greeter", "-i", '{"name": "Bo"}', "--wait", who="operator")
        assert watched.code == 0, watched.stderr
        assert "completed" in watched.stdout, watched.stdout
        assert [
            line.split()[:2] for line in watched.stdout.splitlines() if line.startswith(("greet ", "shout "))
        ] == [
            ["greet", "succeeded"],
            ["shout", "succeeded"],
        ]
        assert "hello Bo!" in watched.stdout  # the output, shown at the end

        listed = (await cli("executions", "list", "--workflow", "greeter", "-o", "json", who="viewer")).json()
        assert len(listed) == 2
        assert {e["status"] for e in listed} == {"completed"}
        shown = await cli("executions", "show", execution["execution_id"], who="viewer")
        assert "greet" in shown.stdout
        assert "hello Ada!" in shown.stdout

        events = await cli("executions", "events", execution["execution_id"], "-o", "json", who="viewer")
        kinds = [event["event_type"] for event in events.json()]
        assert (kinds[0], kinds[-1]) == ("execution.started", "execution.completed")
        assert [event["version"] for event in events.json()] == list(range(1, len(kinds) + 1))
        later = await cli("executions", "events", execution["execution_id"], "--after", "2", who="viewer")
        assert "execution.started" not in later.stdout
        assert "execution.completed" in later.stdout


async def test_the_same_idempotency_key_gives_the_same_execution(
    sqlite_settings: FlowbusSettings, topic_prefix: str, tmp_path: Path
) -> None:
    greeter = tmp_path / "greeter.yaml"
    greeter.write_text(GREETER_YAML)
    async with cli_system(
        sqlite_settings, TestSteps(), ["data_transformation"], tenant=f"cli-{topic_prefix}"
    ) as cli:
        assert (await cli("workflows", "apply", str(greeter))).code == 0
        args = ["run", "greeter", "--input", '{"name": "Ada"}', "--idempotency-key", "order-7", "-o", "json"]
        first = await cli(*args, who="operator")
        second = await cli(*args, who="operator")
        assert first.code == second.code == 0
        assert first.json()["execution_id"] == second.json()["execution_id"]
        await cli.wait_status(first.json()["execution_id"], "completed")
        listed = (await cli("executions", "list", "--workflow", "greeter", "-o", "json", who="viewer")).json()
        assert [e["execution_id"] for e in listed] == [first.json()["execution_id"]]


PLAN = {
    "steps": [
        {
            "step_id": "notify",
            "title": "Tell the team",
            "service": "slack",
            "action": "post",
            "parameters": {"channel": "#sales", "message": "New lead {{input.email}}"},
        }
    ],
    "trigger": {"service": "forms", "event": "lead_created", "type": "webhook"},
    "category": "sales",
}


async def test_generate_through_the_llm_gateway(
    sqlite_settings: FlowbusSettings, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = "when a lead comes in, tell sales"
    async with cli_system(sqlite_settings, TestSteps(), [], tenant=f"cli-{topic_prefix}") as cli:
        unconfigured = await cli("workflows", "generate", request)
        assert (unconfigured.code, "set FLOWBUS_LLM_GATEWAY_URL" in unconfigured.stderr) == (1, True)
    with http_double(openai_answer([json.dumps(PLAN)])) as gateway:
        monkeypatch.setenv("FLOWBUS_LLM_GATEWAY_URL", f"{gateway.url}/v1")
        monkeypatch.setenv("FLOWBUS_LLM_GATEWAY_API_KEY", "fbk_service_key-of-the-double")
        async with cli_system(sqlite_settings, TestSteps(), [], tenant=f"cli-{topic_prefix}") as cli:
            stored = await cli("workflows", "generate", request, "-o", "json")
            assert stored.code == 0, stored.stderr
            workflow = stored.json()
            assert (workflow["version"], workflow["triggers"]) == (1, ["lead_created"])
            assert [s["type"] for s in workflow["definition"]["steps"].values()] == ["slack_notification"]
            listed = (await cli("workflows", "list", "-o", "json", who="viewer")).json()
            assert workflow["workflow_id"] in [w["workflow_id"] for w in listed]

            draft = await cli("workflows", "generate", request, "--no-register", who="operator")
            assert draft.code == 0, draft.stderr
            assert draft.stdout.startswith("draft generated_")
            assert "slack_notification" in draft.stdout
            operator_stores = await cli("workflows", "generate", request, who="operator")
            assert (operator_stores.code, "needs the admin role" in operator_stores.stderr) == (1, True)
    assert gateway.requests[0].body["messages"][-1]["content"] == request
