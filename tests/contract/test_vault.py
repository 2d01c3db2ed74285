"""The connection vault on every database: sealed at rest, bound to its row, rotatable,
and never showing a secret outside the executor that uses it."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from flowbus_shared.store import SqlEventStore
from flowbus_shared.vault import ConnectionVault, VaultError, connections

OLD = "old:" + base64.b64encode(b"o" * 32).decode()
NEW = "new:" + base64.b64encode(b"n" * 32).decode()
SECRETS = {"token": "xoxb-very-secret-token", "workspace": "T123"}


async def test_secrets_are_sealed_at_rest_and_open_again(store: SqlEventStore, tenant: str) -> None:
    vault = ConnectionVault(store.engine, OLD)
    fingerprint = await vault.put(tenant, "slack", "slack", SECRETS)
    async with store.engine.connect() as conn:
        row = (await conn.execute(sa.select(connections).where(connections.c.tenant_id == tenant))).one()
    assert b"xoxb" not in bytes(row.ciphertext)
    connection = await vault.get(tenant, "slack")
    assert connection.secrets == SECRETS
    assert "xoxb" not in repr(connection)
    listed = await vault.list(tenant)
    assert listed == [{"name": "slack", "service": "slack", "fingerprint": fingerprint, "key_id": "old"}]
    assert "xoxb" not in str(listed)


async def test_tenants_do_not_see_each_others_connections(store: SqlEventStore, tenant: str) -> None:
    vault = ConnectionVault(store.engine, OLD)
    await vault.put(tenant, "crm", "hubspot", {"access_token": "a"})
    with pytest.raises(VaultError, match="no connection 'crm' for tenant 'globex'"):
        await vault.get("globex", "crm")


async def test_a_ciphertext_moved_to_another_row_does_not_open(store: SqlEventStore, tenant: str) -> None:
    vault = ConnectionVault(store.engine, OLD)
    await vault.put(tenant, "one", "slack", SECRETS)
    await vault.put(tenant, "two", "slack", {"token": "other"})
    async with store.engine.begin() as conn:
        one = (await conn.execute(sa.select(connections).where(connections.c.name == "one"))).one()
        await conn.execute(
            connections.update()
            .where(connections.c.name == "two")
            .values(nonce=one.nonce, ciphertext=one.ciphertext)
        )
    with pytest.raises(VaultError, match="does not open"):
        await vault.get(tenant, "two")
    report = await ConnectionVault(store.engine, f"{NEW},{OLD}").rotate()
    assert f"{tenant}/two" in report.unreadable  # reported, and the others still rotate
    assert (await ConnectionVault(store.engine, NEW).get(tenant, "one")).secrets == SECRETS


async def test_rotation_reseals_with_the_new_key_and_the_old_one_can_go(
    store: SqlEventStore, tenant: str
) -> None:
    await ConnectionVault(store.engine, OLD).put(tenant, "slack", "slack", SECRETS)
    rotating = ConnectionVault(store.engine, f"{NEW},{OLD}")
    first = await rotating.rotate()
    assert first.resealed >= 1  # (the session database may hold other tests' rows)
    assert (await rotating.rotate()).resealed == 0
    only_new = ConnectionVault(store.engine, NEW)
    assert (await only_new.get(tenant, "slack")).secrets == SECRETS
    with pytest.raises(VaultError, match="sealed with key 'new', which is not configured"):
        await ConnectionVault(store.engine, OLD).get(tenant, "slack")


async def test_without_a_master_key_nothing_is_stored(store: SqlEventStore, tenant: str) -> None:
    with pytest.raises(VaultError, match="FLOWBUS_MASTER_KEYS"):
        await ConnectionVault(store.engine, None).put(tenant, "x", "slack", SECRETS)
    with pytest.raises(VaultError, match="32 bytes"):
        ConnectionVault(store.engine, "short:" + base64.b64encode(b"abc").decode())
