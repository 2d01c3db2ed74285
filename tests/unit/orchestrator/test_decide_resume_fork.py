"""decide(): resume, fork, starts and duplicate commands, each checked against replay."""

from __future__ import annotations

import copy

import pytest

from flowbus_orchestrator.domain.progression import timer_id
from tests.unit.orchestrator.builders import APPROVAL, FAN, LINEAR, RETRYING, define, echo, started, step
from tests.unit.orchestrator.harness import Harness


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
        h = started(FAN)
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
        assert started_event["parent"] == {
            "execution_id": "ex-1",
            "step_id": "b",
            "version": point,
            "resumes": 0,
        }
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
        source = started(FAN)
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
