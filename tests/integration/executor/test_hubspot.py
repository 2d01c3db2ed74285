"""hubspot_integration against a loopback double of HubSpot CRM v3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowbus_executor.executors.crm import handlers
from flowbus_shared.step_worker import run_step
from tests.integration.executor.crm_doubles import (
    HUBSPOT_TOKEN,
    FakeHubSpot,
    Rig,
    header,
    hubspot_error,
)
from tests.support.executor_deps import TENANT, executor_deps, step_request
from tests.support.http_double import Recorded, http_double


async def test_hubspot_create_posts_properties_with_the_private_app_token(hubspot: Rig) -> None:
    output = await hubspot.run(
        "hubspot_integration", {"action": "create", "properties": {"email": "ada@example.com"}}
    )

    sent = hubspot.double.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/crm/v3/objects/contacts")
    assert sent.body == {"properties": {"email": "ada@example.com"}}
    assert header(sent, "Authorization") == f"Bearer {HUBSPOT_TOKEN}"
    assert header(sent, "Idempotency-Key") == "exec-1:step:1"
    assert output == {
        "id": "101",
        "properties": {"email": "ada@example.com", "hs_object_id": "101"},
        "created_at": "2024-05-01T10:00:00.000Z",
        "updated_at": "2024-05-01T10:00:00.000Z",
    }


async def test_hubspot_update_patches_and_get_reads_the_named_properties(
    hubspot: Rig, hubspot_fake: FakeHubSpot
) -> None:
    deal = hubspot_fake.add("deals", {"dealname": "Big one", "amount": "100", "dealstage": "new"})

    updated = await hubspot.run(
        "hubspot_integration",
        {"object": "deals", "action": "update", "id": deal, "properties": {"amount": "250"}},
    )
    read = await hubspot.run(
        "hubspot_integration",
        {"object": "deals", "action": "get", "id": deal, "properties": ["amount", "dealname"]},
    )

    patch, get = hubspot.double.requests
    assert (patch.method, patch.path, patch.body) == (
        "PATCH",
        f"/crm/v3/objects/deals/{deal}",
        {"properties": {"amount": "250"}},
    )
    assert (get.method, get.path) == ("GET", f"/crm/v3/objects/deals/{deal}?properties=amount%2Cdealname")
    assert updated["updated_at"] == "2024-05-02T10:00:00.000Z"
    assert read == {
        "id": deal,
        "properties": {"amount": "250", "dealname": "Big one"},
        "created_at": "2024-05-01T10:00:00.000Z",
        "updated_at": "2024-05-02T10:00:00.000Z",
    }


async def test_hubspot_search_follows_paging_next_after(hubspot: Rig, hubspot_fake: FakeHubSpot) -> None:
    ids = [hubspot_fake.add("companies", {"name": f"Co {n}", "industry": "TECH"}) for n in range(3)]
    hubspot_fake.add("companies", {"name": "Other", "industry": "FOOD"})
    config = {
        "object": "companies",
        "action": "search",
        "filters": [{"propertyName": "industry", "operator": "EQ", "value": "TECH"}],
        "sorts": [{"propertyName": "name", "direction": "ASCENDING"}],
        "properties": ["name"],
        "limit": 2,
    }

    output = await hubspot.run("hubspot_integration", config)

    first, second = hubspot.double.requests
    assert first.path == second.path == "/crm/v3/objects/companies/search"
    assert first.body == {
        "filterGroups": [{"filters": config["filters"]}],
        "limit": 2,
        "sorts": config["sorts"],
        "properties": ["name"],
    }
    assert second.body == {**first.body, "after": "2"}
    assert [found["id"] for found in output["results"]] == ids
    assert (output["total"], output["count"], output["next_after"]) == (3, 3, None)


async def test_hubspot_search_stops_at_max_pages_and_hands_on_the_cursor(
    hubspot: Rig, hubspot_fake: FakeHubSpot
) -> None:
    for n in range(5):
        hubspot_fake.add("tickets", {"subject": f"T{n}"})

    output = await hubspot.run(
        "hubspot_integration", {"object": "tickets", "action": "search", "limit": 2, "max_pages": 1}
    )

    assert len(hubspot.double.requests) == 1
    assert (output["count"], output["total"], output["next_after"]) == (2, 5, "2")


async def test_hubspot_upsert_updates_the_match(hubspot: Rig, hubspot_fake: FakeHubSpot) -> None:
    existing = hubspot_fake.add("contacts", {"email": "ada@example.com", "firstname": "A"})

    output = await hubspot.run(
        "hubspot_integration",
        {
            "action": "upsert",
            "id_property": "email",
            "properties": {"email": "ada@example.com", "firstname": "Ada"},
        },
    )

    search, patch = hubspot.double.requests
    assert search.body["filterGroups"] == [
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": "ada@example.com"}]}
    ]
    assert (patch.method, patch.path) == ("PATCH", f"/crm/v3/objects/contacts/{existing}")
    assert output["id"] == existing
    assert output["created"] is False
    assert output["properties"]["firstname"] == "Ada"


async def test_hubspot_upsert_creates_when_nothing_matches(hubspot: Rig) -> None:
    output = await hubspot.run(
        "hubspot_integration",
        {
            "action": "upsert",
            "id_property": "email",
            "id_value": "bo@example.com",
            "properties": {"firstname": "Bo"},
        },
    )

    search, post = hubspot.double.requests
    assert search.path.endswith("/search")
    assert (post.method, post.body) == (
        "POST",
        {"properties": {"email": "bo@example.com", "firstname": "Bo"}},
    )
    assert output["created"] is True
    assert output["properties"]["email"] == "bo@example.com"


async def test_hubspot_upsert_updates_a_contact_the_search_index_does_not_show_yet(
    hubspot: Rig, hubspot_fake: FakeHubSpot
) -> None:
    existing = hubspot_fake.add("contacts", {"email": "cy@example.com"}, indexed=False)

    output = await hubspot.run(
        "hubspot_integration",
        {
            "action": "upsert",
            "id_property": "email",
            "properties": {"email": "cy@example.com", "city": "Oslo"},
        },
    )

    assert [sent.method for sent in hubspot.double.requests] == ["POST", "POST", "PATCH"]
    assert (output["id"], output["created"]) == (existing, False)


async def test_hubspot_validation_error_is_permanent_with_message_and_category(hubspot: Rig) -> None:
    failure = await hubspot.fail(
        "hubspot_integration", {"action": "create", "properties": {"email": "not-an-email"}}
    )

    assert (failure.error_type, failure.retryable) == ("bad_request", False)
    assert "VALIDATION_ERROR" in failure.message
    assert "Email address not-an-email is invalid" in failure.message


async def test_hubspot_existing_contact_is_a_permanent_conflict(
    hubspot: Rig, hubspot_fake: FakeHubSpot
) -> None:
    existing = hubspot_fake.add("contacts", {"email": "ada@example.com"})

    failure = await hubspot.fail(
        "hubspot_integration", {"action": "create", "properties": {"email": "ada@example.com"}}
    )

    assert (failure.error_type, failure.retryable) == ("conflict", False)
    assert f"Existing ID: {existing}" in failure.message


async def test_hubspot_rate_limit_is_retryable_after_the_given_delay(tmp_path: Path) -> None:
    body = {"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT"}
    with http_double(lambda _recorded: (429, body, {"Retry-After": "7"})) as double:
        async with executor_deps(tmp_path / "x.db", hubspot_api_url=double.url) as deps:
            await deps.vault.put(TENANT, "hubspot", "hubspot", {"access_token": HUBSPOT_TOKEN})
            failure = await Rig(deps, double).fail(
                "hubspot_integration", {"action": "create", "properties": {"email": "a@b.c"}}
            )

    assert (failure.error_type, failure.retryable, failure.retry_after_seconds) == ("rate_limit", True, 7.0)
    assert "RATE_LIMIT: You have reached your secondly limit." in failure.message


async def test_hubspot_token_never_reaches_an_error(tmp_path: Path) -> None:
    def echo_token(recorded: Recorded) -> tuple[int, Any]:
        # A server that quotes the credential back in its error must not leak it into the step's result.
        return 400, hubspot_error(f"bad header {header(recorded, 'Authorization')}", "VALIDATION_ERROR")

    with http_double(echo_token) as double:
        async with executor_deps(tmp_path / "x.db", hubspot_api_url=double.url) as deps:
            await deps.vault.put(TENANT, "hubspot", "hubspot", {"access_token": HUBSPOT_TOKEN})
            request = step_request("hubspot_integration", {"action": "get", "id": "1"})
            result = await run_step(handlers(deps), request, executed_by="executor")

    assert result.error is not None
    assert HUBSPOT_TOKEN not in result.error.message
    assert "Bearer [redacted]" in result.error.message


async def test_hubspot_rejects_unknown_objects_and_actions_before_calling(hubspot: Rig) -> None:
    unknown_object = await hubspot.fail(
        "hubspot_integration", {"object": "../owners", "action": "get", "id": "1"}
    )
    unknown_action = await hubspot.fail("hubspot_integration", {"action": "merge"})

    assert unknown_object.error_type == unknown_action.error_type == "invalid_config"
    assert hubspot.double.requests == []


# Salesforce
