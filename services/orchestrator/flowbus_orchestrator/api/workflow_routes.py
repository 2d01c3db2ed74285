"""Workflows: register (JSON or YAML), validate, list, read, and generate from a request.

- POST /v1/workflows (admin): 201 with the stored version, 200 when it equals the latest
- POST /v1/workflows/validate (viewer): {valid, faults, complexity}
- GET /v1/workflows, GET /v1/workflows/{id}?version= (viewer)
- POST /v1/workflows/generate (operator; admin to register the result)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from flowbus_orchestrator.adapters.generator import GenerationFailed
from flowbus_orchestrator.api.bodies import DEFINITION_BODY, InvalidDefinition, decode_definition
from flowbus_orchestrator.api.cursors import MAX_CURSOR, decode_cursor, encode_cursor
from flowbus_orchestrator.api.deps import ApiDeps
from flowbus_orchestrator.api.views import workflow_detail, workflow_summary
from flowbus_orchestrator.domain.complexity import complexity_report
from flowbus_orchestrator.domain.definitions import IDENTIFIER, WorkflowDefinition
from flowbus_orchestrator.domain.validation import DefinitionError, Fault, parse_definition
from flowbus_shared.auth import Principal, role_allows
from flowbus_shared.http import ApiError


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    request: str = Field(min_length=1, max_length=4000, description="what the workflow should do")
    store_it: bool = Field(
        default=True, alias="register", description="store the result as the tenant's workflow (admin)"
    )


def faults_out(faults: list[Fault]) -> list[dict[str, str]]:
    return [{"field": fault.path, "reason": fault.message} for fault in faults]


async def _definition_in(request: Request) -> WorkflowDefinition:
    data = decode_definition(await request.body(), request.headers.get("content-type"))
    try:
        return parse_definition(data)
    except DefinitionError as error:
        raise InvalidDefinition(error.faults) from None


def workflow_router(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/v1/workflows", tags=["workflows"])
    viewer, operator, admin = (deps.caller(role) for role in ("viewer", "operator", "admin"))
    definitions = deps.definitions

    @router.post("", status_code=201, openapi_extra=DEFINITION_BODY)
    async def register(request: Request, response: Response, principal: Principal = admin) -> dict[str, Any]:
        definition = await _definition_in(request)
        stored, created = await definitions.store(definition, tenant_id=principal.tenant_id)
        if not created:
            response.status_code = 200
        return workflow_detail(
            stored, await definitions.versions(definition.id, tenant_id=principal.tenant_id)
        )

    @router.post("/validate", openapi_extra=DEFINITION_BODY)
    async def validate(request: Request, _principal: Principal = viewer) -> dict[str, Any]:
        try:
            definition = await _definition_in(request)
        except InvalidDefinition as invalid:
            return {"valid": False, "faults": faults_out(invalid.faults), "complexity": None}
        return {"valid": True, "faults": [], "complexity": complexity_report(definition)}

    @router.get("")
    async def list_workflows(
        limit: int = Query(default=50, ge=1, le=500),
        cursor: str | None = Query(default=None, max_length=MAX_CURSOR),
        principal: Principal = viewer,
    ) -> dict[str, Any]:
        after = decode_cursor("workflows", cursor, 1)[0] if cursor else None
        page = await definitions.latest_page(tenant_id=principal.tenant_id, after=after, limit=limit + 1)
        more = len(page) > limit
        page = page[:limit]
        return {
            "workflows": [workflow_summary(stored) for stored in page],
            "next_cursor": encode_cursor("workflows", [page[-1].definition.id]) if more else None,
        }

    @router.get("/{workflow_id}")
    async def get_workflow(
        workflow_id: str = Path(pattern=IDENTIFIER),
        version: int | None = Query(default=None, ge=1),
        principal: Principal = viewer,
    ) -> dict[str, Any]:
        stored = await definitions.find(workflow_id, version, tenant_id=principal.tenant_id)
        if stored is None:
            which = f" version {version}" if version is not None else ""
            raise ApiError(404, f"no workflow {workflow_id!r}{which}")
        return workflow_detail(stored, await definitions.versions(workflow_id, tenant_id=principal.tenant_id))

    @router.post("/generate", status_code=201)
    async def generate(
        body: GenerateIn, response: Response, principal: Principal = operator
    ) -> dict[str, Any]:
        if body.store_it and not role_allows(principal.role, "admin"):
            raise ApiError(403, "registering a generated workflow needs the admin role; send register: false")
        if deps.generator is None:
            raise ApiError(
                503, "generation needs the llm-gateway: set FLOWBUS_LLM_GATEWAY_URL", code="no_gateway"
            )
        try:
            draft = await deps.generator.draft(body.request, tenant_id=principal.tenant_id)
        except GenerationFailed as failed:
            if failed.upstream:
                raise ApiError(502, failed.reason, code="llm_gateway_failed") from None
            faults = [
                Fault(*fault.split(": ", 1)) if ": " in fault else Fault("definition", fault)
                for fault in failed.faults
            ]
            raise InvalidDefinition(faults or [Fault("definition", failed.reason)], failed.reason) from None
        if not body.store_it:
            response.status_code = 200
            return {
                "workflow_id": draft.id,
                "name": draft.name,
                "description": draft.description,
                "version": draft.version,
                "triggers": list(draft.triggers),
                "step_count": len(draft.steps),
                "complexity": complexity_report(draft),
                "created_at": None,
                "builtin": False,
                "definition": draft.model_dump(mode="json"),
                "versions": [],
            }
        stored, created = await definitions.store(draft, tenant_id=principal.tenant_id)
        if not created:
            response.status_code = 200
        return workflow_detail(stored, await definitions.versions(draft.id, tenant_id=principal.tenant_id))

    return router
