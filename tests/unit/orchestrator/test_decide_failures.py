"""decide(): retries, timeouts, optional steps, unresolved references and late results, against replay."""

from __future__ import annotations

import copy
from datetime import timedelta

from flowbus_orchestrator.domain.progression import timer_id
from flowbus_shared.schemas import StepError, StepResult
from tests.unit.orchestrator.builders import RETRYING, define, started, step
from tests.unit.orchestrator.harness import EPOCH


class TestRetry:
    def test_a_retryable_failure_is_retried_with_back_off_until_retries_run_out(self) -> None:
        h = started(RETRYING)
        h.fail("a", "server_error", retryable=True)
        (failed,) = h.of("step.failed")
        assert failed["retry_at"] == (EPOCH + timedelta(seconds=5)).isoformat()
        assert h.timer("a", "retry").fire_at == EPOCH + timedelta(seconds=5)
        assert h.state.status == "running"
        assert h.pending == []

        h.fire("a", "retry")
        request = h.request("a")
        assert request.attempt == 2
        assert request.idempotency_key == "ex-1:a:2"
        assert h.state.steps["a"].retries == 1
        assert h.state.steps["a"].visits == 1

        h.fail("a", "server_error", retryable=True)
        assert h.timer("a", "retry").fire_at == h.now + timedelta(seconds=15)
        h.fire("a", "retry")
        assert h.request("a").attempt == 3

        h.fail("a", "server_error", retryable=True)
        assert h.of("step.failed")[-1]["retry_at"] is None
        assert h.state.status == "failed"
        assert (h.state.error or {}).get("error_type") == "server_error"
        assert h.timers == {}
        assert "execution.completed" not in h.types()
        assert "b" not in h.requested_steps()
        h.replay_matches()

    def test_a_retry_that_succeeds_continues(self) -> None:
        h = started(RETRYING)
        h.fail("a", "timeout", retryable=False)  # a listed error class: retried though not flagged
        h.fire("a", "retry")
        h.succeed("a", {"ok": 1})
        assert h.pending_steps() == ["b"]
        assert h.state.steps["a"].status == "succeeded"
        assert h.state.steps["a"].error is None
        h.succeed("b")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_retry_after_seconds_lengthens_the_back_off(self) -> None:
        h = started(RETRYING)
        error = StepError(
            error_type="rate_limit", message="slow down", retryable=True, retry_after_seconds=90
        )
        h.send(StepResult(execution_id="ex-1", step_id="a", attempt=1, status="failed", error=error))
        assert h.timer("a", "retry").fire_at == EPOCH + timedelta(seconds=90)
        h.replay_matches()

    def test_a_non_retryable_failure_fails_at_once(self) -> None:
        h = started(RETRYING)
        h.fail("a", "validation", retryable=False, message="bad input")
        assert h.state.status == "failed"
        assert h.state.error == {
            "step_id": "a",
            "scope": [],
            "error_type": "validation",
            "message": "bad input",
            "retryable": False,
            "retry_after_seconds": None,
        }
        assert h.last.timers == []
        assert h.of("step.failed")[0]["retry_at"] is None
        h.replay_matches()

    def test_an_optional_step_failure_continues(self) -> None:
        definition = define(step("a", "api_call", "b", optional=True), step("b"))
        h = started(definition)
        h.fail("a", "validation")
        assert h.state.steps["a"].status == "failed"
        assert h.of("warning")[0]["message"] == "optional step a failed; continuing"
        assert h.pending_steps() == ["b"]
        h.succeed("b")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_step_timeout_is_a_retryable_timeout(self) -> None:
        definition = define(step("a", timeout_seconds=10))
        h = started(definition)
        h.fire("a", "step-timeout")
        assert h.now == EPOCH + timedelta(seconds=10)
        (failed,) = h.of("step.failed")
        assert failed["error"]["error_type"] == "timeout"
        assert failed["error"]["retryable"] is True
        assert failed["retry_at"] is not None
        h.fire("a", "retry")
        assert h.request("a").attempt == 2
        h.succeed("a")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_result_cancels_the_step_timeout(self) -> None:
        h = started(define(step("a")))
        h.succeed("a")
        assert h.last.cancel_timers == [timer_id("ex-1", "a", 1, "step-timeout")]
        assert h.timers == {}

    def test_a_late_result_for_an_old_attempt_is_ignored(self) -> None:
        h = started(RETRYING)
        h.fail("a", "server_error", retryable=True)
        h.fire("a", "retry")
        before = copy.deepcopy(h.state.to_dict())
        decision = h.send(StepResult(execution_id="ex-1", step_id="a", attempt=1, status="succeeded"))
        assert [kind for kind, _ in decision.events] == ["result.ignored"]
        assert decision.events[0][1]["attempt"] == 1
        assert (decision.requests, decision.timers, decision.cancel_timers) == ([], [], [])
        after = h.state.to_dict()
        assert after.pop("version") == before.pop("version") + 1
        assert after == before
        h.replay_matches()

    def test_a_result_while_waiting_to_retry_is_ignored(self) -> None:
        h = started(RETRYING)
        h.fail("a", "server_error", retryable=True)
        decision = h.succeed("a")
        assert [kind for kind, _ in decision.events] == ["result.ignored"]
        assert h.state.steps["a"].status == "failed"
        h.replay_matches()

    def test_a_stale_timer_is_ignored(self) -> None:
        h = started(define(step("a")))
        timer = h.timer("a", "step-timeout")
        h.succeed("a")
        h.timers[timer.timer_id] = timer  # as if the cancel lost the race
        decision = h.fire("a", "step-timeout")
        assert [kind for kind, _ in decision.events] == ["result.ignored"]
        assert h.state.status == "completed"
        h.replay_matches()


class TestReferences:
    def test_an_unresolved_reference_fails_the_step_without_retry(self) -> None:
        definition = define(step("a", "api_call", "b", config={"x": "{{nope.deep}}"}), step("b"))
        h = started(definition)
        assert h.requests == []
        assert h.timers == {}
        (failed,) = h.of("step.failed")
        assert failed["error"]["error_type"] == "unresolved_reference"
        assert "nope.deep" in failed["error"]["message"]
        assert failed["retry_at"] is None
        assert h.state.status == "failed"
        assert (h.state.error or {}).get("error_type") == "unresolved_reference"
        h.replay_matches()

    def test_an_unresolved_reference_in_an_optional_step_continues(self) -> None:
        definition = define(step("a", "api_call", "b", config={"x": "{{nope}}"}, optional=True), step("b"))
        h = started(definition)
        assert h.pending_steps() == ["b"]
        h.replay_matches()
