"""Step conditions: evaluation against a Scope, membership, paths, missing names, types and warnings."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowbus_orchestrator.domain.expressions import ConditionOutcome, ExpressionError, parse_condition
from flowbus_orchestrator.domain.scope import Scope
from tests.unit.expression_helpers import SCOPE, run, value


class TestMonolithConditions:
    @pytest.mark.parametrize(
        ("source", "variables", "expected"),
        [
            ("priority == 'urgent'", {"priority": "urgent"}, True),
            ("priority == 'urgent'", {"priority": "low"}, False),
            ("category == 'technical'", {"category": "technical"}, True),
            ("category == 'technical'", {"category": "billing"}, False),
            ("score >= 80", {"score": 80}, True),
            ("score >= 80", {"score": 79.9}, False),
            ("status == 'resolved'", {"status": "resolved"}, True),
            ("status == 'resolved'", {"status": "open"}, False),
        ],
    )
    def test_simple_comparisons(self, source: str, variables: dict[str, Any], expected: bool) -> None:
        assert value(source, Scope(variables=variables)) is expected

    def test_undefined_name_is_false_not_true(self) -> None:
        # The old system counted anything it could not handle as true.
        outcome = run("priority == 'urgent'", Scope())
        assert outcome == ConditionOutcome(
            False, ("'priority' is not defined; the comparison counts as false",)
        )


class TestMembership:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("category in ['billing', 'technical']", True),
            ("category in ['sales']", False),
            ("category not in ['sales']", True),
            ("category not in ['billing']", False),
            ("'vip' in input.tags", True),
            ("'gold' in input.tags", False),
            ("'rg' in priority", True),
            ("'xyz' in priority", False),
            ("'xyz' not in priority", True),
            ("'mode' in settings", True),
            ("'speed' in settings", False),
            ("'speed' not in settings", True),
            ("85 in [1, 85.0]", True),
            ("[1] in [[1], [2]]", True),
            ("1 in empty", False),
            ("score > 80 and category in ['billing', 'technical']", True),
        ],
    )
    def test_in(self, source: str, expected: bool) -> None:
        assert value(source) is expected

    def test_bools_are_not_members_of_number_lists(self) -> None:
        assert not value("true in [1, 2]")
        assert not value("1 in [true]")
        assert value("true in [1, true]")

    @pytest.mark.parametrize(
        ("source", "warning"),
        [
            ("1 in score", "'in' needs a list, string or mapping on the right, found 85 (number)"),
            ("1 not in score", "'not in' needs a list, string or mapping on the right, found 85 (number)"),
            ("1 in nothing", "'in' needs a list, string or mapping on the right, found null"),
            ("85 in priority", "'in' on a string needs a string on the left, found 85 (number)"),
        ],
    )
    def test_in_on_the_wrong_types_is_false_with_a_warning(self, source: str, warning: str) -> None:
        assert run(source) == ConditionOutcome(False, (f"{warning}; the comparison counts as false",))


class TestPaths:
    @pytest.mark.parametrize(
        "source",
        [
            "input.order.total > 100",
            "input.order.lines.0.price == 3.5",
            "input.order.lines.1.price == 10",
            "variables.score == 85",
            "score == 85",
            "steps.analyze_ticket.confidence < 0.7",
            "analyze_ticket.confidence < 0.7",
            "analyze_ticket.label == 'refund'",
            "settings.mode == 'fast'",
            "not (input.order.total < 100)",
        ],
    )
    def test_dotted_paths_read_the_scope(self, source: str) -> None:
        assert value(source)

    def test_the_examples_from_workflow_definitions(self) -> None:
        assert value("score >= 80 and category in ['billing', 'technical']")
        assert not value("not (input.order.total > 100)")
        assert run('analyze_ticket.confidence < 0.7 or status == "resolved"') == ConditionOutcome(True, ())

    def test_paths_never_reach_python_attributes(self) -> None:
        outcome = run("input.__class__ == 1 or name.__len__")
        assert outcome == ConditionOutcome(
            False,
            (
                "'input.__class__' is not defined; the comparison counts as false",
                "'name.__len__' is not defined; it counts as false",
            ),
        )

    def test_later_segments_may_be_keywords(self) -> None:
        assert value("input.in == 1", Scope(input={"in": 1}))
        assert parse_condition("a.not.null").names() == {"a.not.null"}

    def test_bare_values_use_python_truthiness(self) -> None:
        assert value("input.tags")
        assert not value("empty")
        assert not value("count")
        assert value("name")
        assert value("settings")
        assert not value("nothing")


class TestMissingNames:
    def test_missing_name_in_a_comparison(self) -> None:
        for source in (
            "priority == 'urgent'",
            "priority != 'urgent'",
            "'x' in priority",
            "priority not in []",
        ):
            outcome = run(source, Scope())
            assert outcome == ConditionOutcome(
                False, ("'priority' is not defined; the comparison counts as false",)
            )

    def test_missing_paths_are_named_in_full(self) -> None:
        outcome = run("input.order.total > 100 or steps.nope.x == 1", Scope(input={"order": {}}))
        assert outcome.warnings == (
            "'input.order.total' is not defined; the comparison counts as false",
            "'steps.nope.x' is not defined; the comparison counts as false",
        )
        assert run("input.order.lines.5.price == 1").warnings == (
            "'input.order.lines.5.price' is not defined; the comparison counts as false",
        )

    def test_only_the_smallest_comparison_is_false(self) -> None:
        outcome = run("not (missing == 1)")
        assert outcome.value is True
        assert outcome.warnings == ("'missing' is not defined; the comparison counts as false",)
        assert run("missing == 1 or score == 85").value is True

    def test_missing_inside_a_list_fails_the_comparison(self) -> None:
        outcome = run("category in ['x', missing]")
        assert outcome == ConditionOutcome(
            False, ("'missing' is not defined; the comparison counts as false",)
        )

    def test_bare_missing_name(self) -> None:
        outcome = run("approved_by_manager and score > 1")
        assert outcome == ConditionOutcome(
            False, ("'approved_by_manager' is not defined; it counts as false",)
        )
        # `not` of a missing name: the name is false, so `not` is true; the warning says so.
        outcome = run("not approved_by_manager")
        assert outcome == ConditionOutcome(
            True, ("'approved_by_manager' is not defined; it counts as false",)
        )

    def test_short_circuit_skips_warnings(self) -> None:
        assert run("false and missing == 1") == ConditionOutcome(False, ())
        assert run("true or missing == 1") == ConditionOutcome(True, ())
        assert run("rejected && missing") == ConditionOutcome(False, ())
        assert run("approved || missing") == ConditionOutcome(True, ())

    def test_repeated_warnings_are_reported_once(self) -> None:
        outcome = run("a == 1 or a == 2 or b == 3")
        assert outcome.warnings == (
            "'a' is not defined; the comparison counts as false",
            "'b' is not defined; the comparison counts as false",
        )


class TestTypes:
    @pytest.mark.parametrize(
        ("source", "warning"),
        [
            ("'a' < 3", "cannot compare 'a' (string) < 3 (number)"),
            ("null < 1", "cannot compare null < 1 (number)"),
            ("nothing >= 0", "cannot compare null >= 0 (number)"),
            ("priority > 5", "cannot compare 'urgent' (string) > 5 (number)"),
            ("true > false", "cannot compare true > false"),
            ("approved <= 1", "cannot compare true <= 1 (number)"),
            ("[1] < [2]", "cannot compare [1] (list) < [2] (list)"),
            ("settings > 1", "cannot compare {'mode': 'fast'} (mapping) > 1 (number)"),
            ("-priority == 1", "cannot negate 'urgent' (string)"),
            ("-approved == -1", "cannot negate true"),
        ],
    )
    def test_mismatched_types_are_false_with_a_warning(self, source: str, warning: str) -> None:
        assert run(source) == ConditionOutcome(False, (f"{warning}; the comparison counts as false",))

    def test_negating_a_bare_non_number(self) -> None:
        assert run("-priority") == ConditionOutcome(
            False, ("cannot negate 'urgent' (string); it counts as false",)
        )

    def test_long_values_are_shortened_in_warnings(self) -> None:
        (warning,) = run("x < 1", Scope(variables={"x": "y" * 100})).warnings
        assert "'yyyy" in warning
        assert "... (string)" in warning
        assert len(warning) < 120

    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("approved == 1", False),
            ("approved != 1", True),
            ("rejected == 0", False),
            ("count == false", False),
            ("approved == true", True),
            ("[true] == [1]", False),
            ("'1' == 1", False),
            ("null == 0", False),
            ("null == false", False),
            ("settings == settings", True),
        ],
    )
    def test_equality_keeps_bools_apart_from_numbers(self, source: str, expected: bool) -> None:
        assert value(source) is expected

    def test_equality_of_mappings(self) -> None:
        scope = Scope(variables={"a": {"x": 1, "y": [True]}, "b": {"y": [True], "x": 1.0}, "c": {"x": True}})
        assert value("a == b", scope)
        assert not value("a == c", scope)

    def test_odd_values_in_the_scope_never_raise(self) -> None:
        class Explosive:
            def __repr__(self) -> str:
                return "<Explosive>"

            def __eq__(self, other: object) -> bool:
                raise RuntimeError("boom")

            def __bool__(self) -> bool:
                raise RuntimeError("boom")

            __hash__ = object.__hash__

        nested: list[Any] = []
        for _ in range(5000):
            nested = [nested]
        scope = Scope(variables={"e": Explosive(), "deep": nested})
        for source, error in [
            ("e == 1", "RuntimeError"),
            ("1 in [e]", "RuntimeError"),
            ("deep == deep", "RecursionError"),
        ]:
            warning = f"evaluation failed ({error}); the comparison counts as false"
            assert run(source, scope) == ConditionOutcome(False, (warning,))
        assert run("e", scope) == ConditionOutcome(
            False, ("evaluation failed (RuntimeError); it counts as false",)
        )
        assert run("e < 1", scope).warnings == (
            "cannot compare <Explosive> (Explosive) < 1 (number); the comparison counts as false",
        )
        # Only the failing comparison is false; the rest of the condition still counts.
        assert run("e == 1 or score == 1", Scope(variables={"e": Explosive(), "score": 1})).value is True


condition_text = st.text(max_size=60) | st.text(alphabet=" ab01.-'\"\\()[],=!<>&|notandrieulsNF", max_size=60)


@settings(max_examples=500, deadline=None)
@given(condition_text)
def test_any_text_parses_or_raises_expression_error(source: str) -> None:
    try:
        condition = parse_condition(source)
    except ExpressionError as caught:
        position = caught.position
    else:
        assert isinstance(condition.evaluate(Scope()).value, bool)
        assert isinstance(condition.evaluate(SCOPE).value, bool)
        return
    assert 0 <= position <= len(source)
