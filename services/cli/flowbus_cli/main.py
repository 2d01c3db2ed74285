"""flowbus: run the services, manage topics and the database."""

from __future__ import annotations

import asyncio
import logging
import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
import uvloop

from flowbus_cli.apikeys import app as apikeys_app
from flowbus_cli.connections import app as connections_app
from flowbus_cli.docs import app as docs_app
from flowbus_cli.executions import app as executions_app
from flowbus_cli.governance import agents_app, approvals_app, audit_app
from flowbus_cli.identity import tenants_app, tokens_app, users_app
from flowbus_cli.llm import app as llm_app
from flowbus_cli.run import run as run_command
from flowbus_cli.services import SERVICE_MODULES, factory
from flowbus_cli.trigger import trigger as trigger_command
from flowbus_cli.workflows import app as workflows_app
from flowbus_shared.bus import ensure_topics
from flowbus_shared.runtime import Runtime
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import create_engine, upgrade
from flowbus_shared.telemetry import LOG_FORMAT, add_trace_context_to_logs

app = typer.Typer(
    help="flowbus: event-driven workflows for business and AI-agent automation.",
    no_args_is_help=True,
    add_completion=False,
)
topics_app = typer.Typer(help="Kafka topics of the catalogue.", no_args_is_help=True)
db_app = typer.Typer(help="The event store's database.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(db_app, name="db")
app.add_typer(connections_app, name="connections")
app.add_typer(llm_app, name="llm")
app.add_typer(apikeys_app, name="keys")
app.add_typer(apikeys_app, name="apikeys", hidden=True)  # the earlier name
app.add_typer(agents_app, name="agents")
app.add_typer(approvals_app, name="approvals")
app.add_typer(audit_app, name="audit")
app.add_typer(tenants_app, name="tenants")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(docs_app, name="docs")
# Daily work, over the orchestrator's HTTP API (FLOWBUS_API_URL, FLOWBUS_API_KEY); trigger goes to Kafka.
app.add_typer(workflows_app, name="workflows")
app.add_typer(executions_app, name="executions")
app.command("run")(run_command)
app.command("trigger")(trigger_command)

ServiceName = Enum("ServiceName", {name.replace("-", "_"): name for name in SERVICE_MODULES}, type=str)  # type: ignore[misc]


def _configure_logging(settings: FlowbusSettings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    add_trace_context_to_logs()


def embedded_settings(database: Path) -> FlowbusSettings:
    """The single-process set-up: in-process bus, SQLite file, and the rule-based NLU
    (labelled local-rules) unless the environment says otherwise."""
    os.environ.setdefault("FLOWBUS_LLM_LOCAL_RULES", "true")
    database.parent.mkdir(parents=True, exist_ok=True)
    return FlowbusSettings(bus="memory", database_url=f"sqlite+aiosqlite:///{database}")


@app.command()
def serve(service: Annotated[ServiceName, typer.Argument(help="the service to run")]) -> None:
    """Run one service (one per pod) on the configured Kafka and database."""
    settings = FlowbusSettings()
    _configure_logging(settings)
    name = str(service.value)
    runtime = Runtime(settings, [factory(name)], name=f"flowbus-{name}")
    uvloop.run(runtime.run_until_signalled())  # a faster event loop for long-running services


@app.command()
def dev(
    database: Annotated[Path, typer.Option(help="SQLite file of the embedded set-up")] = Path(
        ".local/flowbus-dev.db"
    ),
) -> None:
    """Run all four services in one process: in-process bus and SQLite, nothing to install."""
    settings = embedded_settings(database)
    _configure_logging(settings)
    runtime = Runtime(settings, [factory(name) for name in SERVICE_MODULES], name="flowbus-dev")
    uvloop.run(runtime.run_until_signalled())


@app.command("demo")
def demo_command(
    database: Annotated[Path, typer.Option(help="SQLite file for the demo")] = Path(".local/flowbus-demo.db"),
) -> None:
    """Run a sample workflow end to end on the embedded set-up and print what happened."""
    from flowbus_cli.demo import demo  # the demo pulls in every service

    demo(database)


@app.command()
def asyncapi() -> None:
    """Print the AsyncAPI 3.0 document of every topic and message (YAML)."""
    import yaml

    from flowbus_shared.asyncapi import asyncapi_document

    typer.echo(yaml.safe_dump(asyncapi_document(FlowbusSettings()), sort_keys=False))


@topics_app.command("create")
def topics_create() -> None:
    """Create the catalogue's missing topics (brokers never auto-create them)."""
    settings = FlowbusSettings()
    created = asyncio.run(ensure_topics(settings))
    typer.echo("created: " + (", ".join(created) if created else "nothing, all topics exist"))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations up to the newest."""
    settings = FlowbusSettings()

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo("database is at the newest schema")


if __name__ == "__main__":
    app()
