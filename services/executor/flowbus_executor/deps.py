"""What every executor is built with, and the helpers they share for connections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure
from flowbus_shared.vault import Connection, ConnectionVault, VaultError

A = TypeVar("A")


@dataclass(frozen=True)
class ExecutorDeps:
    settings: ExecutorSettings
    http: httpx.AsyncClient
    vault: ConnectionVault
    engine: AsyncEngine


async def connection_for(deps: ExecutorDeps, request: StepRequest, service: str) -> Connection:
    """The connection named by `config.connection` (default: the service's name) of the request's tenant."""
    name = str(request.config.get("connection") or service)
    try:
        connection = await deps.vault.get(request.tenant_id, name)
    except VaultError as error:
        raise StepFailure("missing_connection", str(error)) from None
    if connection.service != service:
        raise StepFailure(
            "missing_connection", f"connection {name!r} is for {connection.service}, not {service}"
        )
    return connection


def secret(connection: Connection, *names: str) -> str:
    for name in names:
        value = connection.secrets.get(name)
        if isinstance(value, str) and value:
            return value
    raise StepFailure("invalid_connection", f"connection {connection.name!r} lacks {' or '.join(names)}")


def choose_action(actions: Mapping[str, A], config: dict[str, Any], service: str) -> A:
    """The operation `config.action` names, or a permanent `invalid_config` listing the known ones."""
    action = actions.get(str(config.get("action") or ""))
    if action is None:
        known = ", ".join(sorted(actions))
        raise StepFailure("invalid_config", f"unknown {service} action {config.get('action')!r} ({known})")
    return action


def require(config: dict[str, Any], *names: str) -> list[Any]:
    """The named config values, or a permanent `invalid_config` failure naming what is missing."""
    missing = [name for name in names if config.get(name) in (None, "")]
    if missing:
        raise StepFailure("invalid_config", f"missing {', '.join(missing)}")
    return [config[name] for name in names]
