"""What each service's connection must hold, and which of its fields are not secret.

The executors read these fields (see each module's documentation); checking them when a
connection is stored turns a step that would fail later with `invalid_connection` into a
clear 422 now. Fields are shown back only if listed as public here (an allow-list), so a
field nobody classified stays hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Each requirement is a set of alternatives; an alternative names fields that are all needed.
Requirement = tuple[tuple[str, ...], ...]
Check = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class Kind:
    needs: tuple[Requirement, ...] = ()
    public: tuple[str, ...] = ()
    checks: tuple[Check, ...] = field(default=())


def _one_of(field_name: str, allowed: tuple[str, ...]) -> Check:
    def check(secrets: Mapping[str, Any]) -> str | None:
        value = secrets.get(field_name)
        if value is None or str(value).lower() in allowed:
            return None
        return f"{field_name} must be one of {', '.join(allowed)}"

    return check


def _port(secrets: Mapping[str, Any]) -> str | None:
    value = secrets.get("port")
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536):
        return None
    if isinstance(value, str) and value.isdigit() and 0 < int(value) < 65536:
        return None
    return "port must be a number from 1 to 65535"


def _web_url(field_name: str) -> Check:
    def check(secrets: Mapping[str, Any]) -> str | None:
        value = secrets.get(field_name)
        if value is None or (isinstance(value, str) and value.startswith(("https://", "http://"))):
            return None
        return f"{field_name} must be an http(s) URL"

    return check


def _actions(secrets: Mapping[str, Any]) -> str | None:
    actions = secrets.get("actions")
    if not isinstance(actions, Mapping) or not actions:
        return "actions must be a non-empty mapping of action names to {method, path, ...}"
    malformed = sorted(str(name) for name, spec in actions.items() if not isinstance(spec, Mapping))
    return f"actions {', '.join(malformed)} must be mappings" if malformed else None


def _auth(secrets: Mapping[str, Any]) -> str | None:
    auth = secrets.get("auth")
    if auth is None or isinstance(auth, Mapping):
        return None
    return "auth must be a mapping ({scheme: bearer | basic | header | query, ...})"


KINDS: dict[str, Kind] = {
    "smtp": Kind(
        needs=((("host",),), (("from_address",),)),
        public=("host", "port", "security", "username", "from_address", "validate_certs"),
        checks=(_one_of("security", ("starttls", "ssl", "none")), _port),
    ),
    "slack": Kind(needs=((("bot_token",), ("token",)),)),
    "asana": Kind(needs=((("token",), ("access_token",)),), public=("workspace", "workspace_gid")),
    "notion": Kind(needs=((("token",),),)),
    "gmail": Kind(needs=((("access_token",),),)),
    "hubspot": Kind(needs=((("access_token",),),)),
    "salesforce": Kind(
        needs=((("instance_url",),), (("access_token",),)),
        public=("instance_url",),
        checks=(_web_url("instance_url"),),
    ),
    "http": Kind(
        needs=((("bearer_token",), ("username", "password"), ("api_key",)),),
        public=("username", "api_key_header"),
    ),
    "connector": Kind(
        needs=((("base_url",),),),
        public=("base_url", "idempotency_header", "actions"),
        checks=(_web_url("base_url"), _actions, _auth),
    ),
}
# Provider keys share the vault but belong to the llm-gateway (PUT /v1/llm/keys/{provider}).
RESERVED_SERVICES = frozenset({"llm"})


def _present(secrets: Mapping[str, Any], name: str) -> bool:
    value = secrets.get(name)
    return isinstance(value, str) and value.strip() != ""


def _describe(requirement: Requirement) -> str:
    options = [" and ".join(alternative) for alternative in requirement]
    if len(options) <= 2:
        return " or ".join(options)
    return ", ".join(options[:-1]) + ", or " + options[-1]


def problems(service: str, secrets: Mapping[str, Any]) -> list[str]:
    """Why `secrets` would not work for `service` (empty when they would, or the service is not
    one flowbus knows: custom services are stored as given). Never quotes a value."""
    kind = KINDS.get(service)
    if kind is None:
        return []
    found = [
        f"{service} connections need {_describe(requirement)}"
        for requirement in kind.needs
        if not any(all(_present(secrets, name) for name in alternative) for alternative in requirement)
    ]
    return found + [reason for check in kind.checks if (reason := check(secrets)) is not None]


def public_fields(service: str, secrets: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a connection that are not secret (a connector's actions by name only: their
    templates may carry fixed values)."""
    kind = KINDS.get(service, Kind())
    shown: dict[str, Any] = {}
    for name in kind.public:
        value = secrets.get(name)
        if name == "actions" and isinstance(value, Mapping):
            shown[name] = sorted(str(action) for action in value)
        elif isinstance(value, str | int | float | bool):
            shown[name] = value
    return shown
