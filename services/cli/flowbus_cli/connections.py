"""`flowbus connections ...`: the executor's encrypted per-tenant credentials.

Secrets are read as a JSON object from standard input, so they never appear in a
command line, shell history or process list; nothing prints them back.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from flowbus_cli.database import on_database, vault_of
from flowbus_shared.vault import ConnectionVault

app = typer.Typer(
    help="Encrypted service credentials (API tokens, OAuth tokens, SMTP logins).", no_args_is_help=True
)
Tenant = Annotated[str, typer.Option(help="the tenant the connection belongs to")]
T = TypeVar("T")


def _with_vault(work: Callable[[ConnectionVault], Awaitable[T]]) -> T:
    return on_database(lambda engine: work(vault_of(engine)))


@app.command("put")
def put(
    name: Annotated[str, typer.Argument(help="how steps refer to it (config.connection)")],
    service: Annotated[
        str, typer.Option(help="smtp, slack, asana, notion, gmail, hubspot, salesforce, connector, ...")
    ],
    tenant: Tenant = "default",
) -> None:
    """Store a connection; its secrets are a JSON object on standard input."""
    try:
        secrets: Any = json.loads(sys.stdin.read())
    except ValueError as error:
        typer.secho(f"error: standard input is not JSON ({error.__class__.__name__})", err=True, fg="red")
        raise typer.Exit(2) from None
    if not isinstance(secrets, dict) or not secrets:
        typer.secho("error: the secrets must be a non-empty JSON object", err=True, fg="red")
        raise typer.Exit(2)
    fingerprint = _with_vault(lambda vault: vault.put(tenant, name, service, secrets))
    typer.echo(f"stored {tenant}/{name} ({service}), fingerprint {fingerprint}")


@app.command("list")
def list_connections(tenant: Tenant = "default") -> None:
    """Names, services and fingerprints (never secrets)."""
    for row in _with_vault(lambda vault: vault.list(tenant)):
        typer.echo(f"{row['name']}\t{row['service']}\t{row['fingerprint']}\tkey {row['key_id']}")


@app.command("delete")
def delete(name: str, tenant: Tenant = "default") -> None:
    """Remove a connection."""
    if not _with_vault(lambda vault: vault.delete(tenant, name)):
        typer.secho(f"error: no connection {name!r} for tenant {tenant!r}", err=True, fg="red")
        raise typer.Exit(1)
    typer.echo(f"deleted {tenant}/{name}")


@app.command("rotate")
def rotate() -> None:
    """Re-seal every connection with the first master key (put the new key first in FLOWBUS_MASTER_KEYS)."""
    report = _with_vault(lambda vault: vault.rotate())
    typer.echo(f"re-sealed {report.resealed} connection(s)")
    for name in report.unreadable:
        typer.secho(f"unreadable, left as is: {name}", err=True, fg="yellow")
    if report.unreadable:
        raise typer.Exit(1)
