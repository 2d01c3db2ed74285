"""`flowbus apikeys ...`: API keys of flowbus's HTTP APIs (the first one has to come from here)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from flowbus_cli.database import fail, on_database
from flowbus_shared.auth import ROLES, ApiKeys

app = typer.Typer(help="API keys for the HTTP APIs (stored hashed, shown once).", no_args_is_help=True)
Tenant = Annotated[str, typer.Option(help="the tenant")]


@app.command("create")
def create(
    tenant: Tenant = "default",
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")] = "operator",
    name: Annotated[str, typer.Option(help="what it is for")] = "",
    user: Annotated[
        str | None, typer.Option(help="the user it belongs to (no stronger than the user; revoked with them)")
    ] = None,
) -> None:
    """Create a key and print it: this is the only time it is shown."""
    if role not in ROLES:
        raise fail(f"role must be one of {', '.join(ROLES)}", 2)
    issued = on_database(lambda engine: ApiKeys(engine).create(tenant, role, name, user_id=user))
    typer.echo(issued.token)
    owner = f", user {user}" if user else ""
    typer.secho(
        f"key {issued.key_id} ({role} of {tenant}{owner}): store it now, it is not shown again", err=True
    )


@app.command("list")
def list_keys(
    tenant: Tenant = "default", output: Annotated[str, typer.Option("--output", "-o")] = "text"
) -> None:
    """Key ids, roles, names and users (never the keys)."""
    rows = on_database(lambda engine: ApiKeys(engine).list(tenant))
    if output == "json":
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        typer.echo(f"{row['key_id']}\t{row['role']}\t{state}\t{row['name']}\t{row['user_id'] or ''}")


@app.command("revoke")
def revoke(key_id: str, tenant: Tenant = "default") -> None:
    """Revoke a key (within seconds on every running service)."""
    if not on_database(lambda engine: ApiKeys(engine).revoke(tenant, key_id)):
        raise fail(f"tenant {tenant!r} has no active key {key_id!r}")
    typer.echo(f"revoked {key_id}")
