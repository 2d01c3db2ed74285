"""universal_integration: declarative REST connectors, so a new service is configuration, not code.

A connector is a vault connection of service `connector`, named after the service it
speaks to (e.g. "github"), whose secrets describe it:

    base_url: https://api.github.com
    auth: {scheme: bearer, token: ...}          # or basic (username, password), header
                                                # (header, value), query (param, value)
    headers: {Accept: application/vnd.github+json}          # optional, every action
    idempotency_header: Idempotency-Key         # the default; null sends no key
    actions:
      create_repo:
        method: POST
        path: /orgs/{org}/repos                 # placeholders are URL-quoted
        query: {visibility: "{visibility}"}     # optional
        body: {name: "{name}", private: "{private}"}
        expect: [201]                           # optional; default: below 400 succeeds

config: `service`, `action`, `params` (a mapping; the step's other config keys count as
params too, `params` winning), `connection` (a connector name other than the service's),
`timeout_seconds`. A string that is exactly "{name}" takes the param with its type (a bool
stays a bool); placeholders inside longer text become text. A placeholder without a param
fails the step (`invalid_config`) naming every one missing. The URL goes through api_call's
SSRF guard. Output: {status, body} (+ `truncated: true` when the body was cut at 1 MB).
api_call's `{service, action}` form runs here too.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flowbus_executor import http
from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.web import (
    METHODS,
    capped,
    check_status,
    decoded_body,
    expected_statuses,
    finish_headers,
    guard,
    header_map,
    query_params,
    set_header,
)
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler
from flowbus_shared.vault import Connection, VaultError

CONNECTOR_SERVICE = "connector"
# Config keys that steer the step rather than fill placeholders.
RESERVED = frozenset({"service", "action", "params", "connection", "timeout_seconds"})
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def params_of(config: Mapping[str, Any]) -> dict[str, Any]:
    explicit = config.get("params")
    if explicit is not None and not isinstance(explicit, Mapping):
        raise StepFailure("invalid_config", "params must be a mapping")
    params = {key: value for key, value in config.items() if key not in RESERVED}
    params.update(explicit or {})
    return params


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise StepFailure("invalid_connection", f"connector {where}: headers must be a mapping")
    return value


def _text(value: Any) -> str:
    """A param as it reads inside text: JSON spelling for booleans, null and structures."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool | dict | list):
        return json.dumps(value)
    return str(value)


def fill(template: Any, params: Mapping[str, Any], missing: set[str], *, quoted: bool = False) -> Any:
    """`template` with its placeholders replaced; names without a param are added to `missing`."""
    if isinstance(template, Mapping):
        return {key: fill(value, params, missing, quoted=quoted) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(item, params, missing, quoted=quoted) for item in template]
    if not isinstance(template, str):
        return template
    whole = PLACEHOLDER.fullmatch(template)
    if whole and not quoted:
        if whole.group(1) not in params:
            missing.add(whole.group(1))
        return params.get(whole.group(1))

    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in params:
            missing.add(match.group(1))
            return match.group(0)
        text = _text(params[match.group(1)])
        # safe="": a param can never add path segments ("../admin") or a query of its own.
        return quote(text, safe="") if quoted else text

    return PLACEHOLDER.sub(replace, template)


def _auth(connector: Connection) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(headers, query params, secret values) for the connector's `auth`."""
    auth = connector.secrets.get("auth")
    if auth in (None, {}):
        return {}, {}, []
    if not isinstance(auth, Mapping):
        raise StepFailure("invalid_connection", f"connector {connector.name!r}: auth must be a mapping")
    scheme = str(auth.get("scheme", "")).lower()

    def need(*names: str) -> list[str]:
        values = [auth.get(name) for name in names]
        if not all(isinstance(value, str) and value for value in values):
            raise StepFailure(
                "invalid_connection", f"connector {connector.name!r}: {scheme} auth needs {', '.join(names)}"
            )
        return [str(value) for value in values]

    if scheme == "bearer":
        (token,) = need("token")
        return {"Authorization": f"Bearer {token}"}, {}, [token]
    if scheme == "basic":
        username, password = need("username", "password")
        encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
        return {"Authorization": f"Basic {encoded}"}, {}, [password, encoded]
    if scheme in ("header", "query"):
        # `header` / `param` read better in a connector; `name` is accepted for both.
        alias = "header" if scheme == "header" else "param"
        name = auth.get(alias) or auth.get("name")
        (value,) = need("value")
        if not isinstance(name, str) or not name:
            raise StepFailure(
                "invalid_connection", f"connector {connector.name!r}: {scheme} auth needs a name"
            )
        return ({name: value}, {}, [value]) if scheme == "header" else ({}, {name: value}, [value])
    raise StepFailure(
        "invalid_connection",
        f"connector {connector.name!r}: auth scheme {scheme!r} is not bearer, basic, header or query",
    )


async def load_connector(deps: ExecutorDeps, request: StepRequest, service: str) -> Connection:
    name = str(request.config.get("connection") or service)
    try:
        connector = await deps.vault.get(request.tenant_id, name)
    except VaultError:
        raise StepFailure(
            "invalid_config",
            f"no connector is configured for service {service!r} (a vault connection {name!r} "
            f"of service {CONNECTOR_SERVICE!r})",
        ) from None
    if connector.service != CONNECTOR_SERVICE:
        raise StepFailure(
            "invalid_config",
            f"connection {name!r} is a {connector.service} connection, not a connector for {service!r}",
        )
    return connector


async def run_action(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    service, action = (str(config.get(key) or "").strip() for key in ("service", "action"))
    if not service or not action:
        raise StepFailure("invalid_config", "universal_integration needs a service and an action")
    connector = await load_connector(deps, request, service)
    actions = connector.secrets.get("actions")
    base_url = connector.secrets.get("base_url")
    if not isinstance(actions, Mapping) or not isinstance(base_url, str) or not base_url:
        raise StepFailure("invalid_connection", f"connector {connector.name!r} needs base_url and actions")
    spec = actions.get(action)
    if not isinstance(spec, Mapping):
        known = ", ".join(sorted(map(str, actions))) or "none"
        raise StepFailure(
            "invalid_config", f"connector {connector.name!r} has no action {action!r} (known: {known})"
        )
    method = str(spec.get("method") or "GET").upper()
    if method not in METHODS:
        raise StepFailure("invalid_connection", f"{connector.name}.{action}: method {method!r} is unknown")

    params = params_of(config)
    missing: set[str] = set()
    path = fill(str(spec.get("path") or ""), params, missing, quoted=True)
    query = fill(spec.get("query") or {}, params, missing)
    headers = fill(
        {
            **_mapping(connector.secrets.get("headers"), connector.name),
            **_mapping(spec.get("headers"), f"{connector.name}.{action}"),
        },
        params,
        missing,
    )
    body = fill(spec.get("body"), params, missing)
    if missing:
        raise StepFailure(
            "invalid_config", f"{connector.name}.{action} needs params: {', '.join(sorted(missing))}"
        )

    target = await guard(deps.settings, base_url.rstrip("/") + "/" + path.lstrip("/"))
    auth_headers, auth_query, secrets = _auth(connector)
    headers = header_map(headers, f"{connector.name}.{action} headers")
    for name, value in auth_headers.items():
        set_header(headers, name, value)
    idempotency_header = connector.secrets.get("idempotency_header", http.IDEMPOTENCY_HEADER)
    finish_headers(headers, request, target, str(idempotency_header) if idempotency_header else None)
    options: dict[str, Any] = {"headers": headers}
    url = target.with_query({**query_params(query, f"{connector.name}.{action} query"), **auth_query})
    if isinstance(body, str):
        options["content"] = body
    elif body is not None:
        options["json"] = body
    response = await http.send(
        deps.http,
        method,
        str(url),
        request=capped(request, config),
        service=connector.name,
        secrets=secrets,
        idempotency_header=None,  # finish_headers set it (or the connector turned it off)
        raise_for_status=False,
        follow_redirects=False,
        **options,
    )
    check_status(response, expected_statuses(spec.get("expect")), service=connector.name, secrets=secrets)
    return {"status": response.status_code, **decoded_body(response)}


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def universal_integration(request: StepRequest) -> dict[str, Any]:
        return await run_action(deps, request)

    return {"universal_integration": universal_integration}
