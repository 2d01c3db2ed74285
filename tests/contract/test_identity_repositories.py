"""Tenants, users and their API keys on both database backends: scoped by tenant, a key never
stronger than its user, revocation and disabling effective at once in this process."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from flowbus_shared.auth import ApiKeys, Conflict, Forbidden, NotFound
from flowbus_shared.identity import Tenants, Users
from flowbus_shared.store import SqlEventStore


@pytest.fixture
def other() -> str:
    return f"other-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def tenants(store: SqlEventStore) -> Tenants:
    return Tenants(store.engine, keep_enabled="platform")


@pytest.fixture
def users(store: SqlEventStore) -> Users:
    return Users(store.engine)


@pytest.fixture
def keys(store: SqlEventStore) -> ApiKeys:
    return ApiKeys(store.engine)  # the default cache: revocations here must still hold at once


async def test_tenants_are_registered_listed_and_disabled_once(tenants: Tenants, tenant: str) -> None:
    created = await tenants.create(tenant, "Acme Ltd")
    assert (created.name, created.status) == ("Acme Ltd", "active")
    with pytest.raises(Conflict, match="exists already"):
        await tenants.create(tenant)
    with pytest.raises(ValueError, match="tenant id"):
        await tenants.create("no spaces please")
    assert await tenants.get(tenant) == created
    assert tenant in [t.tenant_id for t in await tenants.list()]
    disabled = await tenants.disable(tenant)
    assert disabled.status == "disabled"
    assert disabled.disabled_at is not None
    assert disabled.disabled_at.tzinfo is not None
    with pytest.raises(Conflict, match="disabled already"):
        await tenants.disable(tenant)
    with pytest.raises(NotFound):
        await tenants.disable(f"{tenant}-unknown")
    with pytest.raises(Forbidden, match="platform"):
        await tenants.disable("platform")


async def test_a_disabled_tenants_keys_stop_working_at_once(
    tenants: Tenants, users: Users, keys: ApiKeys, tenant: str, other: str
) -> None:
    await tenants.create(tenant)
    issued = await keys.create(tenant, "admin")
    neighbour = await keys.create(other, "admin")
    assert await keys.authenticate(issued.token) is not None  # now cached
    await tenants.disable(tenant)
    assert await keys.authenticate(issued.token) is None
    assert await keys.authenticate(neighbour.token) is not None
    with pytest.raises(Conflict, match="disabled"):
        await keys.create(tenant, "viewer")
    with pytest.raises(Conflict, match="disabled"):
        await users.create(tenant, email="ada@example.com", role="viewer")


async def test_keys_of_tenants_that_were_never_registered_keep_working(
    tenants: Tenants, keys: ApiKeys, tenant: str
) -> None:
    issued = await keys.create(tenant, "operator")  # as `flowbus apikeys create` did before tenants
    principal = await keys.authenticate(issued.token)
    assert principal is not None
    assert (principal.tenant_id, principal.role, principal.user_id) == (tenant, "operator", None)
    await tenants.create(tenant)  # registering it adopts the keys
    assert await keys.authenticate(issued.token) == principal


async def test_users_are_unique_per_tenant_by_id_and_email(users: Users, tenant: str, other: str) -> None:
    ada = await users.create(tenant, email="Ada@Example.com", role="operator", name="Ada")
    assert (ada.email, ada.role, ada.status, ada.user_id.startswith("u_")) == (
        "ada@example.com",
        "operator",
        "active",
        True,
    )
    with pytest.raises(Conflict):
        await users.create(tenant, email="ADA@example.com", role="viewer")
    await users.create(tenant, email="bob@example.com", role="viewer", user_id="bob")
    with pytest.raises(Conflict):
        await users.create(tenant, email="robert@example.com", role="viewer", user_id="bob")
    elsewhere = await users.create(other, email="ada@example.com", role="admin", user_id=ada.user_id)
    assert elsewhere.tenant_id == other
    assert [u.user_id for u in await users.list(tenant)] == [ada.user_id, "bob"]
    assert await users.get(other, "bob") is None
    with pytest.raises(ValueError, match="e-mail"):
        await users.create(tenant, email="not-an-address", role="viewer")
    with pytest.raises(ValueError, match="role"):
        await users.create(tenant, email="svc@example.com", role="service")  # type: ignore[arg-type]


async def test_a_users_key_is_never_stronger_than_the_user(
    users: Users, keys: ApiKeys, tenant: str, other: str
) -> None:
    viewer = await users.create(tenant, email="vic@example.com", role="viewer")
    with pytest.raises(Forbidden, match="the user is viewer"):
        await keys.create(tenant, "admin", user_id=viewer.user_id)
    with pytest.raises(Forbidden):
        await keys.create(tenant, "service", user_id=viewer.user_id)
    with pytest.raises(NotFound):
        await keys.create(other, "viewer", user_id=viewer.user_id)  # another tenant's user
    with pytest.raises(NotFound):
        await keys.create(tenant, "viewer", user_id="nobody")
    issued = await keys.create(tenant, "viewer", "laptop", user_id=viewer.user_id)
    principal = await keys.authenticate(issued.token)
    assert principal is not None
    assert (principal.user_id, principal.role) == (viewer.user_id, "viewer")
    assert [row["user_id"] for row in await keys.list(tenant, user_id=viewer.user_id)] == [viewer.user_id]


async def test_revoking_a_user_revokes_their_keys_and_nothing_else(
    users: Users, keys: ApiKeys, tenant: str, other: str
) -> None:
    ada = await users.create(tenant, email="ada@example.com", role="admin")
    first = await keys.create(tenant, "operator", user_id=ada.user_id)
    second = await keys.create(tenant, "viewer", user_id=ada.user_id)
    shared = await keys.create(tenant, "admin", "ci")
    assert await keys.authenticate(first.token) is not None  # cached before the revocation
    with pytest.raises(NotFound):
        await users.revoke(other, ada.user_id)
    revoked, count = await users.revoke(tenant, ada.user_id)
    assert (revoked.status, count) == ("revoked", 2)
    assert await keys.authenticate(first.token) is None
    assert await keys.authenticate(second.token) is None
    assert await keys.authenticate(shared.token) is not None
    with pytest.raises(Conflict, match="revoked already"):
        await users.revoke(tenant, ada.user_id)
    with pytest.raises(Conflict, match="revoked"):
        await keys.create(tenant, "viewer", user_id=ada.user_id)


async def test_a_key_of_a_revoked_user_is_refused_even_if_the_key_row_was_missed(
    users: Users, store: SqlEventStore, tenant: str
) -> None:
    """A key made while its user was being revoked (a race the transactions allow on
    PostgreSQL) is still refused: authentication looks at the user too."""
    keys = ApiKeys(store.engine, cache_seconds=0)
    ada = await users.create(tenant, email="ada@example.com", role="operator")
    issued = await keys.create(tenant, "operator", user_id=ada.user_id)
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE users SET revoked_at = CURRENT_TIMESTAMP WHERE tenant_id = :t AND user_id = :u"),
            {"t": tenant, "u": ada.user_id},
        )
    assert await keys.authenticate(issued.token) is None


async def test_revoking_a_key_through_another_instance_holds_at_once_in_this_process(
    keys: ApiKeys, store: SqlEventStore, tenant: str
) -> None:
    issued = await keys.create(tenant, "admin")
    assert await keys.authenticate(issued.token) is not None
    assert await ApiKeys(store.engine).revoke(tenant, issued.key_id)
    assert await keys.authenticate(issued.token) is None


async def test_a_key_is_read_only_within_its_tenant(keys: ApiKeys, tenant: str, other: str) -> None:
    issued = await keys.create(tenant, "viewer", "dashboards")
    row = await keys.get(tenant, issued.key_id)
    assert row is not None
    assert (row["name"], row["role"], "secret_sha256" in row) == ("dashboards", "viewer", False)
    assert await keys.get(other, issued.key_id) is None
