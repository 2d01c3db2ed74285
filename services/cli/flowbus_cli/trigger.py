"""`flowbus trigger EVENT_TYPE`: publish a TriggerEvent straight to the triggers topic on the
configured Kafka (FlowbusSettings), as any Kafka client could; no HTTP involved."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from flowbus_cli.inputs import json_object
from flowbus_cli.output import ExitCode, Output, OutputFormat, emit_json, fail
from flowbus_orchestrator.handlers import execution_id_for
from flowbus_shared.bus import KafkaBus
from flowbus_shared.schemas import TriggerEvent
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import TRIGGERS


def trigger(
    event_type: Annotated[str, typer.Argument(help="starts every workflow listing it in `triggers`")],
    data: Annotated[
        str, typer.Option("--data", "-d", help="the payload: a JSON object, @FILE, or - for standard input")
    ] = "{}",
    workflow: Annotated[str | None, typer.Option(help="start only this workflow")] = None,
    tenant: Annotated[str, typer.Option(help="the tenant whose workflows it starts")] = "default",
    idempotency_key: Annotated[
        str | None, typer.Option(help="a trigger with the same key starts nothing new")
    ] = None,
    source: Annotated[str | None, typer.Option(help="where it comes from (recorded)")] = "flowbus-cli",
    timeout: Annotated[float, typer.Option(min=1, help="give up on Kafka after this many seconds")] = 20,
    output: Output = OutputFormat.text,
) -> None:
    """Publish a trigger event to Kafka (FLOWBUS_KAFKA_BOOTSTRAP_SERVERS, FLOWBUS_TOPIC_PREFIX).

    The orchestrator starts the matching workflows; a malformed trigger or an unknown
    workflow lands on the dead-letter topic with the reason.
    """
    payload = json_object(data, "--data")
    try:
        event = TriggerEvent(
            event_type=event_type,
            payload=payload,
            workflow_id=workflow,
            tenant_id=tenant,
            idempotency_key=idempotency_key,
            source=source,
        )
    except ValidationError as error:
        first = error.errors()[0]
        fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", ExitCode.USAGE)
    settings = FlowbusSettings()
    if settings.bus != "kafka":
        fail(
            "flowbus trigger publishes to Kafka: set FLOWBUS_BUS=kafka (the in-process bus of `flowbus dev` "
            "takes triggers over HTTP: POST /v1/triggers)",
            ExitCode.USAGE,
        )
    topic = settings.topic(TRIGGERS.suffix)
    for noisy in ("aiokafka", "faststream", "asyncio"):  # their retries would bury the one message below
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    try:
        asyncio.run(asyncio.wait_for(_publish(settings, event), timeout))
    except TimeoutError:
        fail(
            f"Kafka at {settings.kafka_bootstrap_servers} did not take the trigger within {timeout:g} s "
            f"(is it running, and does {topic} exist? `flowbus topics create` makes it)",
            ExitCode.UNREACHABLE,
        )
    except Exception as error:  # noqa: BLE001 - any client failure is one message and exit code to the user
        fail(
            f"could not publish to Kafka at {settings.kafka_bootstrap_servers}: {error or type(error).__name__}",
            ExitCode.UNREACHABLE,
        )
    summary: dict[str, Any] = {
        "message_id": event.message_id,
        "topic": topic,
        "event_type": event.event_type,
        "tenant_id": event.tenant_id,
        "workflow_id": event.workflow_id,
        "idempotency_key": event.idempotency_key,
        # Named workflow: the orchestrator derives the execution's id from the trigger, so it is known now.
        "execution_id": execution_id_for(event, workflow) if workflow else None,
    }
    if output is OutputFormat.json:
        emit_json(summary)
        return
    typer.echo(f"published {event_type} to {topic} (message {event.message_id})")
    if workflow:
        typer.echo(f"it starts execution {summary['execution_id']} of {workflow}")


async def _publish(settings: FlowbusSettings, event: TriggerEvent) -> None:
    bus = KafkaBus(settings, client_name="cli")
    try:
        await bus.connect()
        await bus.publish(TRIGGERS, event)
    finally:
        await bus.stop()
