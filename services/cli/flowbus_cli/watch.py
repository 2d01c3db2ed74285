"""Following an execution through the events route: new events as they are stored, until
its status (read from the API whenever no new event came) is one the caller waits for."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flowbus_cli.client import Api, path
from flowbus_cli.output import when

TERMINAL = frozenset({"completed", "failed", "cancelled"})
WAITING = frozenset({"waiting", "waiting_approval"})  # an approval is due: a person has to act
POLL_SECONDS = 0.25


@dataclass
class Watch:
    """Where a watch stands: the last event seen and, at the end, the execution as the API has it."""

    execution_id: str
    after: int = 0
    execution: dict[str, Any] | None = None
    timed_out: bool = False

    @property
    def status(self) -> str:
        return str((self.execution or {}).get("status", "accepted"))


def follow(
    api: Api, watch: Watch, *, until: frozenset[str], timeout: float | None, just_started: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield the execution's events after `watch.after`; stop once its status is in `until`
    (having yielded every event stored by then) or after `timeout` seconds (`watch.timed_out`).

    `just_started`: the start was accepted a moment ago, so until the orchestrator has
    handled it the execution is unknown (404), which is waited out rather than reported.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    execution_path = path("v1", "executions", watch.execution_id)
    while True:
        fresh = stored_events(api, watch, missing_ok=just_started)
        yield from fresh
        if not fresh:
            found = api.find(execution_path) if just_started else api.get(execution_path)
            if found is not None:
                watch.execution = found
                if watch.status in until:
                    yield from stored_events(api, watch)  # stored between our two reads
                    return
        if deadline is not None and time.monotonic() >= deadline:
            watch.timed_out = True
            watch.execution = api.find(execution_path) or watch.execution
            return
        if not fresh:
            time.sleep(POLL_SECONDS)


def stored_events(api: Api, watch: Watch, *, missing_ok: bool = False) -> list[dict[str, Any]]:
    """Every event stored after `watch.after` (moving it on), through as many pages as it takes."""
    events_path = path("v1", "executions", watch.execution_id, "events")
    events: list[dict[str, Any]] = []
    while True:
        params = {"after": watch.after, "limit": 500}
        page = api.find(events_path, params) if missing_ok else api.get(events_path, params)
        if page is None:
            return events
        events += page["events"]
        if page["events"]:
            watch.after = int(page["events"][-1]["version"])
        if page.get("next_after") is None or not page["events"]:
            return events


def describe(event: dict[str, Any]) -> str:
    """One line about an event for people: its step, attempt, reason or error."""
    data = event.get("data") or {}
    parts = [
        f"{key}={data[key]}"
        for key in ("step_id", "attempt", "workflow_id", "workflow_version", "by", "from_step_id", "until")
        if data.get(key) not in (None, "")
    ]
    values = data.get("values")
    if isinstance(values, dict) and values:
        parts.append("set " + ", ".join(sorted(values)))
    for key in ("reason", "comment", "message"):
        if data.get(key):
            parts.append(f"{key}: {data[key]}")
    error = data.get("error")
    if isinstance(error, dict):
        parts.append(f"error {error.get('error_type', '')}: {error.get('message', '')}".strip())
    return " ".join(parts)


@dataclass
class StepLine:
    status: str = "pending"
    attempt: int = 0
    started: str | None = None
    finished: str | None = None
    note: str = ""


def _seconds(start: str | None, end: str | None) -> str:
    if not start:
        return ""
    try:
        begun = datetime.fromisoformat(start)
        ended = datetime.fromisoformat(end) if end else datetime.now(begun.tzinfo)
    except ValueError:
        return ""
    return f"{max((ended - begun).total_seconds(), 0.0):.1f} s"


def _on_scheduled(line: StepLine, event: dict[str, Any], data: dict[str, Any]) -> None:
    line.status, line.attempt, line.note = "running", int(data.get("attempt") or line.attempt), ""
    line.started, line.finished = event.get("recorded_at"), None


def _on_failed(line: StepLine, event: dict[str, Any], data: dict[str, Any]) -> None:
    error = data.get("error") or {}
    line.status = "retrying" if data.get("retry_at") else "failed"
    line.note, line.finished = str(error.get("message", "")), event.get("recorded_at")


def _on_waiting(line: StepLine, _event: dict[str, Any], data: dict[str, Any]) -> None:
    line.status, line.note = "waiting", f"until {when(data.get('until'))}" if data.get("until") else ""


def _set(status: str, note_key: str | None = None, finished: bool = False) -> Callable[..., None]:
    def update(line: StepLine, event: dict[str, Any], data: dict[str, Any]) -> None:
        line.status = status
        line.note = str(data.get(note_key) or "") if note_key is not None else ""
        if finished:
            line.finished = event.get("recorded_at")

    return update


_STEP_EVENTS: dict[str, Callable[[StepLine, dict[str, Any], dict[str, Any]], None]] = {
    "step.scheduled": _on_scheduled,
    "step.succeeded": _set("succeeded", finished=True),
    "step.failed": _on_failed,
    "step.skipped": _set("skipped", "reason", finished=True),
    "step.waiting": _on_waiting,
    "approval.requested": _set("waiting for approval", "reason"),
    "approval.granted": _set("approved", "comment"),
    "approval.rejected": _set("rejected", "reason"),
    "branches.started": _set("running branches"),
}


@dataclass
class StepBoard:
    """Each step's progress as the events tell it (for display; the API's state is the truth)."""

    steps: dict[str, StepLine] = field(default_factory=dict)

    def add(self, event: dict[str, Any]) -> None:
        data = event.get("data") or {}
        kind = event.get("event_type", "")
        if kind == "execution.started":  # a fork starts with the steps its parent had done
            for step_id, run in (data.get("steps") or {}).items():
                self.steps[step_id] = StepLine(status=f"{run.get('status', 'done')} (before the fork)")
        elif kind == "join.completed":
            line = self.steps.setdefault(data.get("step_id", "?"), StepLine())
            line.status = "succeeded" if data.get("succeeded") else "failed"
            line.finished = event.get("recorded_at")
        elif kind in _STEP_EVENTS and data.get("step_id"):
            _STEP_EVENTS[kind](self.steps.setdefault(data["step_id"], StepLine()), event, data)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "step": step_id,
                "status": line.status,
                "attempt": line.attempt or "",
                "time": _seconds(line.started, line.finished),
                "note": line.note,
            }
            for step_id, line in self.steps.items()
        ]
