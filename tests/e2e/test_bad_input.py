"""Bad input through every door: malformed JSON and records of the wrong shape on each topic a
service consumes end up on the dead-letter topic with the reason, the original bytes kept, and the
consumers go on serving (a good trigger afterwards still runs through every service)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import E2E
from tests.support.e2e_kafka import dead_letters_about
from tests.support.e2e_workflows import send_trigger, slack_step, start, trigger, wait_for
from tests.support.waiting import wait_until

# topic suffix -> (the consumer group's service, a record of the right type with fields wrong or
# missing, the words the reason must contain)
DOORS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "triggers": (
        "orchestrator",
        {"type": "trigger", "event_type": "", "payload": "not an object"},
        ["invalid trigger", "event_type", "payload"],
    ),
    "commands": (
        "orchestrator",
        {"type": "command.start", "execution_id": "x1", "tenant_id": "acme"},
        ["invalid command.start", "workflow_id: Field required"],
    ),
    "step-results": (
        "orchestrator",
        {"type": "step.result", "execution_id": "x1", "step_id": "s", "status": "perhaps"},
        ["invalid step.result", "status"],
    ),
    "steps.executor": (
        "executor",
        {"type": "step.request", "execution_id": "x1", "step_id": "s", "attempt": 0},
        ["invalid step.request", "workflow_id: Field required", "step_type: Field required", "attempt"],
    ),
    "steps.llm": (
        "llm-gateway",
        {"type": "step.request", "execution_id": "x1", "workflow_id": "w", "step_id": "s", "step_type": ""},
        ["invalid step.request", "step_type"],
    ),
    "steps.governance": (
        "governance",
        {"type": "command.start", "execution_id": "x1", "workflow_id": "w"},
        ["unknown message type 'command.start'", "this topic carries step.request"],
    ),
}


async def good_trigger_completes(e2e: E2E, uid: str) -> None:
    """A workflow through all three step queues (llm-gateway, governance, executor) completes."""
    agent = f"door-{uid}"
    async with httpx.AsyncClient(
        base_url=e2e.system.url("governance"),
        headers={"authorization": f"Bearer {e2e.system.tokens['user']}"},
    ) as api:
        assert (await api.post("/v1/agents", json={"agent_id": agent})).status_code == 201
    definition = {
        "id": f"after-bad-input-{uid}",
        "name": "after bad input",
        "start_step_id": "nlu",
        "steps": [
            {
                "id": "nlu",
                "type": "nlu_analysis",
                "config": {"text_input": f"still here {uid}"},
                "next_steps": ["check"],
            },
            {
                "id": "check",
                "type": "governance_check",
                "config": {"agent_id": agent, "action": "read"},
                "next_steps": ["tell"],
            },
            slack_step("tell", f"still serving {uid}"),
        ],
    }
    execution = await wait_for(e2e.system, await start(e2e.system, e2e.producer, definition))
    assert execution.status == "completed", execution.error
    assert e2e.doubles.slack_texts(uid) == [f"still serving {uid}"]


@pytest.mark.parametrize("door", list(DOORS))
async def test_bad_records_are_dead_lettered_with_the_reason(running: E2E, uid: str, door: str) -> None:
    service, wrong, words = DOORS[door]
    topic = running.system.topic(door)
    malformed = f'{{"type": "{uid}-malformed", oops'.encode()
    wrong_shape = json.dumps({**wrong, "note": f"{uid}-wrong"}).encode()
    await running.producer.send(topic, malformed, key="k1")
    await running.producer.send(topic, wrong_shape, key="k1")

    def arrived() -> bool:
        return all(
            dead_letters_about(running.dead_letters, topic, f"{uid}-{kind}")
            for kind in ("malformed", "wrong")
        )

    await wait_until(arrived, within=30, message=f"dead letters from {topic}")
    (bad_json,) = dead_letters_about(running.dead_letters, topic, f"{uid}-malformed")
    (bad_shape,) = dead_letters_about(running.dead_letters, topic, f"{uid}-wrong")
    for record, original in ((bad_json, malformed), (bad_shape, wrong_shape)):
        assert record["error_type"] == "undecodable"
        assert record["consumer_group"] == f"{running.system.prefix}.{service}"
        assert record["key"] == "k1"
        assert base64.b64decode(record["payload_base64"]) == original  # kept to be fixed and sent again
    assert bad_json["reason"].startswith("payload is not valid JSON")
    for word in words:
        assert word in bad_shape["reason"], bad_shape["reason"]
    await good_trigger_completes(running, uid)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "payload is not valid JSON"),
        (b"\xff\xfe\x00garbage", "payload is not valid JSON"),
        (b"[1, 2, 3]", "payload must be a JSON object, got list"),
        (b'{"event_type": "x", "schema_version": 99}', "schema_version 99 is newer than this service reads"),
        (b'{"event_type": "x", "surprise": true}', "surprise: Extra inputs are not permitted"),
    ],
    ids=["empty", "binary", "array", "newer-schema", "unknown-field"],
)
async def test_odd_triggers_are_dead_lettered(running: E2E, uid: str, raw: bytes, reason: str) -> None:
    topic = running.system.topic("triggers")
    await running.producer.send(topic, raw, key=f"odd-{uid}")

    def arrived() -> list[dict[str, Any]]:
        return [r.value for r in list(running.dead_letters.records) if r.value.get("key") == f"odd-{uid}"]

    await wait_until(lambda: bool(arrived()), within=30, message="the dead letter")
    (record,) = arrived()
    assert record["error_type"] == "undecodable"
    assert reason in record["reason"]


async def test_a_trigger_naming_an_unknown_workflow_is_rejected(running: E2E, uid: str) -> None:
    sent = trigger("anything", {"n": 1}, workflow_id=f"missing-{uid}")
    await send_trigger(running.system, running.producer, sent)
    topic = running.system.topic("triggers")

    def arrived() -> bool:
        return bool(dead_letters_about(running.dead_letters, topic, f"missing-{uid}"))

    await wait_until(arrived, within=30, message="the rejected trigger")
    (record,) = dead_letters_about(running.dead_letters, topic, f"missing-{uid}")
    assert record["error_type"] == "rejected"
    assert record["reason"] == f"trigger names workflow 'missing-{uid}', which does not exist"
    await good_trigger_completes(running, uid)
