"""Bearer JWTs at the identity API: a good token acts with its claims; expired, wrong audience,
`alg: none`, unknown roles, revoked users and disabled tenants are 401; a user's token is
never stronger than the user (403)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.integration.identity.conftest import JWT_SECRET, IdentityApi


def alg_none(tenant: str, role: str) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    exp = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    claims = {"sub": "mallory", "tenant": tenant, "role": role, "aud": "flowbus", "exp": exp}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def test_a_good_token_acts_for_its_tenant_with_its_role(api: IdentityApi) -> None:
    async with api.bearer(api.jwt("acme", "someone@idp", "admin")) as admin:
        listed = await admin.get("/v1/users")
        assert listed.status_code == 200, listed.text
        created = await admin.post("/v1/users", json={"email": "bob@example.com", "role": "viewer"})
        assert created.status_code == 201
        assert (await admin.get(f"/v1/users/{created.json()['user_id']}")).status_code == 200
    async with api.bearer(api.jwt("globex", "someone@idp", "admin")) as other:
        assert (await other.get(f"/v1/users/{created.json()['user_id']}")).status_code == 404
    async with api.bearer(api.jwt("acme", "someone@idp", "operator")) as operator:
        assert (await operator.get("/v1/users")).status_code == 403


def signed(claims: dict[str, object], secret: str = JWT_SECRET) -> str:
    exp = datetime.now(UTC) + timedelta(minutes=5)
    base: dict[str, object] = {"sub": "a", "tenant": "acme", "role": "admin", "aud": "flowbus", "exp": exp}
    return jwt.encode(base | claims, secret, algorithm="HS256")


def bad_token(api: IdentityApi, kind: str) -> str:
    if kind == "expired":
        return api.jwt("acme", "a", "admin", now=datetime.now(UTC) - timedelta(hours=1))
    if kind == "wrong-audience":
        return api.jwt("acme", "a", "admin", audience="another-service")
    if kind == "alg-none":
        return alg_none("acme", "admin")
    if kind == "unknown-role":
        return signed({"role": "root"})
    if kind == "service-role":
        return signed({"role": "service"})
    assert kind == "wrong-secret"
    return signed({}, secret="another-secret-that-is-long-enough-too")


@pytest.mark.parametrize(
    "kind", ["expired", "wrong-audience", "alg-none", "unknown-role", "service-role", "wrong-secret"]
)
async def test_bad_tokens_are_401(api: IdentityApi, kind: str) -> None:
    token = bad_token(api, kind)
    async with api.bearer(token) as client:
        refused = await client.get("/v1/users")
    assert refused.status_code == 401
    assert token not in refused.text


async def test_a_revoked_users_tokens_stop_at_once_and_users_are_capped(api: IdentityApi) -> None:
    async with api.client("acme") as acme:
        ada = (await acme.post("/v1/users", json={"email": "ada@example.com", "role": "admin"})).json()
        vic = (await acme.post("/v1/users", json={"email": "vic@example.com", "role": "viewer"})).json()
        async with api.bearer(api.jwt("acme", vic["user_id"], "admin")) as vic_as_admin:
            assert (await vic_as_admin.get("/v1/users")).status_code == 403  # only a viewer
        async with api.bearer(api.jwt("acme", ada["user_id"], "admin")) as ada_token:
            assert (await ada_token.get("/v1/users")).status_code == 200
            assert (await acme.delete(f"/v1/users/{ada['user_id']}")).status_code == 200
            assert (await ada_token.get("/v1/users")).status_code == 401


async def test_a_disabled_tenants_tokens_are_401(api: IdentityApi) -> None:
    async with api.bearer(api.jwt("globex", "someone", "admin")) as token, api.client("platform") as platform:
        assert (await token.get("/v1/users")).status_code == 200
        assert (await platform.post("/v1/tenants/globex/disable")).status_code == 200
        assert (await token.get("/v1/users")).status_code == 401
