"""`flowbus agents|approvals|audit ...`: governance from the command line, on the database.

Approving here records the decision; the running governance service sends it to the
orchestrator on its next sweep (decisions are delivered until acknowledged).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_cli.database import fail, on_database
from flowbus_governance.adapters.agents import AgentExists, AgentRepository
from flowbus_governance.adapters.approvals import ApprovalConflict, ApprovalNotFound, ApprovalStore
from flowbus_governance.adapters.audit import AuditLog

agents_app = typer.Typer(help="Governed agents: register, list, change status.", no_args_is_help=True)
approvals_app = typer.Typer(help="Approval requests: list, approve, reject.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log: list and verify.", no_args_is_help=True)
Tenant = Annotated[str, typer.Option(help="the tenant")]
Output = Annotated[str, typer.Option("--output", "-o", help="text or json")]


def _plain(value: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(value).items()}


def _emit(rows: list[dict[str, Any]], output: str, columns: list[str]) -> None:
    if output == "json":
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        typer.echo("\t".join(str(row.get(column, "")) for column in columns))


def _agents(engine: AsyncEngine) -> AgentRepository:
    return AgentRepository(engine, AuditLog(engine))


@agents_app.command("register")
def register(
    agent_id: str,
    tenant: Tenant = "default",
    name: Annotated[str, typer.Option(help="display name")] = "",
    category: Annotated[str, typer.Option(help="its specialty, e.g. support")] = "",
) -> None:
    """Register an agent (a student with confidence 0.5)."""
    try:
        on_database(
            lambda engine: _agents(engine).register(
                tenant, agent_id, name=name or agent_id, category=category
            )
        )
    except AgentExists:
        raise fail(f"agent {agent_id!r} exists already") from None
    typer.echo(f"registered {agent_id} for {tenant}")


@agents_app.command("list")
def list_agents(tenant: Tenant = "default", output: Output = "text") -> None:
    """Agents with their status and confidence."""
    rows = [_plain(a) for a in on_database(lambda engine: _agents(engine).list(tenant))]
    _emit(rows, output, ["agent_id", "status", "confidence", "category", "name"])


@agents_app.command("status")
def set_status(
    agent_id: str,
    status: Annotated[
        str, typer.Argument(help="student, intern, supervised, autonomous, paused or deprecated")
    ],
    reason: Annotated[str, typer.Option(help="why (recorded in the audit log)")],
    tenant: Tenant = "default",
) -> None:
    """Change an agent's status by hand (recorded as by `cli`)."""
    agent = on_database(lambda engine: _agents(engine).get(tenant, agent_id))
    if agent is None:
        raise fail(f"no agent {agent_id!r}")
    on_database(lambda engine: _agents(engine).set_status(tenant, agent_id, status, by="cli", reason=reason))
    typer.echo(f"{agent_id}: {agent.status} -> {status}")


@approvals_app.command("list")
def pending(tenant: Tenant = "default", output: Output = "text") -> None:
    """Pending approvals."""
    found = on_database(lambda engine: ApprovalStore(engine, AuditLog(engine)).pending(tenant))
    _emit([_plain(a) for a in found], output, ["approval_id", "agent_id", "action", "expires_at", "reason"])


def _decide(approval_id: str, tenant: str, approve: bool, comment: str) -> None:
    try:
        decided = on_database(
            lambda engine: ApprovalStore(engine, AuditLog(engine)).decide(
                tenant, approval_id, approve=approve, by="cli", comment=comment
            )
        )
    except ApprovalNotFound:
        raise fail(f"no approval {approval_id!r}") from None
    except ApprovalConflict as conflict:
        raise fail(f"the approval is {conflict.state}: nothing changed") from None
    typer.echo(f"{approval_id}: {decided.state}")


@approvals_app.command("approve")
def approve(approval_id: str, tenant: Tenant = "default", comment: str = "") -> None:
    """Approve a pending request."""
    _decide(approval_id, tenant, True, comment)


@approvals_app.command("reject")
def reject(approval_id: str, tenant: Tenant = "default", reason: str = "") -> None:
    """Reject a pending request."""
    _decide(approval_id, tenant, False, reason)


@audit_app.command("list")
def list_audit(
    tenant: Tenant = "default",
    kind: Annotated[
        str | None, typer.Option(help="decision, approval.approved, agent.confidence, ...")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="one agent's records")] = None,
    limit: int = 50,
    output: Output = "text",
) -> None:
    """Audit records, newest first."""
    entries = on_database(
        lambda engine: AuditLog(engine).query(tenant, kind=kind, agent_id=agent, limit=limit)
    )
    rows = [{**_plain(e), "record": json.dumps(e.record, sort_keys=True)} for e in entries]
    _emit(rows, output, ["seq", "recorded_at", "kind", "record"])


@audit_app.command("verify")
def verify(tenant: Tenant = "default") -> None:
    """Check the hash chain end to end; exits 1 naming every altered or removed record."""
    result = on_database(lambda engine: AuditLog(engine).verify(tenant))
    if result.ok:
        typer.echo(f"ok: {result.checked} record(s), chain intact")
        return
    for problem in result.problems:
        typer.secho(problem, err=True, fg="red")
    raise typer.Exit(1)
