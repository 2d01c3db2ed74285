"""The common shape of every step-running service: consume a step queue, run
the step's handler with a deadline, publish the StepResult.

Handlers raise StepFailure to fail with a classification; timeouts and
connection errors are retryable, anything unexpected is a permanent
`internal_error` (its text is kept, never a secret the handler did not put there).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from flowbus_shared import metrics
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.bus import Delivery, MessageBus
from flowbus_shared.schemas import StepError, StepRequest, StepResult
from flowbus_shared.step_tracing import record_outcome, step_span
from flowbus_shared.topics import STEP_RESULTS, TopicSpec

log = logging.getLogger("flowbus.steps")

StepHandler = Callable[[StepRequest], Awaitable[dict[str, Any]]]


class StepFailure(Exception):
    """A step attempt failed; `retryable` tells the orchestrator whether to try again."""

    def __init__(
        self,
        error_type: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.retryable = retryable
        self.retry_after_seconds = retry_after_seconds


def result_id(request: StepRequest) -> str:
    """Deterministic: a result sent twice for one attempt is one message to the orchestrator."""
    return f"result:{request.idempotency_key}"


def failure_result(
    request: StepRequest, error: StepError, *, executed_by: str, duration_ms: float = 0.0
) -> StepResult:
    return StepResult(
        message_id=result_id(request),
        execution_id=request.execution_id,
        step_id=request.step_id,
        attempt=request.attempt,
        status="failed",
        error=error,
        duration_ms=duration_ms,
        executed_by=executed_by,
    )


async def run_step(
    handlers: Mapping[str, StepHandler], request: StepRequest, *, executed_by: str
) -> StepResult:
    """Run one step attempt to a StepResult; never raises for a step's own failure."""
    started = time.perf_counter()

    def elapsed() -> float:
        return (time.perf_counter() - started) * 1000

    handler = handlers.get(request.step_type)
    if handler is None:
        error = StepError(
            error_type="unsupported_step_type",
            message=f"{executed_by} has no handler for step type {request.step_type!r}",
        )
        return failure_result(request, error, executed_by=executed_by)
    try:
        output = await asyncio.wait_for(handler(request), timeout=request.timeout_seconds)
    except StepFailure as failure:
        error = StepError(
            error_type=failure.error_type,
            message=failure.message,
            retryable=failure.retryable,
            retry_after_seconds=failure.retry_after_seconds,
        )
        return failure_result(request, error, executed_by=executed_by, duration_ms=elapsed())
    except TimeoutError:
        error = StepError(
            error_type="timeout",
            message=f"step did not finish within {request.timeout_seconds} s",
            retryable=True,
        )
        return failure_result(request, error, executed_by=executed_by, duration_ms=elapsed())
    except (ConnectionError, OSError) as failure:
        error = StepError(
            error_type="connection", message=str(failure) or type(failure).__name__, retryable=True
        )
        return failure_result(request, error, executed_by=executed_by, duration_ms=elapsed())
    except Exception as failure:
        log.exception("step %s of %s failed unexpectedly", request.step_id, request.execution_id)
        error = StepError(error_type="internal_error", message=f"{type(failure).__name__}: {failure}")
        return failure_result(request, error, executed_by=executed_by, duration_ms=elapsed())
    return StepResult(
        message_id=result_id(request),
        execution_id=request.execution_id,
        step_id=request.step_id,
        attempt=request.attempt,
        status="succeeded",
        output=output,
        confidence=_confidence(output),
        duration_ms=elapsed(),
        executed_by=executed_by,
    )


def _confidence(output: dict[str, Any]) -> float | None:
    value = output.get("confidence")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


class StepWorker:
    """Subscribes `handlers` to one step queue and answers on `step-results`."""

    def __init__(
        self,
        *,
        name: str,
        bus: MessageBus,
        queue: TopicSpec,
        group: str,
        handlers: Mapping[str, StepHandler],
        attempts: AttemptLog,
    ) -> None:
        self.name = name
        self._bus = bus
        self._queue = queue
        self._group = group
        self._handlers = handlers
        self._attempts = attempts

    def register(self) -> None:
        self._bus.subscribe(self._queue, group=self._group, handler=self._on_request)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def _on_request(self, request: StepRequest, delivery: Delivery) -> None:
        # A redelivered request (same idempotency key) gets the recorded result again;
        # its side effect does not run twice.
        result = await self._attempts.recorded(request.idempotency_key)
        replayed = result is not None
        with step_span(request, self._queue.suffix, delivery.headers, replayed=replayed) as span:
            if result is None:
                result = await run_step(self._handlers, request, executed_by=self.name)
                error_type = result.error.error_type if result.error is not None else None
                metrics.step_attempt(request.step_type, result.status, error_type, result.duration_ms)
                result = await self._attempts.record(request.idempotency_key, self.name, result)
            record_outcome(span, result, replayed=replayed)
            await self._bus.publish(STEP_RESULTS, result)
