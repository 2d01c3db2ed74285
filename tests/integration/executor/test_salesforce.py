"""salesforce_integration against a loopback double of the Salesforce REST API."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.integration.executor.crm_doubles import (
    API,
    SALESFORCE_TOKEN,
    FakeSalesforce,
    Rig,
    header,
    salesforce_error,
)
from tests.support.executor_deps import TENANT, executor_deps
from tests.support.http_double import HttpDouble, Recorded, http_double


async def test_salesforce_create_posts_fields_to_the_connection_instance(salesforce: Rig) -> None:
    output = await salesforce.run(
        "salesforce_integration", {"action": "create", "sobject": "Account", "fields": {"Name": "Acme"}}
    )

    sent = salesforce.double.requests[-1]
    assert (sent.method, sent.path, sent.body) == ("POST", f"{API}/sobjects/Account/", {"Name": "Acme"})
    assert header(sent, "Authorization") == f"Bearer {SALESFORCE_TOKEN}"
    assert output == {"id": "001D00000000001AAA", "success": True, "errors": []}


async def test_salesforce_update_is_a_204_and_get_reads_the_fields(
    salesforce: Rig, salesforce_fake: FakeSalesforce
) -> None:
    _, created = salesforce_fake.insert("Account", {"Name": "Acme", "Industry": "Energy"})
    record_id = created["id"]

    updated = await salesforce.run(
        "salesforce_integration",
        {"action": "update", "sobject": "Account", "id": record_id, "fields": {"Industry": "Retail"}},
    )
    read = await salesforce.run(
        "salesforce_integration",
        {"action": "get", "sobject": "Account", "id": record_id, "fields": ["Name", "Industry"]},
    )

    patch, get = salesforce.double.requests
    assert (patch.method, patch.path, patch.body) == (
        "PATCH",
        f"{API}/sobjects/Account/{record_id}",
        {"Industry": "Retail"},
    )
    assert get.path == f"{API}/sobjects/Account/{record_id}?fields=Name%2CIndustry"
    assert updated == {"id": record_id, "updated": True}
    assert read == {"id": record_id, "record": {"Id": record_id, "Name": "Acme", "Industry": "Retail"}}


async def test_salesforce_upsert_by_external_id_creates_then_updates(salesforce: Rig) -> None:
    config = {
        "action": "upsert",
        "sobject": "Account",
        "external_id_field": "Ext_Id__c",
        "external_id": "ERP/42",
        "fields": {"Name": "Acme"},
    }

    created = await salesforce.run("salesforce_integration", config)
    updated = await salesforce.run("salesforce_integration", {**config, "fields": {"Name": "Acme Ltd"}})

    first, second = salesforce.double.requests
    assert first.method == second.method == "PATCH"
    assert first.path == f"{API}/sobjects/Account/Ext_Id__c/ERP%2F42"
    assert created == {"id": "001D00000000001AAA", "created": True}
    assert updated == {"id": None, "created": False}


async def test_salesforce_upsert_update_answered_200_with_a_body(tmp_path: Path) -> None:
    # Since API v46 an upsert that updates answers 200 with {"created": false} instead of 204.
    answer = {"id": "001D00000000007AAA", "success": True, "errors": [], "created": False}
    with http_double(lambda _recorded: (200, answer)) as double:
        async with executor_deps(tmp_path / "x.db") as deps:
            secrets = {"instance_url": double.url, "access_token": SALESFORCE_TOKEN}
            await deps.vault.put(TENANT, "salesforce", "salesforce", secrets)
            config = {"sobject": "Contact", "external_id_field": "Email", "external_id": "a+b@example.com"}
            output = await Rig(deps, double).run(
                "salesforce_integration", {"action": "upsert", **config, "fields": {"LastName": "B"}}
            )

    assert double.requests[0].path == f"{API}/sobjects/Contact/Email/a%2Bb%40example.com"
    assert output == {"id": "001D00000000007AAA", "created": False}


async def test_salesforce_upsert_matching_several_records_is_a_conflict(
    salesforce: Rig, salesforce_fake: FakeSalesforce
) -> None:
    for name in ("A", "B"):
        salesforce_fake.insert("Account", {"Name": name, "Ext_Id__c": "dup"})

    failure = await salesforce.fail(
        "salesforce_integration",
        {
            "action": "upsert",
            "sobject": "Account",
            "external_id_field": "Ext_Id__c",
            "external_id": "dup",
            "fields": {"Name": "C"},
        },
    )

    assert (failure.error_type, failure.retryable) == ("conflict", False)


async def test_salesforce_query_follows_next_records_url(
    salesforce: Rig, salesforce_fake: FakeSalesforce
) -> None:
    for name in ("A", "B", "C"):
        salesforce_fake.insert("Account", {"Name": name})

    output = await salesforce.run(
        "salesforce_integration", {"action": "query", "soql": "SELECT Id, Name FROM Account"}
    )

    first, second = salesforce.double.requests
    assert urlsplit(first.path).path == f"{API}/query"
    assert second.path == f"{API}/query/01gD0000002HU6KIAW-2"
    assert [record["Name"] for record in output["records"]] == ["A", "B", "C"]
    assert (output["total_size"], output["count"], output["done"]) == (3, 3, True)


async def test_salesforce_delete_is_a_204(salesforce: Rig, salesforce_fake: FakeSalesforce) -> None:
    _, created = salesforce_fake.insert("Account", {"Name": "Gone"})

    output = await salesforce.run(
        "salesforce_integration", {"action": "delete", "sobject": "Account", "id": created["id"]}
    )

    assert salesforce.double.requests[-1].method == "DELETE"
    assert output == {"id": created["id"], "deleted": True}
    assert salesforce_fake.rows == {}


async def test_salesforce_required_field_missing_is_permanent_with_the_error_code(salesforce: Rig) -> None:
    failure = await salesforce.fail(
        "salesforce_integration", {"action": "create", "sobject": "Account", "fields": {"Phone": "1"}}
    )

    assert (failure.error_type, failure.retryable) == ("bad_request", False)
    assert "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)" in failure.message


async def test_salesforce_invalid_session_is_unauthorized(
    tmp_path: Path, salesforce_fake: FakeSalesforce
) -> None:
    with http_double(salesforce_fake.respond) as double:
        async with executor_deps(tmp_path / "x.db") as deps:
            secrets = {"instance_url": double.url, "access_token": "00Dexpired-session-token"}
            await deps.vault.put(TENANT, "salesforce", "salesforce", secrets)
            failure = await Rig(deps, double).fail(
                "salesforce_integration", {"action": "get", "sobject": "Account", "id": "001"}
            )

    assert (failure.error_type, failure.retryable) == ("unauthorized", False)
    assert "INVALID_SESSION_ID" in failure.message
    assert "00Dexpired-session-token" not in failure.message


async def test_salesforce_request_limit_exceeded_is_a_retryable_rate_limit(tmp_path: Path) -> None:
    def over_limit(_recorded: Recorded) -> tuple[int, Any]:
        return 403, salesforce_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    with http_double(over_limit) as double:
        async with executor_deps(tmp_path / "x.db") as deps:
            secrets = {"instance_url": double.url, "access_token": SALESFORCE_TOKEN}
            await deps.vault.put(TENANT, "salesforce", "salesforce", secrets)
            failure = await Rig(deps, double).fail(
                "salesforce_integration", {"action": "query", "soql": "SELECT Id FROM Account"}
            )

    assert (failure.error_type, failure.retryable) == ("rate_limit", True)
    assert "REQUEST_LIMIT_EXCEEDED" in failure.message


async def test_salesforce_never_follows_a_next_records_url_off_the_instance(tmp_path: Path) -> None:
    def elsewhere(_recorded: Recorded) -> tuple[int, Any]:
        page = {"totalSize": 4, "done": False, "records": [{"Id": "1"}]}
        return 200, page | {"nextRecordsUrl": "https://evil.example/steal"}

    with http_double(elsewhere) as double:
        async with executor_deps(tmp_path / "x.db") as deps:
            secrets = {"instance_url": double.url, "access_token": SALESFORCE_TOKEN}
            await deps.vault.put(TENANT, "salesforce", "salesforce", secrets)
            failure = await Rig(deps, double).fail(
                "salesforce_integration", {"action": "query", "soql": "SELECT Id FROM Account"}
            )

    assert failure.error_type == "bad_response"
    assert len(double.requests) == 1


async def test_salesforce_without_a_connection_fails_permanently(tmp_path: Path) -> None:
    async with executor_deps(tmp_path / "x.db") as deps:
        failure = await Rig(deps, HttpDouble("")).fail(
            "salesforce_integration", {"action": "get", "sobject": "Account", "id": "001"}
        )

    assert (failure.error_type, failure.retryable) == ("missing_connection", False)
