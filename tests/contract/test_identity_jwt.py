"""JWT verification on both database backends: the token's claims make the principal, unless
its tenant is disabled or its subject is a revoked user; a user's token is never stronger
than the user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowbus_shared.auth import JwtVerifier, PersonRole, Principal, issue_token
from flowbus_shared.identity import Tenants, Users
from flowbus_shared.store import SqlEventStore

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


@pytest.fixture
def verifier(store: SqlEventStore) -> JwtVerifier:
    return JwtVerifier(store.engine, SECRET, audience="flowbus", issuer="https://idp.test")


def token(tenant: str, subject: str, role: PersonRole, **overrides: object) -> str:
    options: dict[str, object] = {"audience": "flowbus", "issuer": "https://idp.test", "ttl_seconds": 60}
    options.update(overrides)
    return issue_token(SECRET, subject=subject, tenant_id=tenant, role=role, **options)  # type: ignore[arg-type]


async def test_a_subject_that_is_not_a_user_gets_the_tokens_role(verifier: JwtVerifier, tenant: str) -> None:
    principal = await verifier.verify(token(tenant, "someone@idp", "operator"))
    assert principal == Principal(tenant, "operator", "jwt:someone@idp", None)


async def test_a_users_token_stands_for_the_user_and_is_capped_by_their_role(
    verifier: JwtVerifier, store: SqlEventStore, tenant: str
) -> None:
    users = Users(store.engine)
    await users.create(tenant, email="vic@example.com", role="viewer", user_id="vic")
    await users.create(tenant, email="ada@example.com", role="admin", user_id="ada")
    assert await verifier.verify(token(tenant, "vic", "admin")) == Principal(
        tenant, "viewer", "jwt:vic", "vic"
    )
    assert await verifier.verify(token(tenant, "ada", "operator")) == Principal(
        tenant, "operator", "jwt:ada", "ada"
    )


async def test_a_revoked_users_token_is_refused_at_once(
    verifier: JwtVerifier, store: SqlEventStore, tenant: str
) -> None:
    users = Users(store.engine)
    await users.create(tenant, email="ada@example.com", role="admin", user_id="ada")
    issued = token(tenant, "ada", "admin")
    assert await verifier.verify(issued) is not None  # its standing is cached now
    await users.revoke(tenant, "ada")
    assert await verifier.verify(issued) is None
    assert await verifier.verify(token(f"{tenant}-b", "ada", "admin")) is not None  # another tenant's "ada"


async def test_a_disabled_tenants_tokens_are_refused(
    verifier: JwtVerifier, store: SqlEventStore, tenant: str
) -> None:
    await Tenants(store.engine).create(tenant)
    issued = token(tenant, "someone", "viewer")
    assert await verifier.verify(issued) is not None
    await Tenants(store.engine).disable(tenant)
    assert await verifier.verify(issued) is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"ttl_seconds": 60, "now": datetime.now(UTC) - timedelta(minutes=5)},
        {"audience": "elsewhere"},
        {"issuer": "https://evil.test"},
        {"issuer": None},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "no-issuer"],
)
async def test_tokens_with_wrong_claims_are_refused(
    verifier: JwtVerifier, tenant: str, overrides: dict[str, object]
) -> None:
    assert await verifier.verify(token(tenant, "someone", "admin", **overrides)) is None


async def test_an_api_key_or_garbage_is_not_a_jwt(verifier: JwtVerifier) -> None:
    assert await verifier.verify("fbk_abc_def") is None
    assert await verifier.verify("") is None
    assert SECRET not in repr(verifier)


def test_a_short_secret_is_refused(store: SqlEventStore) -> None:
    with pytest.raises(ValueError, match="at least 32"):
        JwtVerifier(store.engine, "short")
