"""The gateway's failures as HTTP problems: the status a client (and an OpenAI SDK) acts on."""

from __future__ import annotations

from flowbus_llm_gateway.gateway import NoProvider
from flowbus_llm_gateway.ledger import BudgetExceeded, LedgerError
from flowbus_llm_gateway.providers.base import ProviderError
from flowbus_llm_gateway.routing import NoCandidateError
from flowbus_shared.http import ApiError

# Permanent provider failures: the request itself was refused upstream (400), or the
# tenant's own provider key was (502: the gateway's upstream failed, not the client's call).
_PERMANENT_STATUS = {"bad_request": 400, "content_filter": 400, "not_found": 404, "unauthorized": 502}


def api_error_of(error: BaseException) -> ApiError:
    if isinstance(error, ApiError):
        return error
    if isinstance(error, NoProvider):
        return ApiError(400, str(error), code="no_provider")
    if isinstance(error, BudgetExceeded):
        return ApiError(402, str(error), code="budget_exceeded")
    if isinstance(error, NoCandidateError):
        return ApiError(
            503,
            "every candidate provider is cooling down after failures",
            code="providers_down",
            headers={"retry-after": "5"},
        )
    if isinstance(error, ProviderError):
        wait = (
            {"retry-after": str(max(1, round(error.retry_after_seconds)))}
            if error.retry_after_seconds
            else {}
        )
        if error.retryable or error.partial:
            status = 429 if error.kind == "rate_limit" else 503
            return ApiError(status, str(error), code=error.kind, headers=wait)
        return ApiError(_PERMANENT_STATUS.get(error.kind, 502), str(error), code=error.kind)
    if isinstance(error, LedgerError):
        return ApiError(409, str(error), code="ledger_conflict")
    if isinstance(error, TimeoutError):
        return ApiError(504, "the provider did not answer in time", code="timeout")
    return ApiError(500, f"internal error ({type(error).__name__})", code="internal_error")
