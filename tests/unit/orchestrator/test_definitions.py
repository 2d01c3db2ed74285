"""Definitions: both spellings, every structural check with the path of its fault, retry policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flowbus_orchestrator.domain.definitions import RetryPolicy, WorkflowDefinition
from flowbus_orchestrator.domain.validation import DefinitionError, Fault, parse_definition
from flowbus_orchestrator.predefined import HERE as PREDEFINED
from flowbus_orchestrator.predefined import predefined_workflows

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "services" / "cli" / "flowbus_cli" / "demo_workflow.yaml"


def workflow(steps: Any, start: str = "a", **extra: Any) -> dict[str, Any]:
    return {"id": "w", "name": "test workflow", "start_step_id": start, "steps": steps, **extra}


def faults(data: dict[str, Any]) -> list[Fault]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    assert caught.value.faults, "a DefinitionError always names its faults"
    assert str(caught.value) == "; ".join(str(f) for f in caught.value.faults)
    return caught.value.faults


def paths(data: dict[str, Any]) -> list[str]:
    return [fault.path for fault in faults(data)]


ROUTE = {
    "id": "route",
    "type": "conditional_logic",
    "config": {"conditions": [{"if": "x > 1", "then": ["a2"]}, {"if": "x > 0", "then": ["b2"]}]},
}


class TestSpellings:
    def test_parameters_is_an_alias_of_config(self) -> None:
        by_config = parse_definition(workflow([{"id": "a", "type": "api_call", "config": {"url": "u"}}]))
        by_parameters = parse_definition(
            workflow([{"id": "a", "type": "api_call", "parameters": {"url": "u"}}])
        )
        assert by_parameters.step("a").config == {"url": "u"}
        assert by_parameters == by_config

    def test_steps_as_a_list_and_as_a_map_are_the_same_definition(self) -> None:
        as_list = parse_definition(
            workflow(
                [{"id": "a", "type": "api_call", "next_steps": ["b"]}, {"id": "b", "type": "email_send"}]
            )
        )
        as_map = parse_definition(
            workflow({"a": {"type": "api_call", "next_steps": ["b"]}, "b": {"id": "b", "type": "email_send"}})
        )
        assert as_map == as_list
        assert list(as_map.steps) == ["a", "b"]
        assert as_map.step("a").id == "a"
        assert as_map.step("a").next_steps == ("b",)

    def test_a_map_entry_whose_id_differs_from_its_key_is_refused(self) -> None:
        (fault,) = faults(workflow({"a": {"id": "b", "type": "api_call"}}))
        assert fault.path == "steps"
        assert "'a' says its id is 'b'" in fault.message

    def test_a_step_id_twice_in_a_list_is_refused(self) -> None:
        (fault,) = faults(workflow([{"id": "a", "type": "api_call"}, {"id": "a", "type": "email_send"}]))
        assert fault.path == "steps"
        assert "appears twice" in fault.message

    def test_the_monolith_step_level_conditions_move_into_config(self) -> None:
        definition = parse_definition(
            workflow(
                [
                    {"id": "a", "type": "conditional_logic", "conditions": [{"if": "x", "then": "b"}]},
                    {"id": "b", "type": "api_call"},
                ]
            )
        )
        assert definition.step("a").config == {"conditions": [{"if": "x", "then": "b"}]}

    def test_definitions_are_immutable(self) -> None:
        definition = parse_definition(workflow([{"id": "a", "type": "api_call"}]))
        with pytest.raises(ValueError, match="frozen"):
            definition.start_step_id = "b"  # type: ignore[misc]


class TestReferences:
    def test_unknown_step_type(self) -> None:
        (fault,) = faults(workflow([{"id": "a", "type": "teleport"}]))
        assert fault == Fault("steps.a.type", "unknown step type 'teleport'")

    def test_unknown_start_step(self) -> None:
        assert "start_step_id" in paths(workflow([{"id": "a", "type": "api_call"}], start="nowhere"))

    def test_unknown_next_step(self) -> None:
        (fault,) = faults(
            workflow(
                [
                    {"id": "a", "type": "api_call", "next_steps": ["b", "ghost"]},
                    {"id": "b", "type": "api_call"},
                ]
            )
        )
        assert fault == Fault("steps.a.next_steps[1]", "no step 'ghost'")

    def test_unknown_parallel_step(self) -> None:
        steps = [
            {"id": "a", "type": "parallel_execution", "parallel_steps": ["b", "ghost"]},
            {"id": "b", "type": "api_call"},
        ]
        assert paths(workflow(steps)) == ["steps.a.parallel_steps[1]"]

    def test_unknown_parallel_step_given_in_config(self) -> None:
        steps = [
            {"id": "a", "type": "parallel_execution", "config": {"parallel_steps": ["ghost"]}},
        ]
        assert paths(workflow(steps)) == ["steps.a.parallel_steps[0]"]

    def test_a_parallel_step_needs_branches(self) -> None:
        assert paths(workflow([{"id": "a", "type": "parallel_execution"}])) == ["steps.a.parallel_steps"]

    def test_unknown_step_in_a_conditional_then(self) -> None:
        steps = [
            {
                **ROUTE,
                "config": {
                    "conditions": [{"if": "x > 1", "then": ["a2"]}, {"if": "x", "then": ["b2", "ghost"]}]
                },
            },
            {"id": "a2", "type": "api_call"},
            {"id": "b2", "type": "api_call"},
        ]
        (fault,) = faults(workflow(steps, start="route"))
        assert fault == Fault("steps.route.config.conditions[1].then[1]", "no step 'ghost'")

    def test_unknown_step_in_a_conditional_then_given_as_a_string(self) -> None:
        steps = [
            {
                **ROUTE,
                "config": {"conditions": [{"if": "x > 1", "then": "a2"}, {"if": "x", "then": "ghost"}]},
            },
            {"id": "a2", "type": "api_call"},
        ]
        assert paths(workflow(steps, start="route")) == ["steps.route.config.conditions[1].then[0]"]

    def test_unknown_step_in_a_conditional_else_entry(self) -> None:
        steps = [
            {**ROUTE, "config": {"conditions": [{"if": "x > 1", "then": ["a2"]}, {"else": ["ghost"]}]}},
            {"id": "a2", "type": "api_call"},
        ]
        assert paths(workflow(steps, start="route")) == ["steps.route.config.conditions[1].else[0]"]

    def test_unknown_step_in_a_config_level_else(self) -> None:
        steps = [
            {**ROUTE, "config": {"conditions": [{"if": "x > 1", "then": ["a2"]}], "else": "ghost"}},
            {"id": "a2", "type": "api_call"},
        ]
        assert paths(workflow(steps, start="route")) == ["steps.route.config.else[0]"]

    def test_every_fault_is_reported_at_once(self) -> None:
        steps = [
            {"id": "a", "type": "teleport", "next_steps": ["ghost"]},
            {"id": "b", "type": "api_call", "next_steps": ["phantom"]},
        ]
        assert paths(workflow(steps)) == ["steps.a.type", "steps.a.next_steps[0]", "steps.b.next_steps[0]"]

    @pytest.mark.parametrize(
        ("conditions", "path"),
        [
            ("not a list", "steps.route.config.conditions"),
            (["not a mapping"], "steps.route.config.conditions[0]"),
            ([{"if": "x"}], "steps.route.config.conditions[0]"),
            ([{"else": ["a2"]}, {"if": "x", "then": ["a2"]}], "steps.route.config.conditions"),
            ([], "steps.route.config.conditions"),
            ([{"if": "x", "then": [1]}], "steps.route.config.conditions[0].then"),
        ],
    )
    def test_malformed_conditional_routes(self, conditions: Any, path: str) -> None:
        steps = [
            {"id": "route", "type": "conditional_logic", "config": {"conditions": conditions}},
            {"id": "a2", "type": "api_call"},
        ]
        assert path in paths(workflow(steps, start="route"))


class TestGraph:
    def test_unreachable_steps_are_named(self) -> None:
        steps = [
            {"id": "a", "type": "api_call"},
            {"id": "island", "type": "api_call", "next_steps": ["far"]},
            {"id": "far", "type": "api_call"},
        ]
        found = faults(workflow(steps))
        assert {f.path for f in found} == {"steps.island", "steps.far"}
        assert all(f.message == "unreachable from start_step_id" for f in found)

    def test_a_step_reached_only_through_a_conditional_is_reachable(self) -> None:
        steps = [ROUTE, {"id": "a2", "type": "api_call"}, {"id": "b2", "type": "api_call"}]
        assert parse_definition(workflow(steps, start="route")).start_step_id == "route"

    def test_an_unbounded_cycle_is_refused(self) -> None:
        steps = [
            {"id": "a", "type": "api_call", "next_steps": ["b"]},
            {"id": "b", "type": "email_send", "next_steps": ["c"]},
            {"id": "c", "type": "api_call", "next_steps": ["a"]},
        ]
        (fault,) = faults(workflow(steps))
        assert fault == Fault("steps.a", "cycle a -> b -> c needs a delay step or max_visits")

    def test_a_self_loop_is_a_cycle(self) -> None:
        assert paths(workflow([{"id": "a", "type": "api_call", "next_steps": ["a"]}])) == ["steps.a"]

    def test_a_cycle_through_a_conditional_is_a_cycle(self) -> None:
        steps = [
            {"id": "a", "type": "api_call", "next_steps": ["route"]},
            {
                "id": "route",
                "type": "conditional_logic",
                "config": {"conditions": [{"if": "again", "then": "a"}, {"else": "end"}]},
            },
            {"id": "end", "type": "api_call"},
        ]
        assert paths(workflow(steps)) == ["steps.a"]

    def test_a_cycle_with_a_delay_step_is_accepted(self) -> None:
        steps = [
            {"id": "a", "type": "api_call", "next_steps": ["wait"]},
            {"id": "wait", "type": "delay", "config": {"delay_seconds": 5}, "next_steps": ["a"]},
        ]
        assert set(parse_definition(workflow(steps)).steps) == {"a", "wait"}

    def test_a_cycle_with_max_visits_is_accepted(self) -> None:
        steps = [
            {"id": "a", "type": "api_call", "next_steps": ["b"]},
            {"id": "b", "type": "api_call", "next_steps": ["a"], "max_visits": 3},
        ]
        assert parse_definition(workflow(steps)).step("b").max_visits == 3

    def test_two_cycles_are_each_checked(self) -> None:
        steps = [
            {"id": "a", "type": "api_call", "next_steps": ["b", "x"]},
            {"id": "b", "type": "api_call", "next_steps": ["a"], "max_visits": 2},
            {"id": "x", "type": "api_call", "next_steps": ["y"]},
            {"id": "y", "type": "api_call", "next_steps": ["x"]},
        ]
        assert paths(workflow(steps)) == ["steps.x"]


class TestStepSettings:
    def test_a_bad_step_condition_is_refused_with_its_path(self) -> None:
        (fault,) = faults(workflow([{"id": "a", "type": "api_call", "condition": "score = 1"}]))
        assert fault.path == "steps.a.condition"
        assert "use '=='" in fault.message

    def test_a_bad_branch_condition_is_refused_with_its_path(self) -> None:
        steps = [
            {
                **ROUTE,
                "config": {"conditions": [{"if": "x > 1", "then": ["a2"]}, {"if": "x >", "then": ["b2"]}]},
            },
            {"id": "a2", "type": "api_call"},
            {"id": "b2", "type": "api_call"},
        ]
        (fault,) = faults(workflow(steps, start="route"))
        assert fault.path == "steps.route.config.conditions[1].if"
        assert "expected a value" in fault.message

    def test_a_delay_without_a_duration_is_refused(self) -> None:
        (fault,) = faults(workflow([{"id": "a", "type": "delay", "config": {"unit": "hours"}}]))
        assert fault.path == "steps.a.config"
        assert "needs duration" in fault.message

    @pytest.mark.parametrize(
        ("config", "path"),
        [
            ({"duration": 3, "unit": "fortnights"}, "steps.a.config.unit"),
            ({"duration": -1}, "steps.a.config.duration"),
            ({"delay_hours": "soon"}, "steps.a.config.delay_hours"),
            ({"delay_seconds": True}, "steps.a.config.delay_seconds"),
        ],
    )
    def test_a_malformed_delay_is_refused(self, config: dict[str, Any], path: str) -> None:
        assert paths(workflow([{"id": "a", "type": "delay", "config": config}])) == [path]

    def test_unknown_step_fields_are_refused(self) -> None:
        assert paths(workflow([{"id": "a", "type": "api_call", "retries": 3}])) == ["steps.a.retries"]

    def test_bad_step_id(self) -> None:
        assert "steps.bad id.id" in paths(workflow([{"id": "bad id", "type": "api_call"}], start="bad id"))


class TestShippedWorkflows:
    def test_the_five_predefined_workflows_parse(self) -> None:
        workflows = predefined_workflows()
        assert sorted(w.id for w in workflows) == [
            "contract_processing_automation",
            "customer_support_automation",
            "project_management_automation",
            "sales_lead_processing",
            "shopify_to_ledger_sync",
        ]
        assert len(list(PREDEFINED.glob("*.yaml"))) == 5

    @pytest.mark.parametrize("path", [*sorted(PREDEFINED.glob("*.yaml")), DEMO], ids=lambda p: p.stem)
    def test_each_shipped_file_parses(self, path: Path) -> None:
        data = yaml.safe_load(path.read_text())
        definition = parse_definition(data)
        assert isinstance(definition, WorkflowDefinition)
        assert definition.id == data["id"]
        assert set(definition.steps) == set(data["steps"])

    def test_the_daily_standup_is_a_bounded_loop(self) -> None:
        (project,) = [w for w in predefined_workflows() if w.id == "project_management_automation"]
        standup = project.step("setup_daily_standup")
        assert standup.max_visits == 5
        assert standup.next_steps == ("setup_daily_standup",)


class TestRetryPolicy:
    def test_the_default_back_off_doubles_from_one_second_up_to_a_minute(self) -> None:
        policy = RetryPolicy()
        assert (policy.initial_delay_seconds, policy.exponential_base, policy.max_delay_seconds) == (1, 2, 60)
        assert [policy.delay_seconds(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]

    def test_a_custom_back_off(self) -> None:
        policy = RetryPolicy(initial_delay_seconds=0.5, exponential_base=3, max_delay_seconds=10)
        assert [policy.delay_seconds(n) for n in range(1, 5)] == [0.5, 1.5, 4.5, 10]

    def test_retries_while_some_remain_and_the_error_is_retryable(self) -> None:
        policy = RetryPolicy(max_retries=2)
        assert policy.allows(error_type="boom", retryable=True, retries_done=0)
        assert policy.allows(error_type="boom", retryable=True, retries_done=1)
        assert not policy.allows(error_type="boom", retryable=True, retries_done=2)

    def test_a_listed_error_class_is_retried_even_when_not_flagged_retryable(self) -> None:
        policy = RetryPolicy()
        assert policy.allows(error_type="rate_limit", retryable=False, retries_done=0)
        assert not policy.allows(error_type="validation", retryable=False, retries_done=0)
        custom = RetryPolicy(retryable_errors=("flaky",))
        assert custom.allows(error_type="flaky", retryable=False, retries_done=0)
        assert not custom.allows(error_type="timeout", retryable=False, retries_done=0)

    def test_no_retries_at_all(self) -> None:
        assert not RetryPolicy(max_retries=0).allows(error_type="timeout", retryable=True, retries_done=0)

    def test_a_step_without_a_policy_uses_the_default(self) -> None:
        definition = parse_definition(workflow([{"id": "a", "type": "api_call"}]))
        assert definition.step("a").effective_retry_policy == RetryPolicy()
        custom = parse_definition(
            workflow([{"id": "a", "type": "api_call", "retry_policy": {"max_retries": 1}}])
        )
        assert custom.step("a").effective_retry_policy.max_retries == 1
