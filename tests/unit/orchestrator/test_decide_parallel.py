"""decide(): parallel fan-out and joins, each checked against replay."""

from __future__ import annotations

from flowbus_orchestrator.domain.progression import timer_id
from tests.unit.orchestrator.builders import FAN, define, started, step


class TestParallel:
    def test_fan_out_then_join_when_the_slowest_branch_finishes(self) -> None:
        h = started(FAN)
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
        h = started(FAN)
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
