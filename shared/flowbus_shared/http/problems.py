"""Errors as RFC 9457 problem details (`application/problem+json`), with a clear reason.

Each problem also carries an `error` member in the OpenAI error shape
({message, type, code}), so OpenAI SDKs pointed at a flowbus API show the reason too.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM = "application/problem+json"
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    402: "budget_exceeded",
}


class ApiError(Exception):
    def __init__(
        self, status: int, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.headers = headers or {}


def problem(
    status: int, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    kind = _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    try:  # with type about:blank, the title is the status' phrase (RFC 9457 4.2.1)
        title = HTTPStatus(status).phrase
    except ValueError:
        title = kind.replace("_", " ")
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        **(extra or {}),
        "error": {"message": detail, "type": kind, "code": code},
    }


def problem_response(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem(status, detail, code=code, extra=extra),
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


def _where(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location if part != "body") or "body"


def install_problem_handlers(app: FastAPI) -> None:
    async def api_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return problem_response(error.status, error.detail, code=error.code, headers=error.headers)

    async def http_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        headers = dict(error.headers or {})
        code = getattr(error, "code", None)
        return problem_response(error.status_code, str(error.detail), code=code, headers=headers)

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        faults = [{"field": _where(tuple(e["loc"])), "reason": e["msg"]} for e in error.errors()]
        first = faults[0] if faults else {"field": "body", "reason": "invalid"}
        return problem_response(
            422, f"{first['field']}: {first['reason']}", code="invalid_request", extra={"faults": faults}
        )

    async def internal(request: Request, _error: Exception) -> JSONResponse:
        # Starlette logs the exception; the caller gets the request id to report, no details.
        request_id = getattr(request.state, "request_id", None)
        detail = "internal error" + (f"; request id {request_id}" if request_id else "")
        headers = {"x-request-id": request_id} if request_id else None
        return problem_response(500, detail, code="internal_error", headers=headers)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(Exception, internal)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
