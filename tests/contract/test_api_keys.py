"""API keys on both database backends: shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import hashlib
import uuid

import pytest
import sqlalchemy as sa

from flowbus_shared.auth import ApiKeys, role_allows
from flowbus_shared.store import SqlEventStore


@pytest.fixture
def acme() -> str:
    return f"acme-{uuid.uuid4().hex[:8]}"  # the PostgreSQL database is shared by the session


@pytest.fixture
def keys(store: SqlEventStore) -> ApiKeys:
    return ApiKeys(store.engine, cache_seconds=0)


async def test_a_key_authenticates_as_its_tenant_and_role(keys: ApiKeys, acme: str) -> None:
    issued = await keys.create(acme, "operator", "ci")
    principal = await keys.authenticate(issued.token)
    assert principal is not None
    assert (principal.tenant_id, principal.role, principal.key_id) == (acme, "operator", issued.key_id)
    assert issued.token not in repr(issued)


async def test_only_a_hash_of_the_secret_is_stored(keys: ApiKeys, store: SqlEventStore, acme: str) -> None:
    issued = await keys.create(acme, "admin")
    secret = issued.token.split("_", 2)[2]
    async with store.engine.connect() as conn:
        query = sa.text("SELECT * FROM api_keys WHERE key_id = :id").bindparams(id=issued.key_id)
        stored = (await conn.execute(query)).mappings().one()
    assert secret not in str(dict(stored))
    assert stored["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert "secret_sha256" not in (await keys.list(acme))[0]


@pytest.mark.parametrize("token", ["", "fbk_", "fbk_abc", "sk-123", "fbk_unknown_secret"])
async def test_malformed_or_unknown_tokens_are_refused(keys: ApiKeys, acme: str, token: str) -> None:
    await keys.create(acme, "admin")
    assert await keys.authenticate(token) is None


async def test_a_wrong_secret_for_a_real_key_id_is_refused(keys: ApiKeys, acme: str) -> None:
    issued = await keys.create(acme, "admin")
    assert await keys.authenticate(f"fbk_{issued.key_id}_not-the-secret") is None


async def test_revocation_is_per_tenant(keys: ApiKeys, acme: str) -> None:
    issued = await keys.create(acme, "viewer")
    assert not await keys.revoke("globex", issued.key_id)  # another tenant cannot revoke it
    assert await keys.authenticate(issued.token) is not None
    assert await keys.revoke(acme, issued.key_id)
    assert await keys.authenticate(issued.token) is None
    assert not await keys.revoke(acme, issued.key_id)


async def test_unknown_roles_are_refused(keys: ApiKeys, acme: str) -> None:
    with pytest.raises(ValueError, match="role"):
        await keys.create(acme, "root")  # type: ignore[arg-type]


def test_role_order() -> None:
    assert role_allows("admin", "operator")
    assert role_allows("operator", "viewer")
    assert not role_allows("viewer", "operator")
    assert not role_allows("operator", "admin")
    assert not role_allows("intruder", "viewer")
