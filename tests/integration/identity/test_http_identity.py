"""The identity HTTP API as admins drive it: tenants (platform admins), users and API keys
(each tenant's admins), with tenant isolation (another tenant's things are 404s), no role
escalation (403), and revocations that hold at once (401)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.identity.conftest import IdentityApi

PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    return body


async def test_platform_admins_manage_tenants_and_other_admins_see_only_their_own(api: IdentityApi) -> None:
    async with (
        api.client("platform") as platform,
        api.client("acme") as acme,
        api.client("acme", "operator") as operator,
    ):
        created = await platform.post("/v1/tenants", json={"tenant_id": "initech", "name": "Initech"})
        assert created.status_code == 201, created.text
        assert (created.json()["name"], created.json()["status"]) == ("Initech", "active")
        assert (
            "exists already"
            in problem(await platform.post("/v1/tenants", json={"tenant_id": "initech"}), 409)["detail"]
        )
        problem(await platform.post("/v1/tenants", json={"tenant_id": "bad id"}), 422)
        refused = problem(await acme.post("/v1/tenants", json={"tenant_id": "mine"}), 403)
        assert "platform" in refused["detail"]
        everyone = [t["tenant_id"] for t in (await platform.get("/v1/tenants")).json()["data"]]
        assert everyone == ["acme", "globex", "initech", "platform"]
        assert [t["tenant_id"] for t in (await acme.get("/v1/tenants")).json()["data"]] == ["acme"]
        assert (await acme.get("/v1/tenants/acme")).json()["tenant_id"] == "acme"
        problem(await acme.get("/v1/tenants/globex"), 404)
        assert (await platform.get("/v1/tenants/globex")).status_code == 200
        problem(await acme.post("/v1/tenants/globex/disable"), 403)
        problem(await operator.get("/v1/tenants"), 403)


async def test_disabling_a_tenant_stops_its_keys_at_once(api: IdentityApi) -> None:
    async with api.client("platform") as platform, api.client("acme") as acme, api.client("globex") as globex:
        assert (await acme.get("/v1/users")).status_code == 200  # the key is cached now
        disabled = await platform.post("/v1/tenants/acme/disable")
        assert disabled.json()["status"] == "disabled"
        assert disabled.json()["disabled_at"] is not None
        problem(await acme.get("/v1/users"), 401)
        assert (await globex.get("/v1/users")).status_code == 200
        problem(await platform.post("/v1/tenants/acme/disable"), 409)
        problem(await platform.post("/v1/tenants/nowhere/disable"), 404)
        assert (
            "cannot be disabled"
            in problem(await platform.post("/v1/tenants/platform/disable"), 403)["detail"]
        )


async def test_users_belong_to_their_tenant(api: IdentityApi) -> None:
    async with api.client("acme") as acme, api.client("globex") as globex:
        created = await acme.post(
            "/v1/users", json={"email": "Ada@Example.com", "name": "Ada", "role": "operator"}
        )
        assert created.status_code == 201, created.text
        ada = created.json()
        assert (ada["email"], ada["role"], ada["status"]) == ("ada@example.com", "operator", "active")
        problem(await acme.post("/v1/users", json={"email": "ada@example.com", "role": "viewer"}), 409)
        same_address = await globex.post("/v1/users", json={"email": "ada@example.com", "role": "viewer"})
        assert same_address.status_code == 201  # unique per tenant only
        assert [u["user_id"] for u in (await acme.get("/v1/users")).json()["data"]] == [ada["user_id"]]
        assert (await acme.get(f"/v1/users/{ada['user_id']}")).json()["email"] == "ada@example.com"
        problem(await globex.get(f"/v1/users/{ada['user_id']}"), 404)
        problem(await globex.delete(f"/v1/users/{ada['user_id']}"), 404)
        assert ada["user_id"] not in [u["user_id"] for u in (await globex.get("/v1/users")).json()["data"]]
        assert (await acme.get(f"/v1/users/{ada['user_id']}")).json()["status"] == "active"
        bad = problem(await acme.post("/v1/users", json={"email": "nope", "role": "viewer"}), 422)
        assert bad["faults"][0]["field"] == "email"
        problem(await acme.post("/v1/users", json={"email": "s@example.com", "role": "service"}), 422)


async def test_api_keys_are_shown_once_listed_without_secrets_and_scoped(api: IdentityApi) -> None:
    async with api.client("acme") as acme, api.client("globex") as globex:
        created = await acme.post("/v1/api-keys", json={"name": "ci", "role": "admin"})
        assert created.status_code == 201, created.text
        issued = created.json()
        token, key_id = issued["token"], issued["key_id"]
        assert token.startswith(f"fbk_{key_id}_")
        listed = await acme.get("/v1/api-keys")
        assert key_id in [k["key_id"] for k in listed.json()["data"]]
        assert token.split("_", 2)[2] not in listed.text
        assert all("token" not in k and "secret_sha256" not in k for k in listed.json()["data"])
        assert key_id not in (await globex.get("/v1/api-keys")).text
        problem(await globex.get(f"/v1/api-keys/{key_id}"), 404)
        problem(await globex.delete(f"/v1/api-keys/{key_id}"), 404)
        async with api.bearer(token) as new_key:
            assert (await new_key.get("/v1/users")).status_code == 200
            revoked = await acme.delete(f"/v1/api-keys/{key_id}")
            assert revoked.json()["status"] == "revoked"
            refused = problem(await new_key.get("/v1/users"), 401)  # at once, despite the cache
            assert token not in refused["detail"]
        problem(await acme.delete(f"/v1/api-keys/{key_id}"), 409)


async def test_no_role_escalation(api: IdentityApi) -> None:
    async with api.client("acme") as acme, api.client("acme", "operator") as operator:
        problem(await operator.post("/v1/api-keys", json={"role": "admin"}), 403)
        problem(await operator.post("/v1/api-keys", json={"role": "operator"}), 403)  # admins make keys
        problem(await operator.post("/v1/users", json={"email": "x@example.com", "role": "admin"}), 403)
        problem(await operator.get("/v1/api-keys"), 403)
        service = problem(await acme.post("/v1/api-keys", json={"role": "service"}), 422)
        assert service["faults"][0]["field"] == "role"
        vic = (await acme.post("/v1/users", json={"email": "vic@example.com", "role": "viewer"})).json()
        stronger = problem(
            await acme.post("/v1/api-keys", json={"role": "admin", "user_id": vic["user_id"]}), 403
        )
        assert "the user is viewer" in stronger["detail"]
        problem(await acme.post("/v1/api-keys", json={"role": "viewer", "user_id": "nobody"}), 404)
    async with api.client("acme", "service") as service_key:
        assert "service key" in problem(await service_key.get("/v1/users"), 403)["detail"]
        headers = {"x-flowbus-tenant": "platform"}
        problem(await service_key.post("/v1/tenants", json={"tenant_id": "x"}, headers=headers), 403)


async def test_revoking_a_user_revokes_their_keys_at_once(api: IdentityApi) -> None:
    async with api.client("acme") as acme:
        ada = (await acme.post("/v1/users", json={"email": "ada@example.com", "role": "admin"})).json()
        made = await acme.post(
            "/v1/api-keys", json={"name": "laptop", "role": "admin", "user_id": ada["user_id"]}
        )
        assert made.json()["user_id"] == ada["user_id"]
        mine = (await acme.get("/v1/api-keys", params={"user_id": ada["user_id"]})).json()["data"]
        assert [k["key_id"] for k in mine] == [made.json()["key_id"]]
        async with api.bearer(made.json()["token"]) as ada_key:
            assert (await ada_key.get("/v1/users")).status_code == 200
            revoked = await acme.delete(f"/v1/users/{ada['user_id']}")
            assert (revoked.json()["status"], revoked.json()["revoked_keys"]) == ("revoked", 1)
            problem(await ada_key.get("/v1/users"), 401)
        problem(await acme.delete(f"/v1/users/{ada['user_id']}"), 409)
        problem(await acme.post("/v1/api-keys", json={"role": "viewer", "user_id": ada["user_id"]}), 409)
        assert (await acme.get("/v1/users")).status_code == 200  # the tenant's own key still works


async def test_no_credential_or_a_bad_one_is_401(api: IdentityApi) -> None:
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        problem(await anonymous.get("/v1/users"), 401)
    async with api.bearer("fbk_nope_nothing") as wrong:
        problem(await wrong.get("/v1/api-keys"), 401)


async def test_the_openapi_document_describes_every_body(api: IdentityApi) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert {
        "TenantIn",
        "TenantOut",
        "UserIn",
        "UserOut",
        "UserRevoked",
        "ApiKeyIn",
        "IssuedApiKey",
        "Problem",
    } <= set(schemas)
    assert schemas["ApiKeyIn"]["properties"]["role"]["enum"] == ["admin", "operator", "viewer"]
    create_key = document["paths"]["/v1/api-keys"]["post"]["responses"]
    assert create_key["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/IssuedApiKey")
    assert {"401", "403", "404", "409"} <= set(create_key)
    paths = set(document["paths"])
    assert {"/v1/tenants/{tenant_id}/disable", "/v1/users/{user_id}", "/v1/api-keys/{key_id}"} <= paths
