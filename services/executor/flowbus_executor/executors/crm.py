"""CRM executors speaking the real HubSpot CRM v3 and Salesforce REST APIs.

hubspot_integration (connection "hubspot", secret `access_token`, a private app token):
- `object`: contacts | deals | companies | tickets (default contacts); `action`:
- create {properties} / update {id, properties} / get {id, properties?: [names], id_property?}
  -> {id, properties, created_at, updated_at};
- search {filter_groups | filters, sorts?, properties?, query?, limit?, after?, max_pages? (5)}
  follows `paging.next.after` -> {results, total, count, next_after};
- upsert {id_property, id_value? (else properties[id_property]), properties}: search, then
  update the match or create -> the record plus `created`. HubSpot's search index lags
  writes by a few seconds, so an object created just before may not be found yet.

salesforce_integration (connection "salesforce", secrets `instance_url`, `access_token`), `action`:
- create {sobject, fields} -> {id, success, errors}; update {sobject, id, fields} -> {id, updated};
- get {sobject, id, fields?: [names]} -> {id, record}; delete {sobject, id} -> {id, deleted};
- upsert {sobject, external_id_field, external_id, fields, update_only?} -> {id, created};
- query {soql, max_pages? (5)} follows `nextRecordsUrl` -> {records, total_size, count, done, next_records_url}.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote

import httpx

from flowbus_executor.deps import ExecutorDeps, connection_for, require, secret
from flowbus_executor.http import failure_for, json_body, redact, send
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler
from flowbus_shared.vault import Connection

HUBSPOT_OBJECTS = ("contacts", "deals", "companies", "tickets")
# sObject and field API names (Account, Invoice__c, ns__Field__c): checked because they go into URL paths.
_SALESFORCE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# The id HubSpot names in a 409 "Contact already exists. Existing ID: 123" message.
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
# Salesforce error codes -> (error type, retryable): some 4xx mean "try again later".
_SALESFORCE_KINDS = {
    "REQUEST_LIMIT_EXCEEDED": ("rate_limit", True),
    "UNABLE_TO_LOCK_ROW": ("row_locked", True),
    "INVALID_SESSION_ID": ("unauthorized", False),
    "DUPLICATE_VALUE": ("conflict", False),
    "DUPLICATES_DETECTED": ("conflict", False),
    "ENTITY_IS_DELETED": ("not_found", False),
    "MULTIPLE_CHOICES": ("conflict", False),
}


def _segment(value: Any) -> str:
    """One URL path segment: ids and external-id values may hold `/`, `+` or `@`."""
    return quote(str(value), safe="")


def _mapping(config: dict[str, Any], name: str) -> dict[str, Any]:
    value = config.get(name)
    if not isinstance(value, dict) or not value:
        raise StepFailure("invalid_config", f"{name} must be a non-empty mapping")
    return value


def _names(value: Any, name: str) -> list[str]:
    """A list of property or field names, given as a list or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise StepFailure("invalid_config", f"{name} must be a list of names")


def _max_pages(config: dict[str, Any]) -> int:
    value = config.get("max_pages", 5)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StepFailure("invalid_config", "max_pages must be a positive integer")
    return value


def _document(response: httpx.Response, service: str) -> dict[str, Any]:
    body = json_body(response, service=service)
    if not isinstance(body, dict):
        raise StepFailure("bad_response", f"{service} answered {response.status_code} with a non-object")
    return body


class _Session:
    """One step's calls to a service: the bearer token, the secrets to scrub, how errors read."""

    service = ""
    kinds: dict[str, tuple[str, bool]] = {}

    def __init__(self, deps: ExecutorDeps, request: StepRequest, connection: Connection) -> None:
        self.deps, self.request = deps, request
        self.token, self.secrets = secret(connection, "access_token"), connection.secret_values()

    def explain(self, status: int, body: Any) -> tuple[str, str] | None:
        """(error code, text) from the service's own error body, if it has one."""
        return None

    def failure(self, response: httpx.Response) -> StepFailure:
        base = failure_for(response, service=self.service, secrets=self.secrets)
        try:
            explained = self.explain(response.status_code, response.json())
        except ValueError:
            explained = None
        if explained is None:
            return base
        code, text = explained
        kind, retryable = self.kinds.get(code, (base.error_type, base.retryable))
        message = redact(f"{self.service} answered {response.status_code} {text}", self.secrets)[:1000]
        return StepFailure(kind, message, retryable=retryable, retry_after_seconds=base.retry_after_seconds)

    async def call(self, method: str, url: str, **options: Any) -> httpx.Response:
        response = await send(
            self.deps.http,
            method,
            url,
            request=self.request,
            service=self.service,
            secrets=self.secrets,
            raise_for_status=False,
            headers={"Authorization": f"Bearer {self.token}"},
            **options,
        )
        # Redirects are not followed, so any 3xx is an answer this code cannot use.
        if response.status_code >= 300:
            raise self.failure(response)
        return response

    async def document(self, method: str, url: str, **options: Any) -> dict[str, Any]:
        return _document(await self.call(method, url, **options), self.service)


# HubSpot
def _hubspot_record(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": body.get("id"),
        "properties": body.get("properties") or {},
        "created_at": body.get("createdAt"),
        "updated_at": body.get("updatedAt"),
    }


class _HubSpot(_Session):
    service = "hubspot"

    def __init__(self, deps: ExecutorDeps, request: StepRequest, connection: Connection) -> None:
        # HubSpot ignores headers it does not know, so the default Idempotency-Key rides along.
        super().__init__(deps, request, connection)
        self.object = str(request.config.get("object") or "contacts")
        if self.object not in HUBSPOT_OBJECTS:
            raise StepFailure("invalid_config", f"object must be one of {', '.join(HUBSPOT_OBJECTS)}")
        self.base = f"{deps.settings.hubspot_api_url.rstrip('/')}/crm/v3/objects/{self.object}"

    def explain(self, status: int, body: Any) -> tuple[str, str] | None:
        # {"status": "error", "message", "category"}; rate-limit answers carry `errorType` instead.
        if not isinstance(body, dict) or not body.get("message"):
            return None
        category = str(body.get("category") or body.get("errorType") or "ERROR")
        return category, f"{category}: {str(body['message'])[:500]}"

    async def create(self, properties: dict[str, Any]) -> dict[str, Any]:
        return _hubspot_record(await self.document("POST", self.base, json={"properties": properties}))

    async def update(self, object_id: Any, properties: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base}/{_segment(object_id)}"
        return _hubspot_record(await self.document("PATCH", url, json={"properties": properties}))

    async def search(self, body: dict[str, Any], max_pages: int) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        total: Any = 0
        after = body.get("after")
        for _ in range(max_pages):
            page = await self.document(
                "POST", f"{self.base}/search", json={**body, "after": after} if after else body
            )
            results.extend(_hubspot_record(item) for item in page.get("results") or [])
            total = page.get("total", len(results))
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        # next_after lets a later step carry on where max_pages stopped this one.
        return {"results": results, "total": total, "count": len(results), "next_after": after}


def _search_body(config: dict[str, Any]) -> dict[str, Any]:
    groups = config.get("filter_groups")
    if groups is None and config.get("filters") is not None:
        groups = [{"filters": config["filters"]}]
    if groups is not None and not isinstance(groups, list):
        raise StepFailure("invalid_config", "filter_groups must be a list of {filters: [...]}")
    body: dict[str, Any] = {"filterGroups": groups or [], "limit": int(config.get("limit") or 100)}
    body.update({key: config[key] for key in ("sorts", "query", "after") if config.get(key)})
    if config.get("properties"):
        body["properties"] = _names(config["properties"], "properties")
    return body


async def _hubspot_upsert(hubspot: _HubSpot, config: dict[str, Any]) -> dict[str, Any]:
    properties = _mapping(config, "properties")
    (id_property,) = require(config, "id_property")
    value = config.get("id_value", properties.get(id_property))
    if value in (None, ""):
        raise StepFailure("invalid_config", f"missing id_value (or properties.{id_property})")
    # limit 2: enough to tell "one match" from "several".
    match = {"filters": [{"propertyName": id_property, "operator": "EQ", "value": value}]}
    found = await hubspot.search({"filterGroups": [match], "limit": 2}, max_pages=1)
    if found["count"] > 1:
        # Updating one of several at random would be a silent data bug.
        raise StepFailure("conflict", f"{found['count']} {hubspot.object} have {id_property} = {value!r}")
    if found["count"] == 1:
        return await hubspot.update(found["results"][0]["id"], properties) | {"created": False}
    try:
        return await hubspot.create({id_property: value, **properties}) | {"created": True}
    except StepFailure as failure:
        # Created by someone else since the search (or not yet indexed): update that one instead.
        existing = _EXISTING_ID.search(failure.message) if failure.error_type == "conflict" else None
        if existing is None:
            raise
        return await hubspot.update(existing.group(1), properties) | {"created": False}


async def hubspot_step(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    hubspot = _HubSpot(deps, request, await connection_for(deps, request, "hubspot"))
    action = str(config.get("action") or "")
    if action == "create":
        return await hubspot.create(_mapping(config, "properties"))
    if action == "update":
        (object_id,) = require(config, "id")
        return await hubspot.update(object_id, _mapping(config, "properties"))
    if action == "get":
        (object_id,) = require(config, "id")
        names = ",".join(_names(config.get("properties"), "properties"))
        params = {"properties": names, "idProperty": str(config.get("id_property") or "")}
        params = {key: value for key, value in params.items() if value}
        url = f"{hubspot.base}/{_segment(object_id)}"
        return _hubspot_record(await hubspot.document("GET", url, params=params))
    if action == "search":
        return await hubspot.search(_search_body(config), _max_pages(config))
    if action == "upsert":
        return await _hubspot_upsert(hubspot, config)
    raise StepFailure("invalid_config", f"action must be create|update|get|search|upsert, not {action!r}")


# Salesforce
class _Salesforce(_Session):
    service = "salesforce"
    kinds = _SALESFORCE_KINDS

    def __init__(self, deps: ExecutorDeps, request: StepRequest, connection: Connection) -> None:
        super().__init__(deps, request, connection)
        instance = secret(connection, "instance_url")
        url = httpx.URL(instance)
        if url.scheme not in ("http", "https") or not url.host:
            raise StepFailure("invalid_connection", "instance_url must be an http(s) URL")
        self.instance = instance.rstrip("/")
        self.base = f"{self.instance}/services/data/{deps.settings.salesforce_api_version}"

    def explain(self, status: int, body: Any) -> tuple[str, str] | None:
        if status == 300:
            # An external id matching several records: Salesforce lists them and changes none.
            return "MULTIPLE_CHOICES", "several records match the external id"
        # A list of {"message", "errorCode", "fields"}; the first code decides the kind.
        errors = [item for item in (body if isinstance(body, list) else [body]) if isinstance(item, dict)]
        errors = [item for item in errors if item.get("errorCode")]
        if not errors:
            return None
        parts = []
        for item in errors:
            fields = item.get("fields") or []
            suffix = f" (fields: {', '.join(map(str, fields))})" if fields else ""
            parts.append(f"{item['errorCode']}: {item.get('message', '')}{suffix}")
        return str(errors[0]["errorCode"]), "; ".join(parts)

    def sobject_url(self, config: dict[str, Any], *path: Any) -> str:
        (sobject,) = require(config, "sobject")
        if not _SALESFORCE_NAME.match(str(sobject)):
            raise StepFailure("invalid_config", f"sobject {sobject!r} is not an API name")
        return "/".join([f"{self.base}/sobjects/{sobject}", *(_segment(part) for part in path)])


async def _salesforce_query(sf: _Salesforce, config: dict[str, Any]) -> dict[str, Any]:
    (soql,) = require(config, "soql")
    max_pages = _max_pages(config)
    page = await sf.document("GET", f"{sf.base}/query", params={"q": str(soql)})
    records: list[Any] = list(page.get("records") or [])
    for _ in range(max_pages - 1):
        next_url = page.get("nextRecordsUrl")
        if page.get("done", True) or not next_url:
            break
        # nextRecordsUrl is a path on the instance; anything else would send the token elsewhere.
        if not str(next_url).startswith("/services/data/"):
            raise StepFailure("bad_response", "salesforce nextRecordsUrl is not a path on the instance")
        page = await sf.document("GET", sf.instance + str(next_url))
        records.extend(page.get("records") or [])
    done = bool(page.get("done", True))
    return {
        "records": records,
        "total_size": page.get("totalSize", len(records)),
        "count": len(records),
        "done": done,
        "next_records_url": None if done else page.get("nextRecordsUrl"),
    }


async def salesforce_step(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    sf = _Salesforce(deps, request, await connection_for(deps, request, "salesforce"))
    action = str(config.get("action") or "")
    if action == "create":
        body = await sf.document("POST", sf.sobject_url(config) + "/", json=_mapping(config, "fields"))
        return {key: body.get(key) for key in ("id", "success", "errors")}
    if action in ("update", "get", "delete"):
        (record_id,) = require(config, "id")
        url = sf.sobject_url(config, record_id)
        if action == "update":
            await sf.call("PATCH", url, json=_mapping(config, "fields"))
            return {"id": record_id, "updated": True}
        if action == "delete":
            await sf.call("DELETE", url)
            return {"id": record_id, "deleted": True}
        names = _names(config.get("fields"), "fields")
        record = await sf.document("GET", url, params={"fields": ",".join(names)} if names else {})
        record.pop("attributes", None)
        return {"id": record.get("Id", record_id), "record": record}
    if action == "upsert":
        field, value = require(config, "external_id_field", "external_id")
        if not _SALESFORCE_NAME.match(str(field)):
            raise StepFailure("invalid_config", f"external_id_field {field!r} is not an API name")
        params = {"updateOnly": "true"} if config.get("update_only") else {}
        url = sf.sobject_url(config, field, value)
        response = await sf.call("PATCH", url, json=_mapping(config, "fields"), params=params)
        # 201 created; an update is 204 without a body (before v46) or 200 with {"created": false}.
        body = _document(response, "salesforce") if response.status_code != 204 else {}
        return {"id": body.get("id"), "created": response.status_code == 201}
    if action == "query":
        return await _salesforce_query(sf, config)
    raise StepFailure("invalid_config", f"action must be create|update|get|upsert|query|delete: {action!r}")


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    return {
        "hubspot_integration": functools.partial(hubspot_step, deps),
        "salesforce_integration": functools.partial(salesforce_step, deps),
    }
