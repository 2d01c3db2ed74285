"""The orchestrator's FastAPI application, on the factory every service shares."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from flowbus_orchestrator.api.bodies import InvalidDefinition
from flowbus_orchestrator.api.control_routes import control_router
from flowbus_orchestrator.api.deps import ApiDeps
from flowbus_orchestrator.api.execution_routes import execution_router
from flowbus_orchestrator.api.trigger_routes import trigger_router
from flowbus_orchestrator.api.workflow_routes import faults_out, workflow_router
from flowbus_shared.http.problems import problem_response
from flowbus_shared.http.service_app import ServiceApi

DESCRIPTION = (
    "Workflows (register as JSON or YAML, validate, generate), executions (start and wait, "
    "list, read, events, resume, fork, cancel, approve, reject, lineage, stats) and triggers, "
    "scoped by the caller's tenant."
)


def install_api(api: ServiceApi, deps: ApiDeps) -> FastAPI:
    """The routes on the shared application (whose middleware bounds bodies, FLOWBUS_API_MAX_BODY_BYTES)."""
    app = api.app

    async def invalid_definition(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, InvalidDefinition)
        return problem_response(
            422, str(error), code="invalid_definition", extra={"faults": faults_out(error.faults)}
        )

    app.add_exception_handler(InvalidDefinition, invalid_definition)
    app.include_router(workflow_router(deps))
    app.include_router(execution_router(deps))
    app.include_router(control_router(deps))
    app.include_router(trigger_router(deps))
    return app
