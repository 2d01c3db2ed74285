"""/v1/connections: the tenant's connections, the credentials its integration steps use.

Secrets go in once (PUT, admin) and are sealed in the vault; nothing ever shows them again:
answers carry the name, service, fingerprint and the fields that are not secret (an SMTP
host, a Salesforce instance URL). Everything is scoped by the caller's tenant, so another
tenant's connection is simply not there (404)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from flowbus_executor.api.catalogue import ConnectionCatalogue, StoredConnection
from flowbus_executor.api.kinds import KINDS, RESERVED_SERVICES, problems, public_fields
from flowbus_shared.auth import Principal
from flowbus_shared.http import ApiError, Authenticator
from flowbus_shared.vault import VaultError

log = logging.getLogger("flowbus.executor.connections")

NEW_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"
SERVICE = r"^[a-z0-9][a-z0-9_-]{0,99}$"
Name = Annotated[
    str, Path(min_length=1, max_length=200, description="how steps refer to it (config.connection)")
]
NewName = Annotated[
    str,
    Path(
        pattern=NEW_NAME,
        description="how steps refer to it (config.connection; by default the service's name): "
        "letters, digits, `_`, `.`, `-`",
    ),
]


class ConnectionIn(BaseModel):
    """A connection as `flowbus connections put` takes it: the service and its fields."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(
        pattern=SERVICE,
        description=f"which steps use it: {', '.join(KINDS)}, or a service of your own",
        examples=["slack"],
    )
    secrets: dict[str, Any] = Field(
        min_length=1,
        max_length=100,
        description="the fields the service's steps read (e.g. slack: bot_token; smtp: host, port, "
        "security, username, password, from_address), sealed in the vault and never shown again",
        examples=[{"bot_token": "xoxb-..."}],
    )


class ConnectionSummary(BaseModel):
    name: str
    service: str
    fingerprint: str = Field(description="changes when the fields change; never the fields themselves")


class ConnectionList(BaseModel):
    connections: list[ConnectionSummary]


class ConnectionOut(ConnectionSummary):
    key_id: str = Field(description="the master key it is sealed with (rotation re-seals with the first)")
    updated_at: datetime
    public_fields: dict[str, Any] | None = Field(
        description="the fields that are not secret (e.g. an SMTP host); null when the connection does "
        "not open with the configured master keys"
    )


def _summary(stored: StoredConnection) -> ConnectionSummary:
    return ConnectionSummary(name=stored.name, service=stored.service, fingerprint=stored.fingerprint)


def _out(stored: StoredConnection, shown: dict[str, Any] | None) -> ConnectionOut:
    return ConnectionOut(
        name=stored.name,
        service=stored.service,
        fingerprint=stored.fingerprint,
        key_id=stored.key_id,
        updated_at=stored.updated_at,
        public_fields=shown,
    )


def _check(body: ConnectionIn) -> None:
    if body.service in RESERVED_SERVICES:
        raise ApiError(
            422,
            f"service: {body.service} connections are the llm-gateway's provider keys "
            "(PUT /v1/llm/keys/{provider} on the llm-gateway)",
            code="invalid_request",
        )
    reasons = problems(body.service, body.secrets)
    if reasons:
        raise ApiError(422, "secrets: " + "; ".join(reasons), code="invalid_connection")


def connection_router(catalogue: ConnectionCatalogue, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1/connections", tags=["connections"])
    viewer, admin = (Depends(auth.require(role)) for role in ("viewer", "admin"))

    async def existing(tenant_id: str, name: str) -> StoredConnection:
        stored = await catalogue.describe(tenant_id, name)
        if stored is None:
            raise ApiError(404, f"no connection {name!r}")
        return stored

    @router.put(
        "/{name}",
        response_model=ConnectionOut,
        response_description="stored, replacing the connection of that name",
        responses={201: {"model": ConnectionOut, "description": "stored (a new connection)"}},
        summary="Store or replace a connection",
    )
    async def put_connection(
        name: NewName, body: ConnectionIn, response: Response, principal: Principal = admin
    ) -> ConnectionOut:
        _check(body)
        tenant_id = principal.tenant_id
        replaced = await catalogue.describe(tenant_id, name) is not None
        try:
            stored = await catalogue.put(tenant_id, name, body.service, body.secrets)
        except VaultError as error:  # no master key configured: a deployment fault, not the caller's
            raise ApiError(503, str(error), code="vault_unavailable") from None
        if stored is None:
            raise ApiError(409, f"connection {name!r} was deleted while it was stored; store it again")
        response.status_code = 200 if replaced else 201
        log.info(
            "connection %s/%s (%s) %s by key %s, fingerprint %s",
            tenant_id,
            name,
            body.service,
            "replaced" if replaced else "stored",
            principal.key_id,
            stored.fingerprint,
        )
        return _out(stored, public_fields(body.service, body.secrets))

    @router.get("", response_model=ConnectionList, summary="The tenant's connections (never their secrets)")
    async def list_connections(principal: Principal = viewer) -> ConnectionList:
        return ConnectionList(connections=[_summary(s) for s in await catalogue.list(principal.tenant_id)])

    @router.get("/{name}", response_model=ConnectionOut, summary="One connection (never its secrets)")
    async def get_connection(name: Name, principal: Principal = viewer) -> ConnectionOut:
        stored = await existing(principal.tenant_id, name)
        try:
            connection = await catalogue.open(principal.tenant_id, name)
        except VaultError:  # sealed with a key that is no longer configured: describe it all the same
            return _out(stored, None)
        return _out(stored, public_fields(stored.service, connection.secrets))

    @router.delete("/{name}", status_code=204, summary="Remove a connection")
    async def delete_connection(name: Name, principal: Principal = admin) -> Response:
        if not await catalogue.delete(principal.tenant_id, name):
            raise ApiError(404, f"no connection {name!r}")
        log.info("connection %s/%s deleted by key %s", principal.tenant_id, name, principal.key_id)
        return Response(status_code=204)

    return router
