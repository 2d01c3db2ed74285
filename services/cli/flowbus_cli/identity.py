"""`flowbus tenants|users|tokens ...`: tenants, their users, and JWTs for them, on the database.

The CLI is how the first platform admin comes about (`flowbus tenants create platform`,
then `flowbus apikeys create --tenant platform --role admin`); after that the HTTP API does
the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_cli.database import fail, on_database
from flowbus_shared.auth import PERSON_ROLES, PersonRole, issue_token, role_allows
from flowbus_shared.auth.api_keys import refuse_disabled_tenant
from flowbus_shared.identity import IdentitySettings, Tenants, Users

tenants_app = typer.Typer(help="Tenants: create, list, disable (platform admins).", no_args_is_help=True)
users_app = typer.Typer(help="Users of a tenant: create, list, revoke.", no_args_is_help=True)
tokens_app = typer.Typer(help="JWTs signed with FLOWBUS_JWT_SECRET.", no_args_is_help=True)

Tenant = Annotated[str, typer.Option(help="the tenant")]


class Format(StrEnum):
    text = "text"
    json = "json"


Output = Annotated[Format, typer.Option("--output", "-o", help="text or json")]
_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _plain(record: Any) -> dict[str, Any]:
    fields = asdict(record) | {"status": record.status}
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}


def _emit(rows: list[dict[str, Any]], output: Format, columns: list[str]) -> None:
    if output is Format.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo("\t".join(str(row.get(column) or "") for column in columns))


def _person_role(role: str) -> PersonRole:
    if role not in PERSON_ROLES:
        raise fail(f"role must be one of {', '.join(PERSON_ROLES)}", 2)
    return role


def _settings() -> IdentitySettings:
    try:
        return IdentitySettings()
    except ValidationError as error:  # the input is hidden: a refused secret is not printed back
        reasons = "; ".join(str(e["msg"]) for e in error.errors())
        raise fail(f"identity settings: {reasons}", 2) from None


@tenants_app.command("create")
def create_tenant(
    tenant_id: Annotated[str, typer.Argument(help="the tenant's id, e.g. acme")],
    name: Annotated[str, typer.Option(help="a display name")] = "",
) -> None:
    """Register a tenant (one that already has keys is adopted with them)."""
    tenant = on_database(lambda engine: Tenants(engine).create(tenant_id, name))
    typer.echo(f"created tenant {tenant.tenant_id}")


@tenants_app.command("list")
def list_tenants(output: Output = Format.text) -> None:
    """Registered tenants (tenants known only from their keys are not listed)."""
    tenants = on_database(lambda engine: Tenants(engine).list())
    _emit([_plain(t) for t in tenants], output, ["tenant_id", "status", "name"])


@tenants_app.command("disable")
def disable_tenant(tenant_id: str) -> None:
    """Disable a tenant: its keys and tokens stop working (its data stays)."""
    platform = _settings().platform_tenant
    on_database(lambda engine: Tenants(engine, keep_enabled=platform).disable(tenant_id))
    typer.echo(f"disabled tenant {tenant_id}: its keys and tokens no longer work")


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="the user's e-mail address (unique in the tenant)")],
    tenant: Tenant = "default",
    role: Annotated[str, typer.Option(help=f"one of {', '.join(PERSON_ROLES)}")] = "viewer",
    name: Annotated[str, typer.Option(help="display name")] = "",
    user_id: Annotated[
        str | None, typer.Option("--id", help="the user's id (a JWT's sub); made up if not given")
    ] = None,
) -> None:
    """Create a user and print its id."""
    checked_role = _person_role(role)
    user = on_database(
        lambda engine: Users(engine).create(
            tenant, email=email, role=checked_role, name=name, user_id=user_id
        )
    )
    typer.echo(user.user_id)
    typer.secho(f"user {user.user_id} ({user.role} of {tenant}) created", err=True)


@users_app.command("list")
def list_users(tenant: Tenant = "default", output: Output = Format.text) -> None:
    """The tenant's users, revoked ones included."""
    users = on_database(lambda engine: Users(engine).list(tenant))
    _emit([_plain(u) for u in users], output, ["user_id", "role", "status", "email", "name"])


@users_app.command("revoke")
def revoke_user(user_id: str, tenant: Tenant = "default") -> None:
    """Revoke a user and every key of theirs; their JWTs are refused from then on."""
    _user, keys = on_database(lambda engine: Users(engine).revoke(tenant, user_id))
    typer.echo(f"revoked user {user_id} and {keys} key(s)")


def _seconds(ttl: str) -> int:
    match = _DURATION.fullmatch(ttl.strip())
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else 0
    if seconds <= 0:
        raise fail(f"--ttl {ttl!r}: a positive duration such as 3600, 15m, 12h or 7d", 2)
    return seconds


async def _check_subject(engine: AsyncEngine, tenant: str, user: str, role: PersonRole) -> bool:
    """Refuse a token the services would refuse; True when `user` is a user of the tenant."""
    async with engine.connect() as conn:
        await refuse_disabled_tenant(conn, tenant)
    found = await Users(engine).get(tenant, user)
    if found is None:
        return False
    if found.revoked_at is not None:
        raise ValueError(f"user {user!r} is revoked")
    if not role_allows(found.role, role):
        raise ValueError(f"user {user!r} is {found.role}: a {role} token would be refused")
    return True


@tokens_app.command("issue")
def issue(
    user: Annotated[str, typer.Option("--user", help="the subject (`sub`): a user id of the tenant")],
    tenant: Tenant = "default",
    role: Annotated[str, typer.Option(help=f"one of {', '.join(PERSON_ROLES)}")] = "viewer",
    ttl: Annotated[str, typer.Option(help="lifetime: seconds, or 15m, 12h, 7d")] = "1h",
) -> None:
    """Sign a JWT with FLOWBUS_JWT_SECRET and print it."""
    checked_role, seconds = _person_role(role), _seconds(ttl)
    settings = _settings()
    if settings.jwt_secret is None:
        raise fail("FLOWBUS_JWT_SECRET is not set: set it to the secret the services verify JWTs with", 2)
    known = on_database(lambda engine: _check_subject(engine, tenant, user, checked_role))
    now = datetime.now(UTC)
    token = issue_token(
        settings.jwt_secret.get_secret_value(),
        subject=user,
        tenant_id=tenant,
        role=checked_role,
        ttl_seconds=seconds,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        now=now,
    )
    typer.echo(token)
    if not known:
        typer.secho(f"note: {user!r} is not a user of {tenant!r}; the token names it all the same", err=True)
    expires = (now + timedelta(seconds=seconds)).isoformat(timespec="seconds")
    typer.secho(f"token for {user} ({checked_role} of {tenant}), expires {expires}", err=True)
