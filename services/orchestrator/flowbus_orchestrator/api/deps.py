"""What the routes are built from, and who is calling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.adapters.generator import WorkflowGenerator
from flowbus_orchestrator.adapters.projection import ExecutionProjection
from flowbus_orchestrator.adapters.tables import BUILTIN_TENANT
from flowbus_orchestrator.engine import Engine
from flowbus_shared.auth import Principal, Role
from flowbus_shared.bus import MessageBus
from flowbus_shared.http import ApiError, Authenticator

# Ids in paths: what the orchestrator itself generates or accepts (uuids, step and workflow ids).
EXECUTION_ID = r"^[A-Za-z0-9_.:-]{1,200}$"
STEP_ID = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$"


@dataclass
class ApiDeps:
    definitions: DefinitionRepository
    projection: ExecutionProjection
    engine: Engine
    bus: MessageBus
    auth: Authenticator
    generator: WorkflowGenerator | None

    @property
    def database(self) -> AsyncEngine:
        return self.engine.store.engine

    def caller(self, role: Role) -> Any:
        """A route dependency: the principal, which needs `role` and a tenant of its own."""
        authenticated = Depends(self.auth.require(role))

        async def dependency(principal: Principal = authenticated) -> Principal:
            if principal.tenant_id == BUILTIN_TENANT:
                raise ApiError(403, f"tenant {BUILTIN_TENANT!r} is reserved for built-in workflows")
            return principal

        return Depends(dependency)


def actor(principal: Principal) -> str:
    """Who a command is recorded as coming from: the user, else the key (a JWT's is `jwt:<sub>`)."""
    if principal.user_id:
        return f"user:{principal.user_id}"
    return principal.key_id if principal.key_id.startswith("jwt:") else f"key:{principal.key_id}"
