"""`flowbus tenants|users|tokens ...` and `flowbus apikeys create --user` as a user runs them,
on a real SQLite database: JSON lists, clear errors with non-zero exits, secrets never printed
except the token asked for."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from flowbus_cli.apikeys import app as apikeys_app
from flowbus_cli.identity import tenants_app, tokens_app, users_app
from flowbus_shared.auth import ApiKeys, JwtVerifier, Principal
from flowbus_shared.store import open_store

SECRET = "a-cli-test-secret-that-is-long-enough"

# Wired as services/cli/flowbus_cli/main.py wires them (`flowbus tenants ...`).
flowbus = typer.Typer()
flowbus.add_typer(tenants_app, name="tenants")
flowbus.add_typer(users_app, name="users")
flowbus.add_typer(tokens_app, name="tokens")
flowbus.add_typer(apikeys_app, name="apikeys")


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"


def run(args: list[str], database: str, secret: str | None = SECRET) -> Result:
    env = {"FLOWBUS_DATABASE_URL": database, "FLOWBUS_JWT_SECRET": secret, "FLOWBUS_PLATFORM_TENANT": None}
    return CliRunner().invoke(flowbus, args, env=env)


async def _verify(database: str, token: str) -> Principal | None:
    store = await open_store(database)
    try:
        if token.startswith("fbk_"):
            return await ApiKeys(store.engine, cache_seconds=0).authenticate(token)
        return await JwtVerifier(store.engine, SECRET, cache_seconds=0).verify(token)
    finally:
        await store.close()


def verify(database: str, token: str) -> Principal | None:
    return asyncio.run(_verify(database, token))


def test_tenants_are_created_listed_and_disabled(database: str) -> None:
    created = run(["tenants", "create", "acme", "--name", "Acme Ltd"], database)
    assert (created.exit_code, created.stdout.strip()) == (0, "created tenant acme"), created.output
    assert run(["tenants", "create", "platform"], database).exit_code == 0
    again = run(["tenants", "create", "acme"], database)
    assert (again.exit_code, "exists already" in again.stderr) == (1, True)
    listed = json.loads(run(["tenants", "list", "-o", "json"], database).stdout)
    assert [(t["tenant_id"], t["name"], t["status"]) for t in listed] == [
        ("acme", "Acme Ltd", "active"),
        ("platform", "platform", "active"),
    ]
    key = run(["apikeys", "create", "--tenant", "acme", "--role", "admin"], database).stdout.strip()
    assert verify(database, key) is not None
    disabled = run(["tenants", "disable", "acme"], database)
    assert disabled.exit_code == 0, disabled.output
    assert verify(database, key) is None
    assert run(["tenants", "list"], database).stdout.splitlines()[0] == "acme\tdisabled\tAcme Ltd"
    twice = run(["tenants", "disable", "acme"], database)
    assert (twice.exit_code, "disabled already" in twice.stderr) == (1, True)
    platform = run(["tenants", "disable", "platform"], database)
    assert (platform.exit_code, "cannot be disabled" in platform.stderr) == (1, True)
    unknown = run(["tenants", "disable", "nowhere"], database)
    assert (unknown.exit_code, "no tenant 'nowhere'" in unknown.stderr) == (1, True)


def test_users_and_their_keys(database: str) -> None:
    made = run(
        ["users", "create", "Ada@Example.com", "--tenant", "acme", "--role", "operator", "--id", "ada"],
        database,
    )
    assert (made.exit_code, made.stdout.strip()) == (0, "ada"), made.output
    generated = run(["users", "create", "bob@example.com", "--tenant", "acme"], database)
    assert generated.stdout.strip().startswith("u_")
    duplicate = run(["users", "create", "ada@example.com", "--tenant", "acme"], database)
    assert duplicate.exit_code == 1
    bad_role = run(["users", "create", "x@example.com", "--tenant", "acme", "--role", "service"], database)
    assert (bad_role.exit_code, "role must be one of admin, operator, viewer" in bad_role.stderr) == (2, True)
    listed = json.loads(run(["users", "list", "--tenant", "acme", "-o", "json"], database).stdout)
    assert (listed[0]["user_id"], listed[0]["email"], listed[0]["role"], listed[0]["status"]) == (
        "ada",
        "ada@example.com",
        "operator",
        "active",
    )
    assert run(["users", "list", "--tenant", "globex"], database).stdout == ""

    stronger = run(["apikeys", "create", "--tenant", "acme", "--role", "admin", "--user", "ada"], database)
    assert (stronger.exit_code, "the user is operator" in stronger.stderr) == (1, True)
    key = run(["apikeys", "create", "--tenant", "acme", "--role", "operator", "--user", "ada"], database)
    assert key.exit_code == 0, key.output
    principal = verify(database, key.stdout.strip())
    assert principal is not None
    assert principal.user_id == "ada"
    assert "\tada" in run(["apikeys", "list", "--tenant", "acme"], database).stdout

    revoked = run(["users", "revoke", "ada", "--tenant", "acme"], database)
    assert (revoked.exit_code, revoked.stdout.strip()) == (0, "revoked user ada and 1 key(s)")
    assert verify(database, key.stdout.strip()) is None
    assert run(["users", "revoke", "ada", "--tenant", "acme"], database).exit_code == 1
    assert run(["users", "revoke", "ada", "--tenant", "globex"], database).exit_code == 1


def test_tokens_are_signed_with_the_configured_secret(database: str) -> None:
    ada = run(
        ["users", "create", "ada@example.com", "--tenant", "acme", "--role", "admin", "--id", "ada"], database
    )
    assert ada.exit_code == 0, ada.output
    issued = run(
        ["tokens", "issue", "--tenant", "acme", "--user", "ada", "--role", "admin", "--ttl", "15m"],
        database,
    )
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert verify(database, token) == Principal("acme", "admin", "jwt:ada", "ada")
    assert SECRET not in issued.output
    assert "expires" in issued.stderr

    stranger = run(["tokens", "issue", "--tenant", "acme", "--user", "someone@idp"], database)
    assert stranger.exit_code == 0
    assert "not a user of 'acme'" in stranger.stderr
    assert verify(database, stranger.stdout.strip()) == Principal("acme", "viewer", "jwt:someone@idp")

    assert run(["users", "revoke", "ada", "--tenant", "acme"], database).exit_code == 0
    assert verify(database, token) is None
    refused = run(["tokens", "issue", "--tenant", "acme", "--user", "ada"], database)
    assert (refused.exit_code, "is revoked" in refused.stderr, refused.stdout) == (1, True, "")


def test_tokens_need_a_secret_a_person_role_and_a_lifetime(database: str) -> None:
    unset = run(["tokens", "issue", "--user", "ada"], database, secret=None)
    assert (unset.exit_code, "FLOWBUS_JWT_SECRET is not set" in unset.stderr, unset.stdout) == (2, True, "")
    short = run(["tokens", "issue", "--user", "ada"], database, secret="hunter2")
    assert (short.exit_code, "at least 32 characters" in short.stderr) == (2, True)
    assert "hunter2" not in short.output
    service = run(["tokens", "issue", "--user", "ada", "--role", "service"], database)
    assert service.exit_code == 2
    for ttl in ("0", "soon", "-5m"):
        bad = run(["tokens", "issue", "--user", "ada", "--ttl", ttl], database)
        assert (bad.exit_code, "--ttl" in bad.stderr) == (2, True), ttl
