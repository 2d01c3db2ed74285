"""Workflows over HTTP: registration as YAML and JSON, versions, faults, listing, tenants."""

from __future__ import annotations

from typing import Any

import yaml

from flowbus_orchestrator.predefined import predefined_workflows
from flowbus_shared.settings import FlowbusSettings
from tests.integration.orchestrator_http.harness import api_system
from tests.support.system import TestSteps

YAML = {"content-type": "application/yaml"}


def greeter(workflow_id: str, greeting: str = "hello", triggers: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Greeter",
        "triggers": triggers or [],
        "start_step_id": "greet",
        "steps": {
            "greet": {
                "type": "data_transformation",
                "config": {"output": {"said": f"{greeting} {{{{input.name}}}}"}},
            }
        },
    }


async def test_yaml_and_json_registration_with_versions(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async with api_system(sqlite_settings, TestSteps(), [], prefix=topic_prefix) as api:
        first = await api["admin"].post(
            "/v1/workflows", content=yaml.safe_dump(greeter("greeter")), headers=YAML
        )
        assert first.status_code == 201, first.text
        body = first.json()
        assert (body["workflow_id"], body["version"], body["builtin"], body["step_count"]) == (
            "greeter",
            1,
            False,
            1,
        )
        assert body["complexity"] == {"score": 1, "steps": 1, "by_queue": {"executor": 1}}
        assert body["created_at"].endswith("+00:00")

        same = await api["admin"].post("/v1/workflows", json=greeter("greeter"))  # as JSON: nothing new
        assert (same.status_code, same.json()["version"]) == (200, 1)

        changed = await api["admin"].post(
            "/v1/workflows",
            content=yaml.safe_dump(greeter("greeter", "hi")),
            headers={"content-type": "text/yaml"},
        )
        assert (changed.status_code, changed.json()["version"]) == (201, 2)

        latest = (await api["viewer"].get("/v1/workflows/greeter")).json()
        assert latest["version"] == 2
        assert latest["versions"] == [1, 2]
        assert latest["definition"]["steps"]["greet"]["config"]["output"]["said"] == "hi {{input.name}}"
        old = (await api["viewer"].get("/v1/workflows/greeter", params={"version": 1})).json()
        assert old["definition"]["steps"]["greet"]["config"]["output"]["said"] == "hello {{input.name}}"
        missing = await api["viewer"].get("/v1/workflows/greeter", params={"version": 3})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


async def test_the_list_pages_through_own_and_builtin_workflows(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async with api_system(sqlite_settings, TestSteps(), [], prefix=topic_prefix) as api:
        for name in ("w1", "w2", "w3"):
            await api.register(greeter(name))
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await api["viewer"].get("/v1/workflows", params=params)).json()
            assert len(page["workflows"]) <= 2
            seen += page["workflows"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        ids = [w["workflow_id"] for w in seen]
        builtins = sorted(w.id for w in predefined_workflows())
        assert ids == sorted([*builtins, "w1", "w2", "w3"])
        assert {w["workflow_id"] for w in seen if w["builtin"]} == set(builtins)
        # Tenant B sees the built-ins only.
        other = (await api["b_admin"].get("/v1/workflows", params={"limit": 500})).json()
        assert [w["workflow_id"] for w in other["workflows"]] == builtins
        bad = await api["viewer"].get("/v1/workflows", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422


async def test_invalid_definitions_are_refused_with_every_fault(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    broken = {
        "id": "broken",
        "name": "Broken",
        "start_step_id": "a",
        "steps": [
            {"id": "a", "type": "data_transformation", "next_steps": ["nowhere"]},
            {"id": "b", "type": "no_such_type"},
        ],
    }
    async with api_system(sqlite_settings, TestSteps(), [], prefix=topic_prefix) as api:
        refused = await api["admin"].post("/v1/workflows", content=yaml.safe_dump(broken), headers=YAML)
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        faults = {(f["field"], f["reason"]) for f in refused.json()["faults"]}
        assert ("steps.a.next_steps[0]", "no step 'nowhere'") in faults
        assert ("steps.b.type", "unknown step type 'no_such_type'") in faults
        assert (await api["viewer"].get("/v1/workflows/broken")).status_code == 404

        checked = (await api["viewer"].post("/v1/workflows/validate", json=broken)).json()
        assert checked["valid"] is False
        assert {(f["field"], f["reason"]) for f in checked["faults"]} == faults
        assert checked["complexity"] is None
        fine = (await api["viewer"].post("/v1/workflows/validate", json=greeter("fine"))).json()
        assert fine == {
            "valid": True,
            "faults": [],
            "complexity": {"score": 1, "steps": 1, "by_queue": {"executor": 1}},
        }
        assert (await api["viewer"].get("/v1/workflows/fine")).status_code == 404  # validating stores nothing

        not_yaml = await api["admin"].post("/v1/workflows", content=b"id: [unclosed", headers=YAML)
        assert not_yaml.status_code == 422
        assert not_yaml.json()["faults"][0]["field"] == "body"
        aliases = "a: &x [1, 2]\nb: *x\n"
        refused_alias = await api["admin"].post("/v1/workflows", content=aliases, headers=YAML)
        assert refused_alias.status_code == 422
        assert "aliases" in refused_alias.json()["faults"][0]["reason"]
        wrong_type = await api["admin"].post(
            "/v1/workflows", content=b"<xml/>", headers={"content-type": "text/xml"}
        )
        assert wrong_type.status_code == 415
        huge = await api["admin"].post("/v1/workflows", content=b"x" * (2 * 1024 * 1024), headers=YAML)
        assert huge.status_code == 413


async def test_roles_and_authentication(sqlite_settings: FlowbusSettings, topic_prefix: str) -> None:
    async with api_system(sqlite_settings, TestSteps(), [], prefix=topic_prefix) as api:
        assert (await api["anonymous"].get("/v1/workflows")).status_code == 401
        spec = (await api["anonymous"].get("/openapi.json")).json()
        assert "/v1/executions/{execution_id}/steps/{step_id}/approve" in spec["paths"]
        assert "application/yaml" in spec["paths"]["/v1/workflows"]["post"]["requestBody"]["content"]
        assert (await api["viewer"].post("/v1/workflows", json=greeter("g"))).status_code == 403
        assert (await api["operator"].post("/v1/workflows", json=greeter("g"))).status_code == 403
        await api.register(greeter("g"))
        refused = await api["viewer"].post(
            "/v1/executions", json={"workflow_id": "g", "input": {"name": "x"}}
        )
        assert refused.status_code == 403
        assert "operator" in refused.json()["detail"]


async def test_a_tenants_workflow_is_its_own_and_shadows_a_builtin_for_it_only(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async with api_system(sqlite_settings, TestSteps(), ["data_transformation"], prefix=topic_prefix) as api:
        await api.register(greeter("private"))
        assert (await api["b_admin"].get("/v1/workflows/private")).status_code == 404
        unknown = await api["b_admin"].post("/v1/executions", json={"workflow_id": "private"})
        assert unknown.status_code == 404

        # A built-in (what flowbus registers for everyone), then tenant B's own of the same id.
        await api.system.register(greeter("shared", "builtin", triggers=["ping"]))
        mine = await api.register(greeter("shared", "tenant-b", triggers=["pong"]), who="b_admin")
        assert (mine["builtin"], mine["version"]) == (False, 1)
        seen_by_a = (await api["viewer"].get("/v1/workflows/shared")).json()
        assert seen_by_a["builtin"] is True
        seen_by_b = (await api["b_admin"].get("/v1/workflows/shared")).json()
        assert (seen_by_b["builtin"], seen_by_b["triggers"]) == (False, ["pong"])

        for who, expected in (("admin", "builtin x"), ("b_admin", "tenant-b x")):
            started = await api[who].post(
                "/v1/executions", params={"wait": 30}, json={"workflow_id": "shared", "input": {"name": "x"}}
            )
            assert started.status_code == 200, started.text
            assert started.json()["output"]["greet"]["said"] == expected

        # Triggers: A's "ping" starts the built-in; B's does not (B shadows it), B's "pong" does.
        async def started_by(who: str, event_type: str) -> list[str]:
            response = await api[who].post(
                "/v1/triggers", json={"event_type": event_type, "payload": {"name": "t"}}
            )
            assert response.status_code == 202, response.text
            return list(response.json()["execution_ids"])

        assert len(await started_by("admin", "ping")) == 1
        assert await started_by("b_admin", "ping") == []
        [pong] = await started_by("b_admin", "pong")
        done = await api.wait_status(pong, "completed", who="b_admin")
        assert done["output"]["greet"]["said"] == "tenant-b t"
        assert (await api["viewer"].get(f"/v1/executions/{pong}")).status_code == 404
