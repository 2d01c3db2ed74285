"""`flowbus trigger` publishes a TriggerEvent to the triggers topic of the real Kafka, and a
running orchestrator (on PostgreSQL) starts the workflows that listen for it."""

from __future__ import annotations

from pathlib import Path

import yaml

from flowbus_shared.bus import ensure_topics
from flowbus_shared.settings import FlowbusSettings
from tests.integration.cli_http.conftest import cli_system, closed_port, run_flowbus
from tests.support.system import TestSteps
from tests.support.waiting import wait_until

LISTENER = {
    "id": "welcome",
    "name": "Welcome",
    "triggers": ["customer_signed_up"],
    "start_step_id": "greet",
    "steps": {"greet": {"type": "data_transformation", "config": {"output": {"said": "welcome {{name}}"}}}},
}


async def test_a_trigger_on_kafka_starts_the_listening_workflow(
    kafka_settings: FlowbusSettings, pg_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    settings = kafka_settings.model_copy(update={"database_url": pg_url})
    await ensure_topics(settings)
    kafka_env = {
        "FLOWBUS_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "FLOWBUS_TOPIC_PREFIX": settings.topic_prefix,
    }
    tenant = f"cli-{topic_prefix}"
    async with cli_system(
        settings, TestSteps(), ["data_transformation"], tenant=tenant, extra_env=kafka_env
    ) as cli:
        definition = tmp_path / "welcome.yaml"
        definition.write_text(yaml.safe_dump(LISTENER))
        assert (await cli("workflows", "apply", str(definition))).code == 0

        named = await cli(
            "trigger",
            "customer_signed_up",
            "--data",
            '{"name": "Ada"}',
            "--tenant",
            tenant,
            "--workflow",
            "welcome",
            "--idempotency-key",
            "signup-1",
            "-o",
            "json",
        )
        assert named.code == 0, named.stderr
        published = named.json()
        assert (published["topic"], published["tenant_id"]) == (f"{topic_prefix}.triggers", tenant)
        execution = await cli.wait_status(published["execution_id"], "completed")
        assert execution["steps"]["greet"]["output"] == {"said": "welcome Ada"}
        assert execution["input"]["event_type"] == "customer_signed_up"
        repeated = await cli(
            "trigger",
            "customer_signed_up",
            "--data",
            '{"name": "Ada"}',
            "--tenant",
            tenant,
            "--workflow",
            "welcome",
            "--idempotency-key",
            "signup-1",
            "-o",
            "json",
        )
        assert (
            repeated.json()["execution_id"] == published["execution_id"]
        )  # the same key, the same execution

        by_type = await cli(
            "trigger",
            "customer_signed_up",
            "-d",
            '{"name": "Bo"}',
            "--tenant",
            tenant,
            "--idempotency-key",
            "signup-2",
        )
        assert by_type.code == 0, by_type.stderr
        assert by_type.stdout.startswith(f"published customer_signed_up to {topic_prefix}.triggers")

        async def two_done() -> bool:
            listed = await cli(
                "executions", "list", "--workflow", "welcome", "--status", "completed", "-o", "json"
            )
            return len(listed.json()) == 2

        await wait_until(two_done, within=60, interval=0.3, message="the second trigger's execution")


async def test_trigger_without_kafka_exits_4_and_bad_data_exits_2() -> None:
    env = {"PATH": "/usr/bin:/bin", "FLOWBUS_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port()}"}
    down = await run_flowbus(["trigger", "customer_signed_up", "--data", "{}"], env)
    assert (down.code, down.stdout) == (4, "")
    assert f"could not publish to Kafka at {env['FLOWBUS_KAFKA_BOOTSTRAP_SERVERS']}" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1  # one message, not the client's retries
    bad = await run_flowbus(["trigger", "customer_signed_up", "--data", "name=Ada"], env)
    assert (bad.code, "--data is not JSON" in bad.stderr) == (2, True)
    too_long = await run_flowbus(["trigger", "x" * 201], env)
    assert (too_long.code, "event_type" in too_long.stderr) == (2, True)
