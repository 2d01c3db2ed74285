"""A trigger published by a client that knows nothing of flowbus (Kafka's own Java
console producer, as in the README) starts the workflow that listens for it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from flowbus_shared.settings import FlowbusSettings
from tests.support.system import TestSteps, running_system
from tests.support.waiting import wait_until

KAFKA_LIBS = Path(__file__).resolve().parents[3] / ".local" / "kafka" / "libs"


async def test_the_java_console_producer_starts_a_workflow(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    event_type = f"order_received.{topic_prefix}"
    workflow_id = f"console-{topic_prefix}"
    async with running_system(system_settings, TestSteps(), ["data_transformation"]) as system:
        await system.register(
            {
                "id": workflow_id,
                "name": "console",
                "triggers": [event_type],
                "start_step_id": "a",
                "steps": [
                    {"id": "a", "type": "data_transformation", "config": {"output": {"got": "{{input.x}}"}}}
                ],
            }
        )
        line = json.dumps({"event_type": event_type, "payload": {"x": 41}, "idempotency_key": "console-1"})
        producer = await asyncio.create_subprocess_exec(
            "java",
            "-cp",
            f"{KAFKA_LIBS}/*",
            "org.apache.kafka.tools.ConsoleProducer",
            "--bootstrap-server",
            system_settings.kafka_bootstrap_servers,
            "--topic",
            system_settings.topic("triggers"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(producer.communicate(line.encode() + b"\n"), timeout=60)
        assert producer.returncode == 0, output.decode()
        projection = system.orchestrator.projection

        async def completed() -> bool:
            rows = await projection.list(workflow_id=workflow_id)
            return len(rows) == 1 and rows[0]["status"] == "completed"

        await wait_until(completed, within=30, message="the console-produced trigger's workflow")
        execution_id = (await projection.list(workflow_id=workflow_id))[0]["execution_id"]
        assert (await system.state(execution_id)).steps["a"].output == {"got": 41}
