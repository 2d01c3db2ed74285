"""`flowbus run WORKFLOW`: start an execution and, with --wait, watch its steps complete."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from flowbus_cli.client import Api, ApiKey, ApiUrl, connect
from flowbus_cli.inputs import json_object
from flowbus_cli.output import ExitCode, Output, OutputFormat, block, emit_json, stderr, stdout
from flowbus_cli.watch import TERMINAL, WAITING, StepBoard, Watch, follow

SETTLED = TERMINAL | WAITING  # where --wait stops: an outcome, or a person has to act
EXIT_BY_STATUS = {"completed": ExitCode.OK, "failed": ExitCode.REFUSED, "cancelled": ExitCode.REFUSED}


def run(
    workflow_id: Annotated[str, typer.Argument(help="the workflow to start")],
    input_json: Annotated[
        str, typer.Option("--input", "-i", help="the input: a JSON object, @FILE, or - for standard input")
    ] = "{}",
    version: Annotated[int | None, typer.Option(min=1, help="pin this version (default: the newest)")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="the same key starts nothing new: the first execution's id comes back")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="watch the steps until the execution ends")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=0, help="with --wait: stop watching after this many seconds (0: no limit)")
    ] = 300,
    output: Output = OutputFormat.text,
    api_url: ApiUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Start an execution of WORKFLOW.

    With --wait, exit codes tell how it ended: 0 completed, 1 failed or cancelled,
    3 still running after --timeout or waiting for an approval.
    """
    body = {
        "workflow_id": workflow_id,
        "input": json_object(input_json, "--input"),
        "version": version,
        "idempotency_key": idempotency_key,
    }
    with connect(api_url, api_key) as api:
        accepted = api.post("/v1/executions", body).body
        execution_id = str(accepted["execution_id"])
        if not wait:
            if output is OutputFormat.json:
                emit_json(accepted)
            else:
                typer.echo(f"started execution {execution_id} of {workflow_id}")
                stderr().print(f"follow it: flowbus executions events {execution_id} --follow")
            return
        watch = Watch(execution_id)
        try:
            if output is OutputFormat.json:
                for _event in follow(api, watch, until=SETTLED, timeout=timeout or None, just_started=True):
                    pass
                emit_json(watch.execution or accepted)  # unknown yet: still only accepted
                _tell_ending(watch, show_output=False)
            else:
                _watch_live(api, watch, workflow_id, timeout or None)
        except KeyboardInterrupt:
            stderr().print(
                f"stopped watching; {execution_id} goes on: flowbus executions show {execution_id}"
            )
            raise typer.Exit(130) from None
    raise typer.Exit(int(_ending(watch)))


def _watch_live(api: Api, watch: Watch, workflow_id: str, timeout: float | None) -> None:
    board = StepBoard()
    began = time.monotonic()

    def view() -> Group:
        heading = Text.assemble(
            ("execution ", ""),
            (watch.execution_id, "bold"),
            f" of {workflow_id}: ",
            (watch.status if watch.execution else "running", "bold"),
            f"  ({time.monotonic() - began:.0f} s)",
        )
        steps = Table(box=None, header_style="bold", pad_edge=False)
        for heading_text in ("STEP", "STATUS", "ATTEMPT", "TIME", "NOTE"):
            steps.add_column(heading_text, overflow="fold")
        for row in board.rows():
            steps.add_row(*(str(row[key]) for key in ("step", "status", "attempt", "time", "note")))
        return Group(heading, steps)

    console = stdout()
    if console.is_terminal:
        with Live(view(), console=console, refresh_per_second=4, transient=False) as live:
            for event in follow(api, watch, until=SETTLED, timeout=timeout, just_started=True):
                board.add(event)
                live.update(view())
            live.update(view())
    else:  # piped or logged: no redrawing, the board once at the end
        for event in follow(api, watch, until=SETTLED, timeout=timeout, just_started=True):
            board.add(event)
        console.print(view())
    _tell_ending(watch)


def _tell_ending(watch: Watch, *, show_output: bool = True) -> None:
    """The output on stdout; why it stopped, when not completed, on stderr."""
    execution: dict[str, Any] = watch.execution or {}
    if show_output and watch.status == "completed" and execution.get("output") not in (None, {}):
        block("output", execution["output"])
    if watch.status in TERMINAL - {"completed"}:
        error = execution.get("error") or {}
        where = f" at step {error['step_id']}" if error.get("step_id") else ""
        stderr().print(f"execution {watch.status}{where}: {error.get('message', 'no reason recorded')}")
    elif watch.status in WAITING:
        waiting = [
            s for s, run in (execution.get("steps") or {}).items() if "approval" in str(run.get("status"))
        ]
        step = waiting[0] if waiting else "STEP"
        stderr().print(
            f"waiting for an approval: flowbus executions approve {watch.execution_id} {step}  (or reject)"
        )
    elif watch.timed_out:
        stderr().print(
            f"still {watch.status} after the timeout: flowbus executions events {watch.execution_id} --follow"
        )


def _ending(watch: Watch) -> ExitCode:
    return EXIT_BY_STATUS.get(watch.status, ExitCode.STILL_RUNNING)
