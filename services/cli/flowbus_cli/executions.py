"""`flowbus executions ...`: look at executions and act on them through the orchestrator's
HTTP API. Actions are commands the orchestrator carries out in order; `accepted` means queued."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.tree import Tree

from flowbus_cli.client import ApiKey, ApiUrl, connect, path
from flowbus_cli.inputs import assignments
from flowbus_cli.output import (
    Output,
    OutputFormat,
    block,
    emit_json,
    emit_json_line,
    fields,
    stderr,
    stdout,
    table,
    when,
)
from flowbus_cli.watch import TERMINAL, Watch, describe, follow, stored_events

app = typer.Typer(
    help="Executions: list, show, events, resume, fork, cancel, approve, reject, lineage.",
    no_args_is_help=True,
)
ExecutionId = Annotated[str, typer.Argument(help="the execution's id")]
SUMMARY_COLUMNS = [
    ("execution_id", "EXECUTION"),
    ("workflow", "WORKFLOW"),
    ("status", "STATUS"),
    ("started", "STARTED"),
    ("finished", "FINISHED"),
    ("parent_execution_id", "PARENT"),
]


def _row(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        **summary,
        "workflow": f"{summary.get('workflow_id')} v{summary.get('workflow_version')}",
        "started": when(summary.get("started_at")),
        "finished": when(summary.get("finished_at")),
    }


def _accepted(answer: dict[str, Any], output: OutputFormat, what: str) -> None:
    if output is OutputFormat.json:
        emit_json(answer)
    else:
        typer.echo(f"{what}: {answer.get('status', 'accepted')}")


@app.command("list")
def list_executions(
    workflow: Annotated[str | None, typer.Option(help="only this workflow's")] = None,
    status: Annotated[
        str | None, typer.Option(help="only in this status: running, waiting_approval, completed, ...")
    ] = None,
    parent: Annotated[str | None, typer.Option(help="only forks of this execution")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 50,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Executions of the tenant, newest first."""
    params = {"workflow_id": workflow, "status": status, "parent": parent}
    with connect(api_url, api_key) as api:
        executions = api.pages("/v1/executions", "executions", limit, params)
    if output is OutputFormat.json:
        emit_json(executions)
        return
    table([_row(e) for e in executions], SUMMARY_COLUMNS)


@app.command("show")
def show(
    execution_id: ExecutionId,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """One execution: status, each step's progress, output or error."""
    with connect(api_url, api_key) as api:
        execution = api.get(path("v1", "executions", execution_id))
    if output is OutputFormat.json:
        emit_json(execution)
        return
    fields(
        [
            ("execution", execution.get("execution_id")),
            ("workflow", _row(execution)["workflow"]),
            ("status", execution.get("status")),
            ("started", when(execution.get("started_at"))),
            ("finished", when(execution.get("finished_at"))),
            ("forked from", execution.get("parent_execution_id")),
            ("at step", execution.get("fork_step_id")),
        ]
    )
    steps = [
        {
            "step": step_id,
            **run,
            "error": (run.get("error") or {}).get("message"),
            "started": when(run.get("started_at")),
            "finished": when(run.get("finished_at")),
        }
        for step_id, run in (execution.get("steps") or {}).items()
    ]
    columns = [
        ("step", "STEP"),
        ("status", "STATUS"),
        ("attempts", "ATTEMPTS"),
        ("started", "STARTED"),
        ("finished", "FINISHED"),
        ("error", "ERROR"),
    ]
    table(steps, columns, title="steps")
    if execution.get("output") not in (None, {}):
        block("output", execution["output"])
    if execution.get("error"):
        block("error", execution["error"])


@app.command("events")
def events(
    execution_id: ExecutionId,
    after: Annotated[int, typer.Option(min=0, help="only events after this version")] = 0,
    follow_on: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing new events until the execution ends")
    ] = False,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """The execution's event log (-o json: an array; with --follow one JSON object per line)."""
    watch = Watch(execution_id, after=after)
    with connect(api_url, api_key) as api:
        if not follow_on:
            collected = stored_events(api, watch)
            if output is OutputFormat.json:
                emit_json(collected)
            else:
                table([_event_row(e) for e in collected], _EVENT_COLUMNS)
            return
        try:
            for event in follow(api, watch, until=TERMINAL, timeout=None):
                if output is OutputFormat.json:
                    emit_json_line(event)
                else:
                    row = _event_row(event)
                    typer.echo(
                        f"{row['version']:>4}  {row['recorded']}  {row['event_type']:<20} {row['about']}"
                    )
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


_EVENT_COLUMNS = [("version", "#"), ("recorded", "RECORDED"), ("event_type", "EVENT"), ("about", "ABOUT")]


def _event_row(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "recorded": when(event.get("recorded_at")), "about": describe(event)}


@app.command("resume")
def resume(
    execution_id: ExecutionId,
    from_step: Annotated[
        str | None, typer.Option(help="start again from this step (default: the failed or suspended ones)")
    ] = None,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Continue a failed, cancelled or waiting execution."""
    with connect(api_url, api_key) as api:
        answer = api.post(path("v1", "executions", execution_id, "resume"), {"from_step_id": from_step}).body
    _accepted(answer, output, f"resume of {execution_id}")


@app.command("fork")
def fork(
    execution_id: ExecutionId,
    step: Annotated[
        str, typer.Option(help="the new execution starts at this step, with the state before it")
    ],
    set_values: Annotated[
        list[str] | None, typer.Option("--set", help="override a variable: NAME=JSON (repeatable)")
    ] = None,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Start a new execution from this one's state just before STEP, with variables overridden."""
    overrides = assignments(set_values or [], "--set")
    with connect(api_url, api_key) as api:
        answer = api.post(
            path("v1", "executions", execution_id, "fork"), {"step_id": step, "variable_overrides": overrides}
        ).body
    if output is OutputFormat.json:
        emit_json(answer)
        return
    typer.echo(f"forked {execution_id} at {step}: new execution {answer['execution_id']}")


@app.command("cancel")
def cancel(
    execution_id: ExecutionId,
    reason: Annotated[str, typer.Option(help="why (recorded in the log)")] = "",
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Cancel a running or waiting execution (it can be resumed later)."""
    with connect(api_url, api_key) as api:
        answer = api.post(path("v1", "executions", execution_id, "cancel"), {"reason": reason}).body
    _accepted(answer, output, f"cancel of {execution_id}")


def _decide(
    execution_id: str,
    step_id: str,
    verdict: str,
    body: dict[str, str],
    output: OutputFormat,
    api_url: str | None,
    api_key: str | None,
) -> None:
    with connect(api_url, api_key) as api:
        answer = api.post(path("v1", "executions", execution_id, "steps", step_id, verdict), body).body
    what = {"approve": "approval", "reject": "rejection"}[verdict]
    _accepted(answer, output, f"{what} of {step_id} in {execution_id}")


@app.command("approve")
def approve(
    execution_id: ExecutionId,
    step_id: Annotated[str, typer.Argument(help="the step waiting for approval")],
    comment: Annotated[str, typer.Option(help="recorded with the approval")] = "",
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Approve a step that waits for a person; the execution continues."""
    _decide(execution_id, step_id, "approve", {"comment": comment}, output, api_url, api_key)


@app.command("reject")
def reject(
    execution_id: ExecutionId,
    step_id: Annotated[str, typer.Argument(help="the step waiting for approval")],
    reason: Annotated[str, typer.Option(help="why (the step fails with it)")] = "",
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Reject a step that waits for a person; the step fails."""
    _decide(execution_id, step_id, "reject", {"reason": reason}, output, api_url, api_key)


@app.command("lineage")
def lineage(
    execution_id: ExecutionId,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Where an execution comes from (the executions it was forked from) and its forks."""
    with connect(api_url, api_key) as api:
        family = api.get(path("v1", "executions", execution_id, "lineage"))
    if output is OutputFormat.json:
        emit_json(family)
        return

    def label(summary: dict[str, Any], marker: str = "") -> str:
        fork = f" forked at {summary['fork_step_id']}" if summary.get("fork_step_id") else ""
        return f"{marker}{summary['execution_id']}  {summary.get('status', '')}  {_row(summary)['workflow']}{fork}"

    ancestors = list(reversed(family.get("ancestors") or []))  # the API lists the parent first
    itself = label(family.get("execution") or {"execution_id": family["execution_id"]}, "* ")
    root = Tree(label(ancestors[0]) if ancestors else itself)
    node = root
    for ancestor in ancestors[1:]:
        node = node.add(label(ancestor))
    if ancestors:
        node = node.add(itself)
    for child in family.get("children") or []:
        node.add(label(child))
    stdout().print(root)
    if not ancestors and not family.get("children"):
        stderr().print("no forks: it was not forked from another execution and has no forks")
