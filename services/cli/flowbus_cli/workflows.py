"""`flowbus workflows ...`: register, validate, list, show and generate workflow definitions
through the orchestrator's HTTP API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flowbus_cli.client import ApiKey, ApiUrl, connect, path
from flowbus_cli.inputs import definition_file
from flowbus_cli.output import ExitCode, Output, OutputFormat, block, emit_json, fail, fields, table, when

app = typer.Typer(help="Workflow definitions: apply, validate, list, show, generate.", no_args_is_help=True)
DefinitionFile = Annotated[str, typer.Argument(help="a definition in JSON or YAML; - reads standard input")]
GENERATION_PATIENCE_SECONDS = 150.0
SUMMARY_COLUMNS = [
    ("workflow_id", "WORKFLOW"),
    ("version", "VERSION"),
    ("name", "NAME"),
    ("triggers", "TRIGGERS"),
    ("step_count", "STEPS"),
    ("builtin", "BUILTIN"),
    ("created", "CREATED"),
]


def _summary_row(summary: dict[str, Any]) -> dict[str, Any]:
    return {**summary, "created": when(summary.get("created_at"))}


def _complexity(summary: dict[str, Any]) -> str:
    complexity = summary.get("complexity")
    if not isinstance(complexity, dict):
        return ""
    return ", ".join(f"{k} {v}" for k, v in complexity.items() if not isinstance(v, dict | list))


def _show_summary(summary: dict[str, Any]) -> None:
    fields(
        [
            ("workflow", summary.get("workflow_id")),
            ("name", summary.get("name")),
            ("version", summary.get("version")),
            ("versions", summary.get("versions")),
            ("triggers", summary.get("triggers")),
            ("steps", summary.get("step_count")),
            ("complexity", _complexity(summary)),
            ("builtin", summary.get("builtin")),
            ("created", when(summary.get("created_at"))),
        ]
    )


@app.command("apply")
def apply(
    file: DefinitionFile, output: Output = OutputFormat.text, api_url: ApiUrl = None, api_key: ApiKey = None
) -> None:
    """Register a definition (validated first); a changed one becomes a new version. Needs the admin role."""
    content, content_type = definition_file(file)
    with connect(api_url, api_key) as api:
        answer = api.post("/v1/workflows", content=content, content_type=content_type)
    summary = answer.body
    if output is OutputFormat.json:
        emit_json(summary)
        return
    if answer.status == 201:
        typer.echo(f"stored {summary['workflow_id']} version {summary['version']}")
    else:
        typer.echo(f"unchanged: {summary['workflow_id']} version {summary['version']} is the same definition")


@app.command("validate")
def validate(
    file: DefinitionFile, output: Output = OutputFormat.text, api_url: ApiUrl = None, api_key: ApiKey = None
) -> None:
    """Check a definition without storing it; exits 1 listing every fault when it is invalid."""
    content, content_type = definition_file(file)
    with connect(api_url, api_key) as api:
        verdict = api.post("/v1/workflows/validate", content=content, content_type=content_type).body
    if output is OutputFormat.json:
        emit_json(verdict)
    elif verdict.get("valid"):
        typer.echo(f"valid{' (' + _complexity(verdict) + ')' if _complexity(verdict) else ''}")
    else:
        table(verdict.get("faults", []), [("field", "FIELD"), ("reason", "REASON")], title="invalid")
    if not verdict.get("valid"):
        raise typer.Exit(int(ExitCode.REFUSED))


@app.command("list")
def list_workflows(
    limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 100,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """The tenant's workflows, each at its newest version."""
    with connect(api_url, api_key) as api:
        workflows = api.pages("/v1/workflows", "workflows", limit)
    if output is OutputFormat.json:
        emit_json(workflows)
        return
    table([_summary_row(w) for w in workflows], SUMMARY_COLUMNS)


@app.command("show")
def show(
    workflow_id: str,
    version: Annotated[int | None, typer.Option(min=1, help="this version instead of the newest")] = None,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """One workflow: its summary, its versions and its definition."""
    with connect(api_url, api_key) as api:
        workflow = api.get(path("v1", "workflows", workflow_id), {"version": version})
    if output is OutputFormat.json:
        emit_json(workflow)
        return
    _show_summary(workflow)
    block("definition", workflow.get("definition", {}))


@app.command("generate")
def generate(
    request: Annotated[str, typer.Argument(help="what the workflow should do, in plain words")],
    register: Annotated[bool, typer.Option(help="store it as a new workflow (admin role)")] = True,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Have the llm-gateway draft a definition from plain words; it is validated (and stored)."""
    if not request.strip():
        fail(
            'say what the workflow should do, e.g. flowbus workflows generate "triage support emails"',
            ExitCode.USAGE,
        )
    # The orchestrator waits up to FLOWBUS_ORCHESTRATOR_GENERATION_TIMEOUT_SECONDS (120) for the model.
    with connect(api_url, api_key, patience_seconds=GENERATION_PATIENCE_SECONDS) as api:
        workflow = api.post("/v1/workflows/generate", {"request": request, "register": register}).body
    if output is OutputFormat.json:
        emit_json(workflow)
        return
    if register:
        typer.echo(f"stored {workflow['workflow_id']} version {workflow['version']}")
    else:
        typer.echo(f"draft {workflow['workflow_id']} (not stored: `flowbus workflows apply` it to keep it)")
    _show_summary(workflow)
    block("definition", workflow.get("definition", {}))
