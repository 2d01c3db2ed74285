"""decide(): linear runs, conditionals, step conditions, delays, variables and loops, against replay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from flowbus_orchestrator.domain.progression import timer_id
from tests.unit.orchestrator.builders import LINEAR, define, echo, started, step
from tests.unit.orchestrator.harness import EPOCH, Harness


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
