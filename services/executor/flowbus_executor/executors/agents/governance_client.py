"""The governance service as an agent step sees it: a check before every tool call, the state of
an approval it waits for, and the run's outcome as feedback on the agent's confidence. Calls go
as the step's tenant (a `service` API key with `X-Flowbus-Tenant`). No governance configured is a
permanent failure: an agent never acts ungoverned."""

from __future__ import annotations

from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.http import json_body, send
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

SERVICE = "governance"


def _base(deps: ExecutorDeps) -> str:
    base = deps.settings.governance_url
    if not base:
        raise StepFailure("no_governance", "agents act only under governance: set FLOWBUS_GOVERNANCE_URL")
    return base.rstrip("/")


def _auth(deps: ExecutorDeps, request: StepRequest) -> tuple[dict[str, str], list[str]]:
    headers = {"x-flowbus-tenant": request.tenant_id}
    key = deps.settings.governance_api_key
    if key is None:
        return headers, []
    headers["authorization"] = f"Bearer {key.get_secret_value()}"
    return headers, [key.get_secret_value()]


async def _call(
    deps: ExecutorDeps, request: StepRequest, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    headers, secrets = _auth(deps, request)
    response = await send(
        deps.http,
        method,
        f"{_base(deps)}{path}",
        request=request,
        service=SERVICE,
        secrets=secrets,
        idempotency_header=None,
        headers=headers,
        json=body,
    )
    answer = json_body(response, service=SERVICE)
    if not isinstance(answer, dict):
        raise StepFailure("bad_response", "governance answered without a JSON object", retryable=True)
    return answer


async def check(
    deps: ExecutorDeps, request: StepRequest, agent_id: str, action: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """The decision for one tool call; an approval it opens is tied to this step attempt."""
    body = {
        "agent_id": agent_id,
        "action": action,
        "payload": payload,
        "require_approval": False,
        "execution_id": request.execution_id,
        "step_id": request.step_id,
        "attempt": request.attempt,
    }
    answer = await _call(deps, request, "POST", "/v1/governance/check", body)
    if answer.get("verdict") not in ("allow", "deny", "approval_required"):
        raise StepFailure("bad_response", "governance answered without a verdict", retryable=True)
    return answer


async def approval(deps: ExecutorDeps, request: StepRequest, approval_id: str) -> dict[str, Any]:
    return await _call(deps, request, "GET", f"/v1/approvals/{approval_id}")


async def report_outcome(deps: ExecutorDeps, request: StepRequest, agent_id: str, success: bool) -> None:
    """The run's outcome moves the agent's confidence, once per step (the feedback id says which);
    an agent governance does not know is no error here (its checks were denied anyway)."""
    body = {"feedback_id": f"run:{request.execution_id}:{request.step_id}", "success": success}
    try:
        await _call(deps, request, "POST", f"/v1/agents/{agent_id}/feedback", body)
    except StepFailure as failure:
        if failure.error_type != "not_found":
            raise
