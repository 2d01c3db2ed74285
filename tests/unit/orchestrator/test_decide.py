"""decide(): every semantic of the engine, driven through the pure harness, each checked against replay."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.progression import timer_id
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_orchestrator.predefined import predefined_workflows
from flowbus_shared.schemas import StepError, StepRequest, StepResult
from tests.unit.orchestrator.harness import EPOCH, Harness


def define(*steps: dict[str, Any], start: str | None = None) -> WorkflowDefinition:
    return parse_definition(
        {"id": "wf", "name": "test workflow", "start_step_id": start or steps[0]["id"], "steps": list(steps)}
    )


def step(step_id: str, type_: str = "api_call", *then: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": type_, "next_steps": list(then), **extra}


def started(definition: WorkflowDefinition, input_: dict[str, Any] | None = None) -> Harness:
    harness = Harness(definition)
    harness.start(input_ or {})
    return harness


def echo(request: StepRequest) -> dict[str, Any]:
    return {"step": request.step_id}


def predefined(workflow_id: str) -> WorkflowDefinition:
    (definition,) = [w for w in predefined_workflows() if w.id == workflow_id]
    return definition


LINEAR = define(
    step("a", "data_transformation", "b", config={"output": {"n": "{{input.n}}"}}),
    step("b", "api_call", "c", config={"value": "{{a.n}}"}),
    step("c", "email_send"),
)


class TestLinear:
    def test_runs_to_completion_one_step_at_a_time(self) -> None:
        h = started(LINEAR, {"n": 7})
        assert h.state.status == "running"
        assert h.pending_steps() == ["a"]
        h.succeed("a", {"n": 7})
        assert h.pending_steps() == ["b"]
        assert h.request("b").config == {"value": 7}
        h.succeed("b", {"sent": True})
        h.succeed("c", {"id": "m-1"})
        assert h.state.status == "completed"
        assert h.state.finished_at == EPOCH.isoformat()
        assert h.state.outputs() == {"a": {"n": 7}, "b": {"sent": True}, "c": {"id": "m-1"}}
        assert h.types() == [
            "execution.started",
            *["step.scheduled", "step.succeeded"] * 3,
            "execution.completed",
        ]
        assert h.state.active == {}
        h.replay_matches()

    def test_the_request_carries_the_resolved_config_with_types_kept(self) -> None:
        definition = define(
            step(
                "a",
                config={
                    "count": "{{input.count}}",
                    "flags": ["{{input.on}}", "${ input.nothing }"],
                    "order": "{{ input.order }}",
                    "text": "order {{input.order.id}} x{{input.count}}",
                    "literal": 3.5,
                },
                timeout_seconds=12,
            )
        )
        h = started(
            definition, {"count": 3, "on": True, "nothing": None, "order": {"id": "o-1", "lines": [1, 2]}}
        )
        ((queue, request),) = h.pending
        assert queue == "executor"
        assert request.config == {
            "count": 3,
            "flags": [True, None],
            "order": {"id": "o-1", "lines": [1, 2]},
            "text": "order o-1 x3",
            "literal": 3.5,
        }
        assert request.message_id == request.idempotency_key == "ex-1:a:1"
        assert (request.step_type, request.attempt, request.workflow_id, request.tenant_id) == (
            "api_call",
            1,
            "wf",
            "default",
        )
        assert request.timeout_seconds == 12
        assert h.timer("a", "step-timeout").fire_at == EPOCH + timedelta(seconds=12)
        assert h.timer("a", "step-timeout").timer_id == timer_id("ex-1", "a", 1, "step-timeout")
        scheduled = h.of("step.scheduled")[0]
        assert scheduled["config"] == request.config
        h.replay_matches()

    def test_the_resolved_config_is_a_copy(self) -> None:
        h = started(define(step("a", config={"order": "{{input.order}}"})), {"order": {"id": 1}})
        h.request("a").config["order"]["id"] = 2
        assert h.state.input == {"order": {"id": 1}}

    @pytest.mark.parametrize(
        ("step_type", "queue"),
        [("nlu_analysis", "llm"), ("governance_check", "governance"), ("slack_notification", "executor")],
    )
    def test_each_step_type_goes_to_its_queue(self, step_type: str, queue: str) -> None:
        h = started(define(step("a", step_type)))
        assert [q for q, _ in h.pending] == [queue]
        assert h.of("step.scheduled")[0]["queue"] == queue
        h.replay_matches()


class TestConditional:
    ROUTE = define(
        step("start", "api_call", "route"),
        step(
            "route",
            "conditional_logic",
            config={
                "conditions": [
                    {"if": "x > 1", "then": ["high"]},
                    {"if": "x > 0", "then": "mid"},
                    {"else": ["low"]},
                ]
            },
        ),
        step("high"),
        step("mid"),
        step("low"),
    )

    def routed(self, input_: dict[str, Any]) -> Harness:
        h = started(self.ROUTE, input_)
        h.succeed("start")
        return h

    def test_the_first_matching_branch_is_taken(self) -> None:
        h = self.routed({"x": 5})
        assert h.pending_steps() == ["high"]
        assert h.state.steps["route"].output == {
            "condition_met": True,
            "branch": "x > 1",
            "next_steps": ["high"],
        }
        h.succeed("high")
        assert h.state.status == "completed"
        assert h.requested_steps() == ["start", "high"]
        h.replay_matches()

    def test_a_later_branch_when_the_first_does_not_match(self) -> None:
        h = self.routed({"x": 1})
        assert h.pending_steps() == ["mid"]
        h.replay_matches()

    def test_the_else_branch_really_routes(self) -> None:
        h = self.routed({"x": -4})
        assert h.pending_steps() == ["low"]
        assert h.state.steps["route"].output == {
            "condition_met": False,
            "branch": "else",
            "next_steps": ["low"],
        }
        h.succeed("low")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_missing_variable_is_false_and_recorded_as_a_warning(self) -> None:
        h = self.routed({})
        assert h.pending_steps() == ["low"]
        warnings = [d["message"] for d in h.of("warning")]
        assert len(warnings) == 2
        assert warnings[0].startswith("steps.route.config.conditions[0].if: 'x' is not defined")
        assert warnings[1].startswith("steps.route.config.conditions[1].if: 'x' is not defined")
        assert h.state.warnings == warnings
        h.replay_matches()

    def test_no_branch_and_no_else_ends_the_path(self) -> None:
        definition = define(
            step("route", "conditional_logic", config={"conditions": [{"if": "x == 1", "then": ["a"]}]}),
            step("a"),
        )
        h = started(definition, {"x": 2})
        assert h.pending == []
        assert h.state.status == "completed"
        assert h.state.steps["route"].output == {"condition_met": False, "branch": None, "next_steps": []}
        h.replay_matches()

    def test_a_branch_may_start_several_paths(self) -> None:
        definition = define(
            step("route", "conditional_logic", config={"conditions": [{"if": "true", "then": ["a", "b"]}]}),
            step("a"),
            step("b"),
        )
        h = started(definition)
        assert h.pending_steps() == ["a", "b"]
        h.succeed("a")
        assert h.state.status == "running"
        h.succeed("b")
        assert h.state.status == "completed"
        h.replay_matches()


class TestStepCondition:
    FLAGGED = define(
        step("a", "api_call", "b"), step("b", "email_send", "c", condition="flag == true"), step("c")
    )

    def test_a_false_condition_skips_the_step_and_the_path_continues(self) -> None:
        h = started(self.FLAGGED, {"flag": False})
        h.succeed("a")
        assert h.of("step.skipped") == [{"step_id": "b", "reason": "condition 'flag == true' is false"}]
        assert h.pending_steps() == ["c"]
        h.succeed("c")
        assert h.state.status == "completed"
        assert h.state.steps["b"].status == "skipped"
        assert "b" not in h.requested_steps()
        h.replay_matches()

    def test_a_true_condition_runs_the_step(self) -> None:
        h = started(self.FLAGGED, {"flag": True})
        h.succeed("a")
        assert h.pending_steps() == ["b"]
        h.replay_matches()

    def test_a_condition_on_a_missing_variable_skips_with_a_warning(self) -> None:
        h = started(self.FLAGGED)
        h.succeed("a")
        assert h.state.steps["b"].status == "skipped"
        assert h.state.warnings == ["b.condition: 'flag' is not defined; the comparison counts as false"]
        h.replay_matches()

    def test_a_condition_reads_earlier_outputs(self) -> None:
        definition = define(step("a", "api_call", "b"), step("b", condition="a.ok"))
        h = started(definition)
        h.succeed("a", {"ok": True})
        assert h.pending_steps() == ["b"]
        h.replay_matches()


class TestParallel:
    FAN = define(
        step("p", "parallel_execution", "after", parallel_steps=["b1", "b2", "b3"]),
        step("b1", "api_call", "b1x"),
        step("b1x"),
        step("b2"),
        step("b3"),
        step("after"),
    )

    def test_fan_out_then_join_when_the_slowest_branch_finishes(self) -> None:
        h = started(self.FAN)
        assert h.pending_steps() == ["b1", "b2", "b3"]
        assert all(r.step_id != "after" for _, r in h.requests)
        assert h.of("branches.started") == [{"step_id": "p", "branches": ["b1", "b2", "b3"], "scope": []}]
        h.succeed("b2")
        h.succeed("b1")
        h.succeed("b3")
        assert "join.completed" not in h.types()  # b1's path goes on to b1x
        assert h.pending_steps() == ["b1x"]
        h.succeed("b1x")
        assert h.of("join.completed") == [
            {
                "step_id": "p",
                "branches": {"b1": "succeeded", "b2": "succeeded", "b3": "succeeded"},
                "succeeded": True,
            }
        ]
        assert h.pending_steps() == ["after"]
        h.succeed("after")
        assert h.state.status == "completed"
        assert h.requested_steps().count("after") == 1
        assert h.state.joins == {}
        h.replay_matches()

    def test_a_branch_failure_fails_the_execution(self) -> None:
        h = started(self.FAN)
        h.succeed("b2")
        h.fail("b1", "validation")
        assert h.state.status == "failed"
        assert h.state.error is not None
        assert (h.state.error["step_id"], h.state.error["scope"], h.state.error["error_type"]) == (
            "b1",
            ["p"],
            "validation",
        )
        assert h.last.cancel_timers == [
            timer_id("ex-1", "b1", 1, "step-timeout"),  # b1 answered
            timer_id("ex-1", "b3", 1, "step-timeout"),  # b3 is abandoned
        ]
        assert h.timers == {}
        h.succeed("b3")
        assert h.last.events[0][0] == "result.ignored"
        assert "after" not in h.requested_steps()
        assert "execution.completed" not in h.types()
        h.replay_matches()

    def test_continue_on_error_lets_the_join_go_on(self) -> None:
        definition = define(
            step("p", "parallel_execution", "after", parallel_steps=["b1", "b2"], continue_on_error=True),
            step("b1"),
            step("b2"),
            step("after"),
        )
        h = started(definition)
        h.fail("b1", "validation")
        assert h.state.status == "running"
        assert h.of("warning")[-1]["message"] == "branch step b1 failed; p continues on error"
        assert "after" not in h.pending_steps()
        h.succeed("b2")
        assert h.of("join.completed")[0]["branches"] == {"b1": "failed", "b2": "succeeded"}
        assert h.of("join.completed")[0]["succeeded"] is False
        assert h.state.steps["p"].status == "failed"  # reported honestly, and the run goes on
        h.succeed("after")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_skipped_branch_does_not_close_the_join_early(self) -> None:
        definition = define(
            step("p", "parallel_execution", "after", parallel_steps=["b1", "b2"]),
            step("b1", condition="false"),
            step("b2"),
            step("after"),
        )
        h = started(definition)
        assert h.pending_steps() == ["b2"]
        assert "join.completed" not in h.types()
        h.succeed("b2")
        assert h.of("join.completed")[0]["branches"] == {"b1": "skipped", "b2": "succeeded"}
        h.succeed("after")
        assert h.requested_steps() == ["b2", "after"]
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_branch_that_routes_nowhere_does_not_close_the_join_early(self) -> None:
        definition = define(
            step("p", "parallel_execution", "after", parallel_steps=["route", "b2"]),
            step("route", "conditional_logic", config={"conditions": [{"if": "false", "then": "x"}]}),
            step("x"),
            step("b2"),
            step("after"),
        )
        h = started(definition)
        assert h.pending_steps() == ["b2"]
        h.succeed("b2")
        h.succeed("after")
        assert h.requested_steps() == ["b2", "after"]
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_step_skipped_first_of_several_next_steps_does_not_end_the_execution(self) -> None:
        definition = define(step("a", "api_call", "s", "t"), step("s", condition="false"), step("t"))
        h = started(definition)
        h.succeed("a")
        assert h.pending_steps() == ["t"]
        assert h.state.status == "running"
        h.succeed("t")
        assert h.state.status == "completed"
        assert h.types().count("execution.completed") == 1
        h.replay_matches()

    def test_nested_parallel_steps_join_inside_out(self) -> None:
        definition = define(
            step("outer", "parallel_execution", "after", parallel_steps=["inner", "c"]),
            step("inner", "parallel_execution", "inner_after", parallel_steps=["x", "y"]),
            step("inner_after"),
            step("x"),
            step("y"),
            step("c"),
            step("after"),
        )
        h = started(definition)
        assert h.pending_steps() == ["x", "y", "c"]
        assert h.state.joins == {"outer": [], "inner": ["outer"]}
        h.succeed("c")
        h.succeed("x")
        h.succeed("y")
        assert [d["step_id"] for d in h.of("join.completed")] == ["inner"]
        assert h.pending_steps() == ["inner_after"]
        assert h.request("inner_after").attempt == 1
        h.succeed("inner_after")
        assert [d["step_id"] for d in h.of("join.completed")] == ["inner", "outer"]
        h.succeed("after")
        assert h.state.status == "completed"
        h.replay_matches()


RETRYING = define(
    step(
        "a",
        "api_call",
        "b",
        retry_policy={"max_retries": 2, "initial_delay_seconds": 5, "exponential_base": 3},
    ),
    step("b"),
)


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


class TestDelay:
    def test_a_delay_sets_a_timer_and_completes_when_it_fires(self) -> None:
        definition = define(step("wait", "delay", "b", config={"duration": 2, "unit": "minutes"}), step("b"))
        h = started(definition)
        assert h.pending == []
        assert h.of("step.waiting") == [
            {"step_id": "wait", "until": (EPOCH + timedelta(minutes=2)).isoformat()}
        ]
        assert h.timer("wait", "delay").fire_at == EPOCH + timedelta(minutes=2)
        assert h.state.status == "running"
        assert h.state.steps["wait"].status == "waiting"
        h.fire("wait", "delay")
        assert h.state.steps["wait"].output == {"waited_until": (EPOCH + timedelta(minutes=2)).isoformat()}
        assert h.pending_steps() == ["b"]
        h.succeed("b")
        assert h.state.status == "completed"
        h.replay_matches()


APPROVAL = define(
    step("ask", "approval_required", "b", config={"reason": "big order", "expires_in_seconds": 60}),
    step("b"),
)


class TestApproval:
    def test_approval_waits_and_approve_continues(self) -> None:
        h = started(APPROVAL)
        assert h.state.status == "waiting_approval"
        assert h.pending == []
        (asked,) = h.of("approval.requested")
        assert asked["reason"] == "big order"
        assert asked["expires_at"] == (EPOCH + timedelta(seconds=60)).isoformat()
        h.approve("ask", by="boss")
        assert h.state.status == "running"
        assert h.state.steps["ask"].output == {"approved_by": "boss", "comment": ""}
        assert h.last.cancel_timers == [timer_id("ex-1", "ask", 1, "approval-expiry")]
        h.succeed("b")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_reject_fails_with_the_reason(self) -> None:
        h = started(APPROVAL)
        h.reject("ask", reason="too expensive")
        assert h.state.status == "failed"
        assert h.state.error is not None
        assert h.state.error["message"] == "too expensive"
        assert h.state.error["error_type"] == "rejected"
        assert h.of("approval.rejected")[0]["by"] == "ana"
        assert "b" not in h.requested_steps()
        h.replay_matches()

    def test_an_expired_approval_fails(self) -> None:
        h = started(APPROVAL)
        h.fire("ask", "approval-expiry")
        assert h.now == EPOCH + timedelta(seconds=60)
        assert h.state.status == "failed"
        assert (h.state.error or {}).get("error_type") == "approval_expired"
        assert h.of("approval.rejected")[0]["by"] == "system"
        h.replay_matches()

    def test_an_approval_without_expiry_sets_no_timer(self) -> None:
        h = started(define(step("ask", "approval_required")))
        assert h.timers == {}
        assert h.of("approval.requested")[0]["expires_at"] is None

    def test_approving_a_step_that_is_not_waiting_is_rejected(self) -> None:
        h = started(APPROVAL)
        decision = h.approve("b")
        assert [kind for kind, _ in decision.events] == ["command.rejected"]
        assert h.state.status == "waiting_approval"
        h.replay_matches()

    def test_low_confidence_waits_for_approval(self) -> None:
        definition = define(step("guess", "nlu_analysis", "b", confidence_threshold=0.8), step("b"))
        h = started(definition)
        h.succeed("guess", {"intent": "refund"}, confidence=0.5)
        assert h.state.status == "waiting_approval"
        assert h.of("approval.requested")[0]["reason"] == "confidence 0.50 is below 0.80"
        assert h.pending == []
        h.approve("guess")
        assert h.state.steps["guess"].status == "succeeded"
        assert h.state.steps["guess"].output == {"intent": "refund"}
        assert h.pending_steps() == ["b"]
        h.succeed("b")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_enough_confidence_goes_straight_on(self) -> None:
        definition = define(step("guess", "nlu_analysis", "b", confidence_threshold=0.8), step("b"))
        h = started(definition)
        h.succeed("guess", {"intent": "refund"}, confidence=0.9)
        assert "approval.requested" not in h.types()
        assert h.pending_steps() == ["b"]
        h.replay_matches()

    def test_low_confidence_rejected_fails(self) -> None:
        definition = define(step("guess", "nlu_analysis", "b", confidence_threshold=0.8), step("b"))
        h = started(definition)
        h.succeed("guess", {"intent": "refund"}, confidence=0.5)
        h.reject("guess", reason="wrong intent")
        assert h.state.status == "failed"
        assert (h.state.error or {}).get("message") == "wrong intent"
        h.replay_matches()


class TestCancel:
    def test_cancel_stops_everything_and_later_results_are_ignored(self) -> None:
        definition = define(
            step("p", "parallel_execution", parallel_steps=["a", "wait"]),
            step("a"),
            step("wait", "delay", config={"delay_seconds": 30}),
        )
        h = started(definition)
        h.cancel(reason="changed my mind")
        assert h.state.status == "cancelled"
        assert sorted(h.last.cancel_timers) == sorted(
            [timer_id("ex-1", "a", 1, "step-timeout"), timer_id("ex-1", "wait", 1, "delay")]
        )
        assert h.timers == {}
        assert h.state.active == {}
        assert sorted(a.step_id for a in h.state.suspended) == ["a", "wait"]
        assert (h.state.error or {}).get("message") == "changed my mind"
        decision = h.succeed("a")
        assert [kind for kind, _ in decision.events] == ["result.ignored"]
        assert h.state.status == "cancelled"
        assert [kind for kind, _ in h.cancel().events] == ["command.rejected"]
        h.replay_matches()


class TestResume:
    def failed_at_b(self) -> Harness:
        h = started(LINEAR, {"n": 1})
        h.succeed("a", {"n": 1})
        h.fail("b", "validation")
        assert h.state.status == "failed"
        return h

    def test_a_failed_execution_resumes_at_the_failed_step_with_a_new_attempt(self) -> None:
        h = self.failed_at_b()
        h.resume()
        assert h.of("execution.resumed")[0]["steps"] == ["b"]
        assert h.state.status == "running"
        assert h.state.error is None
        request = h.request("b")
        assert request.attempt == 2
        assert request.idempotency_key == "ex-1:b:2"
        assert request.config == {"value": 1}
        h.succeed("b")
        h.succeed("c")
        assert h.state.status == "completed"
        assert h.requested_steps() == ["a", "b", "b", "c"]
        h.replay_matches()

    def test_resume_after_the_retries_ran_out_gets_fresh_retries(self) -> None:
        h = started(RETRYING)
        for _ in range(2):
            h.fail("a", "server_error", retryable=True)
            h.fire("a", "retry")
        h.fail("a", "server_error", retryable=True)
        assert h.state.status == "failed"
        h.resume()
        assert h.request("a").attempt == 4
        h.fail("a", "server_error", retryable=True)
        assert h.state.status == "running"
        assert h.timer("a", "retry").attempt == 4
        h.replay_matches()

    def test_resume_from_a_named_step(self) -> None:
        h = self.failed_at_b()
        h.resume(from_step_id="a")
        assert h.of("execution.resumed")[0]["steps"] == ["a"]
        assert h.request("a").attempt == 2
        h.run_executor(lambda r: {"n": 2} if r.step_id == "a" else {})
        assert h.request("b").config == {"value": 2}
        assert h.state.status == "completed"
        h.replay_matches()

    def test_resume_from_an_unknown_step_is_rejected(self) -> None:
        h = self.failed_at_b()
        assert [kind for kind, _ in h.resume(from_step_id="ghost").events] == ["command.rejected"]
        assert h.state.status == "failed"

    @pytest.mark.parametrize("finish", [False, True])
    def test_resuming_a_running_or_completed_execution_is_rejected(self, finish: bool) -> None:
        h = started(LINEAR, {"n": 1})
        if finish:
            h.run_executor(lambda _: {"n": 1})
        status = h.state.status
        decision = h.resume()
        assert [kind for kind, _ in decision.events] == ["command.rejected"]
        assert (decision.requests, decision.timers) == ([], [])
        assert h.state.status == status
        h.replay_matches()

    def test_a_cancelled_execution_resumes_what_was_in_flight(self) -> None:
        h = started(LINEAR, {"n": 1})
        h.cancel()
        h.resume()
        assert h.request("a").attempt == 2
        h.run_executor(lambda _: {"n": 1})
        assert h.types().count("result.ignored") == 1  # attempt 1, answered after the cancel
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_failed_parallel_resumes_every_unfinished_branch_and_joins(self) -> None:
        h = started(TestParallel.FAN)
        h.succeed("b2")
        h.fail("b1", "validation")
        h.resume()
        assert sorted(h.of("execution.resumed")[0]["steps"]) == ["b1", "b3"]
        assert (h.request("b1").attempt, h.request("b3").attempt) == (2, 2)
        h.run_executor(echo)
        assert h.state.status == "completed"
        assert h.requested_steps().count("after") == 1
        assert h.requested_steps().count("b2") == 1
        h.replay_matches()

    def test_a_resumed_path_that_ends_at_once_does_not_close_the_join_early(self) -> None:
        definition = define(
            step("p", "parallel_execution", "after", parallel_steps=["b1", "b2", "b3"]),
            step("b1", condition="not c.done"),
            step("b2", "api_call", "c"),
            step("c"),
            step("b3"),
            step("after"),
        )
        h = started(definition)
        h.succeed("b2")
        h.succeed("c", {"done": True})
        h.fail("b1", "validation")
        assert [a.step_id for a in h.state.suspended] == ["b3"]
        h.resume()  # b1 is now skipped: its path ends at once, while b3 is entered after it
        assert h.state.steps["b1"].status == "skipped"
        assert "join.completed" not in h.types()
        assert "after" not in h.requested_steps()
        assert h.request("b3").attempt == 2
        h.succeed("b3")
        h.succeed("after")
        assert h.state.status == "completed"
        assert h.requested_steps().count("after") == 1
        h.replay_matches()

    def test_a_waiting_execution_resumes_only_from_a_named_step(self) -> None:
        h = started(APPROVAL)
        assert [kind for kind, _ in h.resume().events] == ["command.rejected"]
        h.resume(from_step_id="b")
        assert h.of("execution.resumed")[0]["abandoned_approvals"] == ["ask"]
        assert h.last.cancel_timers == [timer_id("ex-1", "ask", 1, "approval-expiry")]
        assert h.state.status == "running"
        h.succeed("b")
        assert h.state.status == "completed"
        h.replay_matches()


FORKABLE = define(
    step("a", "nlu_analysis", "b"),
    step("b", "api_call", "c", config={"who": "{{name}}", "seen": "{{topic}}"}),
    step("c", "nlu_analysis"),
)


class TestFork:
    def source(self) -> Harness:
        h = started(FORKABLE, {"name": "Ada"})
        h.succeed("a", {"topic": "billing"})
        h.succeed("b", {"sent": True})
        h.succeed("c", {"late": "only after the fork point"})
        assert h.state.status == "completed"
        return h

    def test_a_fork_starts_a_new_execution_just_before_the_step(self) -> None:
        source = self.source()
        state_before = copy.deepcopy(source.state.to_dict())
        events_before = copy.deepcopy(source.events)
        fork = Harness(None, execution_id="ex-2")
        fork.fork_from(source, "b", {"name": "Grace"})

        started_event = fork.of("execution.started")[0]
        point = next(
            i
            for i, (kind, data) in enumerate(source.events)
            if kind == "step.scheduled" and data["step_id"] == "b"
        )
        assert started_event["parent"] == {"execution_id": "ex-1", "step_id": "b", "version": point}
        assert fork.state.parent == started_event["parent"]
        assert fork.state.variables == {"name": "Grace", "topic": "billing"}
        assert fork.state.input == {"name": "Ada"}
        assert set(fork.state.steps) == {"a", "b"}  # b: the step being run again
        assert fork.state.outputs() == {"a": {"topic": "billing"}}
        assert "late" not in fork.state.variables
        request = fork.request("b")
        assert request.config == {"who": "Grace", "seen": "billing"}
        assert request.idempotency_key == "ex-2:b:1"

        assert source.state.to_dict() == state_before
        assert source.events == events_before

        fork.run_executor(echo)
        assert fork.state.status == "completed"
        assert fork.requested_steps() == ["b", "c"]
        fork.replay_matches()

    def test_a_fork_at_the_first_step_copies_nothing(self) -> None:
        source = self.source()
        fork = Harness(None, execution_id="ex-2")
        fork.fork_from(source, "a")
        assert fork.state.outputs() == {}
        assert fork.state.variables == {"name": "Ada"}
        assert fork.pending_steps() == ["a"]
        fork.replay_matches()

    def test_a_fork_at_a_step_never_reached_is_rejected(self) -> None:
        source = started(FORKABLE, {"name": "Ada"})
        fork = Harness(None, execution_id="ex-2")
        decision = fork.fork_from(source, "c")
        assert [kind for kind, _ in decision.events] == ["command.rejected"]
        assert decision.requests == []

    def test_a_duplicate_fork_changes_nothing(self) -> None:
        source = self.source()
        fork = Harness(None, execution_id="ex-2")
        fork.fork_from(source, "b")
        decision = fork.fork_from(source, "b")
        assert (decision.events, decision.requests, decision.timers) == ([], [], [])

    def test_a_fork_inside_a_parallel_branch_still_joins(self) -> None:
        source = started(TestParallel.FAN)
        source.run_executor(echo)
        assert source.state.status == "completed"
        fork = Harness(None, execution_id="ex-2")
        fork.fork_from(source, "b3")
        assert fork.state.joins == {"p": []}
        assert fork.pending_steps() == ["b3"]
        fork.succeed("b3")
        assert fork.pending_steps() == ["after"]
        fork.succeed("after")
        assert fork.state.status == "completed"
        assert fork.types().count("join.completed") == 1
        fork.replay_matches()


class TestStart:
    def test_a_duplicate_start_changes_nothing(self) -> None:
        h = started(LINEAR, {"n": 1})
        before = h.state.to_dict()
        decision = h.start({"n": 2})
        assert (decision.events, decision.requests, decision.timers) == ([], [], [])
        assert h.state.to_dict() == before
        h.replay_matches()

    def test_a_start_without_a_definition_is_rejected(self) -> None:
        h = Harness(None)
        decision = h.start({"n": 1})
        assert [kind for kind, _ in decision.events] == ["command.rejected"]
        assert "no workflow" in decision.events[0][1]["reason"]
        assert (decision.requests, decision.timers) == ([], [])
        assert h.state.status == "pending"
        h.replay_matches()

    def test_the_start_records_where_it_came_from(self) -> None:
        h = Harness(LINEAR)
        h.start({"n": 1}, trigger_id="t-9", requested_by="ana", tenant_id="acme")
        data = h.of("execution.started")[0]
        assert (data["trigger_id"], data["requested_by"], data["tenant_id"]) == ("t-9", "ana", "acme")
        assert h.state.variables == h.state.input == {"n": 1}
        assert h.state.workflow_id == "wf"
        assert h.request("a").tenant_id == "acme"
        h.replay_matches()

    def test_decide_does_not_change_the_state_it_is_given(self) -> None:
        h = started(LINEAR, {"n": 1})
        state = h.state
        before = copy.deepcopy(state.to_dict())
        h.succeed("a", {"n": 1})
        assert state.to_dict() == before
        assert h.state is not state


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


class TestVariables:
    def test_nlu_output_becomes_variables(self) -> None:
        definition = define(step("nlu", "nlu_analysis", "b"), step("b", config={"p": "{{priority}}"}))
        h = started(definition)
        h.succeed("nlu", {"priority": "urgent", "score": 3})
        assert h.of("variables.set") == [{"values": {"priority": "urgent", "score": 3}}]
        assert h.state.variables == {"priority": "urgent", "score": 3}
        assert h.request("b").config == {"p": "urgent"}
        h.replay_matches()

    def test_set_variables_switches_export_on_and_off(self) -> None:
        definition = define(
            step("nlu", "nlu_analysis", "other", config={"set_variables": False}),
            step("other", config={"set_variables": True}),
        )
        h = started(definition)
        h.succeed("nlu", {"hidden": 1})
        h.succeed("other", {"shown": 2})
        assert h.state.variables == {"shown": 2}
        h.replay_matches()

    def test_output_variable_stores_the_output(self) -> None:
        definition = define(
            step("load", "data_transformation", "use", config={"output_variable": "order"}),
            step("use", config={"id": "{{order.id}}"}),
        )
        h = started(definition)
        h.succeed("load", {"id": "o-5"})
        assert h.state.variables == {"order": {"id": "o-5"}}
        assert h.request("use").config == {"id": "o-5"}
        h.replay_matches()

    def test_agent_output_is_named_after_the_agent(self) -> None:
        h = started(define(step("run", "agent_execution", config={"agent_id": "scout"})))
        h.succeed("run", {"found": 3})
        assert h.state.variables == {"scout_output": {"found": 3}}
        h.replay_matches()


class TestLoops:
    def test_max_visits_ends_a_loop(self) -> None:
        definition = define(step("a", "api_call", "b", max_visits=3), step("b", "api_call", "a"))
        h = started(definition)
        h.run_executor(echo)
        assert h.requested_steps() == ["a", "b"] * 3
        assert [r.attempt for _, r in h.requests if r.step_id == "a"] == [1, 2, 3]
        assert h.state.steps["a"].visits == 3
        assert h.of("warning")[-1]["message"] == "a reached its max_visits (3); path ends"
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_step_reached_while_it_runs_merges_the_paths(self) -> None:
        definition = define(
            step("fan", "api_call", "a", "b"),
            step("a", "api_call", "join"),
            step("b", "api_call", "join"),
            step("join"),
        )
        h = started(definition)
        h.succeed("fan")
        h.succeed("a")
        h.succeed("b")
        assert h.of("warning")[0]["message"] == "join reached again while running; the paths merge"
        assert h.requested_steps().count("join") == 1
        h.succeed("join")
        assert h.state.status == "completed"
        h.replay_matches()


# -- the predefined workflows, with an executor that answers plausibly -------------------------------------


def executor(nlu: dict[str, Any], ticket_status: str = "resolved") -> Callable[[StepRequest], dict[str, Any]]:
    def answer(request: StepRequest) -> dict[str, Any]:
        if request.step_type == "nlu_analysis":
            return dict(nlu)
        if request.step_type == "data_transformation":
            return dict(request.config.get("output", {}))
        if request.step_id == "fetch_ticket_status":
            return {"status": 200, "body": {"status": ticket_status}}
        return {"ok": True, "step": request.step_id}

    return answer


TICKET = {
    "text": "my invoice is wrong",
    "customer_email": "c@example.com",
    "ticket_status_url": "https://t/1",
}


def nlu_ticket(priority: str, category: str) -> dict[str, Any]:
    return {
        "intent": "fix invoice",
        "entities": {},
        "sentiment": "negative",
        "priority": priority,
        "category": category,
    }


class TestPredefinedWorkflows:
    def test_customer_support_escalates_an_urgent_ticket(self) -> None:
        h = started(predefined("customer_support_automation"), TICKET)
        h.run_executor(executor(nlu_ticket("urgent", "technical")))
        assert h.requested_steps() == ["analyze_ticket", "escalate_manager", "create_asana_task"]
        assert h.request("escalate_manager").config["message"] == (
            "@manager urgent ticket from c@example.com: fix invoice"
        )
        assert h.state.status == "completed"
        h.replay_matches()

    @pytest.mark.parametrize(
        ("category", "steps"),
        [
            ("technical", ["assign_technical", "send_acknowledgment"]),
            ("billing", ["assign_billing", "create_billing_task"]),
        ],
    )
    def test_customer_support_routes_by_category(self, category: str, steps: list[str]) -> None:
        h = started(predefined("customer_support_automation"), TICKET)
        h.run_executor(executor(nlu_ticket("normal", category)))
        assert h.requested_steps() == ["analyze_ticket", *steps]
        assert h.state.status == "completed"
        h.replay_matches()

    @pytest.mark.parametrize(
        ("status", "last"), [("resolved", "send_satisfaction_survey"), ("open", "escalate_again")]
    )
    def test_customer_support_follows_up_a_general_ticket_after_a_day(self, status: str, last: str) -> None:
        h = started(predefined("customer_support_automation"), TICKET)
        answer = executor(nlu_ticket("normal", "general"), ticket_status=status)
        h.run_executor(answer)
        assert h.requested_steps() == ["analyze_ticket", "create_asana_task", "send_acknowledgment"]
        assert h.of("join.completed")[0]["step_id"] == "assign_general"
        assert h.state.status == "running"
        assert h.timer("follow_up_reminder", "delay").fire_at == EPOCH + timedelta(hours=24)
        h.fire("follow_up_reminder", "delay")
        assert h.request("fetch_ticket_status").config == {"method": "GET", "url": "https://t/1"}
        h.run_executor(answer)
        assert h.requested_steps()[-2:] == ["fetch_ticket_status", last]
        assert h.state.status == "completed"
        h.replay_matches()

    def test_sales_lead_high_score(self) -> None:
        h = started(
            predefined("sales_lead_processing"), {"text": "we want 500 seats", "email": "l@example.com"}
        )
        h.run_executor(executor({"contact_info": {}, "score": 90}))
        assert h.requested_steps() == [
            "analyze_lead",
            "notify_sales_rep",
            "create_crm_task",
            "schedule_demo",
            "send_welcome_email",
        ]
        assert h.request("notify_sales_rep").config["message"] == "Hot lead (90): l@example.com"
        assert h.state.status == "completed"
        h.replay_matches()

    def test_sales_lead_medium_score(self) -> None:
        h = started(predefined("sales_lead_processing"), {"text": "maybe", "email": "l@example.com"})
        h.run_executor(executor({"contact_info": {}, "score": 60}))
        assert h.requested_steps() == ["analyze_lead", "medium_priority_routing", "create_crm_task"]
        assert h.state.status == "completed"
        h.replay_matches()

    def test_sales_lead_low_score(self) -> None:
        h = started(predefined("sales_lead_processing"), {"text": "just looking", "email": "l@example.com"})
        h.run_executor(executor({"contact_info": {}, "score": 10}))
        assert h.requested_steps() == ["analyze_lead", "low_priority_routing"]
        assert h.state.status == "running"
        h.fire("create_follow_up_task", "delay")
        assert h.now == EPOCH + timedelta(days=7)
        assert h.state.status == "completed"
        h.replay_matches()

    def test_project_management_with_five_daily_standups(self) -> None:
        h = started(predefined("project_management_automation"), {"text": "build the portal"})
        nlu = {
            "project_name": "Portal",
            "scope": "customer portal",
            "milestones": ["design", "launch"],
            "stakeholders_email": "pm@example.com",
        }
        h.run_executor(executor(nlu))
        assert h.requested_steps() == [
            "analyze_project_request",
            "setup_asana_project",
            "create_slack_channel",
            "setup_repository",
            "notify_stakeholders",
            "schedule_kickoff_meeting",
        ]
        assert h.request("notify_stakeholders").config["recipient"] == "pm@example.com"
        for day in range(1, 6):
            assert h.state.status == "running"
            h.fire("setup_daily_standup", "delay")
            assert h.now == EPOCH + timedelta(days=day)
        assert h.state.status == "completed"
        assert h.types().count("step.waiting") == 5
        assert h.state.steps["setup_daily_standup"].visits == 5
        assert h.timers == {}
        h.replay_matches()

    def test_contract_processing(self) -> None:
        h = started(predefined("contract_processing_automation"), {"text": "The supplier shall ..."})
        nlu = {
            "tasks": ["deliver monthly report", "renew insurance"],
            "renewal_date": "2026-03-01",
            "owner": "legal@example.com",
            "summary": "supply contract",
            "entities": {"contract_id": "C-42"},
        }
        h.run_executor(executor(nlu))
        assert h.request("log_obligations").config == {
            "update_type": "obligation",
            "subject": "C-42",
            "facts": ["deliver monthly report", "renew insurance"],
        }
        assert h.request("create_reminders").config == {
            "title": "Contract Renewal: C-42",
            "due_date": "2026-03-01",
            "assignee": "legal@example.com",
        }
        assert h.state.status == "completed"
        h.replay_matches()

    def test_shopify_to_ledger_sync(self) -> None:
        order = {"order_id": 1001, "order_number": "#1001", "total_price": "19.99"}
        h = started(predefined("shopify_to_ledger_sync"), order)
        h.run_executor(executor({}))
        assert h.request("ledger_mapping").config == {"order_id": 1001, "action": "order_to_ledger"}
        assert h.request("notify_success").config["message"] == "Order #1001 synced to ledger for 19.99"
        assert h.state.status == "completed"
        h.replay_matches()


DEMO_FILE = Path(__file__).resolve().parents[3] / "services" / "cli" / "flowbus_cli" / "demo_workflow.yaml"


class TestDemoWorkflow:
    DEMO = parse_definition(yaml.safe_load(DEMO_FILE.read_text()))
    ORDER = {"customer": "Ada", "items": ["lamp", "desk"]}

    def test_a_large_order_waits_for_a_manager_then_is_fulfilled(self) -> None:
        h = started(self.DEMO, {**self.ORDER, "total": 1500})
        h.run_executor(executor({}))
        assert h.state.status == "waiting_approval"
        assert h.state.variables["order"] == {"customer": "Ada", "total": 1500, "items": ["lamp", "desk"]}
        assert h.timer("manager_approval", "approval-expiry").fire_at == EPOCH + timedelta(hours=1)
        h.approve("manager_approval", by="manager")
        h.run_executor(executor({}))
        assert h.requested_steps() == ["normalize_order", "reserve_stock", "prepare_invoice"]
        h.fire("cool_down", "delay")
        h.run_executor(executor({}))
        assert h.state.steps["summary"].output == {"message": 'Ada: 1500 invoiced, items ["lamp","desk"]'}
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_small_order_takes_the_fast_track(self) -> None:
        h = started(self.DEMO, {**self.ORDER, "total": 20})
        h.run_executor(executor({}))
        assert h.requested_steps() == ["normalize_order", "fast_track", "reserve_stock", "prepare_invoice"]
        assert "manager_approval" not in h.state.steps
        h.fire("cool_down", "delay")
        h.run_executor(executor({}))
        assert h.state.status == "completed"
        h.replay_matches()


def test_a_rejected_start_does_not_block_a_later_valid_one() -> None:
    from datetime import UTC, datetime

    from flowbus_orchestrator.domain.decide import decide
    from flowbus_orchestrator.domain.state import ExecutionState, fold
    from flowbus_orchestrator.domain.validation import parse_definition
    from flowbus_shared.schemas import StartExecution

    now = datetime(2026, 1, 1, tzinfo=UTC)
    start = StartExecution(execution_id="e1", workflow_id="late")
    rejected = decide(ExecutionState(), start, now)
    assert [kind for kind, _ in rejected.events] == ["command.rejected"]
    state = fold(rejected.events)
    definition = parse_definition(
        {"id": "late", "name": "late", "start_step_id": "a", "steps": [{"id": "a", "type": "api_call"}]}
    )
    retried = decide(state, StartExecution(execution_id="e1", workflow_id="late"), now, definition=definition)
    assert [kind for kind, _ in retried.events][:2] == ["execution.started", "step.scheduled"]
