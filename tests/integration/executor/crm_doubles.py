"""Loopback doubles of HubSpot CRM v3 (objects, search with cursor paging, JSON error bodies)
and the Salesforce REST API (sObject rows, rows by external id, SOQL with nextRecordsUrl,
error bodies as a list), with the fixtures that wire them to a real executor."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.crm import handlers
from flowbus_shared.step_worker import StepFailure
from tests.support.executor_deps import step_request
from tests.support.http_double import HttpDouble, Recorded

HUBSPOT_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SALESFORCE_TOKEN = "00DE0X0A0M0PeLE!AQcAQH0dMHEXAMPLEzmpkb58urFRkgeBGsxL"
API = "/services/data/v60.0"


def header(recorded: Recorded, name: str) -> str | None:
    return {key.lower(): value for key, value in recorded.headers.items()}.get(name.lower())


def hubspot_error(message: str, category: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": "c0ffee", "category": category}


def salesforce_error(code: str, message: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    return [{"message": message, "errorCode": code, "fields": fields or []}]


class FakeHubSpot:
    """CRM v3 objects as HubSpot documents them. Objects can be created unindexed, since
    HubSpot's search index lags writes."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.unindexed: set[str] = set()
        self.ids = itertools.count(101)

    def add(self, kind: str, properties: dict[str, Any], *, indexed: bool = True) -> str:
        object_id = str(next(self.ids))
        stamp = "2024-05-01T10:00:00.000Z"
        self.objects[object_id] = {
            "kind": kind,
            "id": object_id,
            "properties": {**properties, "hs_object_id": object_id},
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        if not indexed:
            self.unindexed.add(object_id)
        return object_id

    def view(self, object_id: str, names: list[str] | None = None) -> dict[str, Any]:
        found = {key: value for key, value in self.objects[object_id].items() if key != "kind"}
        if names:
            found["properties"] = {name: found["properties"].get(name) for name in names}
        return found

    def respond(self, recorded: Recorded) -> tuple[int, Any]:
        if header(recorded, "Authorization") != f"Bearer {HUBSPOT_TOKEN}":
            return 401, hubspot_error("Authentication credentials not found.", "INVALID_AUTHENTICATION")
        url = urlsplit(recorded.path)
        assert url.path.startswith("/crm/v3/objects/"), url.path
        kind, *rest = url.path.removeprefix("/crm/v3/objects/").split("/")
        body = recorded.body or {}
        if recorded.method == "POST" and rest == ["search"]:
            return 200, self.search(kind, body)
        if recorded.method == "POST" and not rest:
            properties = body["properties"]
            if "@" not in str(properties.get("email", "@")):
                invalid = f'[{{"message":"Email address {properties["email"]} is invalid"}}]'
                message = f"Property values were not valid: {invalid}"
                return 400, hubspot_error(message, "VALIDATION_ERROR")
            for existing in self.objects.values():
                if kind == "contacts" and existing["properties"].get("email") == properties.get("email"):
                    return 409, hubspot_error(
                        f"Contact already exists. Existing ID: {existing['id']}", "CONFLICT"
                    )
            return 201, self.view(self.add(kind, properties))
        object_id = unquote(rest[0])
        if object_id not in self.objects:
            return 404, hubspot_error("resource not found", "OBJECT_NOT_FOUND")
        if recorded.method == "PATCH":
            self.objects[object_id]["properties"].update(body["properties"])
            self.objects[object_id]["updatedAt"] = "2024-05-02T10:00:00.000Z"
            return 200, self.view(object_id)
        names = parse_qs(url.query).get("properties", [""])[0].split(",")
        return 200, self.view(object_id, [name for name in names if name])

    def search(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        def matches(found: dict[str, Any]) -> bool:
            groups = body.get("filterGroups") or [{"filters": []}]
            return any(
                all(
                    str(found["properties"].get(f["propertyName"])) == str(f["value"])
                    for f in group["filters"]
                )
                for group in groups
            )

        hits = [
            self.view(object_id)
            for object_id, found in self.objects.items()
            if found["kind"] == kind and object_id not in self.unindexed and matches(found)
        ]
        start, limit = int(body.get("after") or 0), int(body.get("limit") or 10)
        page: dict[str, Any] = {"total": len(hits), "results": hits[start : start + limit]}
        if start + limit < len(hits):
            page["paging"] = {"next": {"after": str(start + limit), "link": "?after=..."}}
        return page


class FakeSalesforce:
    """The REST API of one org: sObject rows, rows by external id, SOQL query in pages of 2."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)

    def insert(self, sobject: str, fields: dict[str, Any]) -> tuple[int, Any]:
        if sobject == "Account" and not fields.get("Name"):
            return 400, salesforce_error(
                "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"]
            )
        record_id = f"001D000000{next(self.ids):05d}AAA"
        self.rows[record_id] = {"attributes": {"type": sobject}, "Id": record_id, **fields}
        return 201, {"id": record_id, "success": True, "errors": []}

    def respond(self, recorded: Recorded) -> tuple[int, Any]:
        if header(recorded, "Authorization") != f"Bearer {SALESFORCE_TOKEN}":
            return 401, salesforce_error("INVALID_SESSION_ID", "Session expired or invalid")
        url = urlsplit(recorded.path)
        assert url.path.startswith(API + "/"), url.path
        path = url.path.removeprefix(API + "/")
        records = sorted(self.rows.values(), key=lambda row: str(row["Id"]))
        if path == "query":
            assert parse_qs(url.query)["q"] == ["SELECT Id, Name FROM Account"]
            return 200, {"totalSize": len(records), "done": len(records) <= 2, "records": records[:2]} | (
                {"nextRecordsUrl": f"{API}/query/01gD0000002HU6KIAW-2"} if len(records) > 2 else {}
            )
        if path.startswith("query/01gD0000002HU6KIAW-"):
            return 200, {"totalSize": len(records), "done": True, "records": records[2:]}
        _, sobject, *rest = path.split("/")
        rest = [unquote(part) for part in rest if part]
        if recorded.method == "POST" and not rest:
            return self.insert(sobject, recorded.body)
        if len(rest) == 2:  # sObject rows by external id: upsert
            field, value = rest
            matched = [row for row in self.rows.values() if row.get(field) == value]
            if len(matched) > 1:
                return 300, [f"{API}/sobjects/{sobject}/{row['Id']}" for row in matched]
            if matched:
                matched[0].update(recorded.body)
                return 204, b""
            return self.insert(sobject, {field: value, **recorded.body})
        if rest[0] not in self.rows:
            return 404, salesforce_error("NOT_FOUND", "The requested resource does not exist")
        if recorded.method == "PATCH":
            self.rows[rest[0]].update(recorded.body)
            return 204, b""
        if recorded.method == "DELETE":
            del self.rows[rest[0]]
            return 204, b""
        fields = parse_qs(url.query).get("fields", [""])[0].split(",")
        row = self.rows[rest[0]]
        return 200, {key: value for key, value in row.items() if key in {"attributes", "Id", *fields}}


@dataclass
class Rig:
    deps: ExecutorDeps
    double: HttpDouble

    async def run(self, step_type: str, config: dict[str, Any]) -> dict[str, Any]:
        return await handlers(self.deps)[step_type](step_request(step_type, config))

    async def fail(self, step_type: str, config: dict[str, Any]) -> StepFailure:
        with pytest.raises(StepFailure) as caught:
            await self.run(step_type, config)
        return caught.value
