"""Step conditions: tokenizing, parsing, precedence, literals, syntax errors, size limits and names()."""

from __future__ import annotations

import pytest

from flowbus_orchestrator.domain.expressions import MAX_DEPTH, Condition, ExpressionError, parse_condition
from flowbus_orchestrator.domain.scope import Scope
from tests.unit.expression_helpers import error, value


class TestOperators:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("score == 85", True),
            ("score != 85", False),
            ("score < 86", True),
            ("score < 85", False),
            ("score <= 85", True),
            ("score > 85", False),
            ("score >= 85", True),
            ("'b' > 'a'", True),
            ("'abc' < 'abd'", True),
            ("1 == 1.0", True),
            ("1.5 > 1", True),
            ("1e3 == 1000", True),
            ("2.5e-1 == 0.25", True),
            ("approved and score > 80", True),
            ("approved and rejected", False),
            ("rejected or approved", True),
            ("rejected or count", False),
            ("approved && rejected", False),
            ("rejected || approved", True),
            ("not rejected", True),
            ("!approved", False),
            ("! !approved", True),
            ("not not approved", True),
            ("-score < 0", True),
            ("-2 < -1", True),
            ("- -2 == 2", True),
            ("-(score) == -85", True),
        ],
    )
    def test_operator(self, source: str, expected: bool) -> None:
        assert value(source) is expected

    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            # and binds tighter than or
            ("true or false and false", True),
            ("(true or false) and false", False),
            ("false and false or true", True),
            ("false and (false or true)", False),
            # not binds looser than comparisons, tighter than and/or
            ("not score == 1", True),
            ("not score == 85 or true", True),
            ("not (score == 85 or true)", False),
            ("not true and false", False),
            ("not (true and false)", True),
            ("not 'x' in ['x']", False),
            # unary minus binds tightest
            ("-1 < 0 and not -1 > 0", True),
            ("((((score))) == ((85)))", True),
        ],
    )
    def test_precedence_and_parentheses(self, source: str, expected: bool) -> None:
        assert value(source) is expected

    def test_comparison_results_are_values(self) -> None:
        assert value("(score > 80) == true")
        assert value("(score > 80) != (score > 90)")

    def test_operators_need_no_spaces(self) -> None:
        assert value("score>=80&&priority=='urgent'")
        assert value("!(score<80)||false")


class TestLiterals:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("true", True),
            ("True", True),
            ("false", False),
            ("False", False),
            ("null", False),
            ("None", False),
            ("1", True),
            ("0", False),
            ("0.0", False),
            ("''", False),
            ("'x'", True),
            ("[]", False),
            ("[0]", True),
            ("null == None", True),
            ("true == True", True),
            ("nothing == null", True),
            ("nothing != null", False),
        ],
    )
    def test_literal_truth(self, source: str, expected: bool) -> None:
        assert value(source) is expected

    @pytest.mark.parametrize(
        ("source", "text"),
        [
            ("'plain'", "plain"),
            ('"double"', "double"),
            ("'it\\'s'", "it's"),
            ('"say \\"hi\\""', 'say "hi"'),
            ("'back\\\\slash'", "back\\slash"),
            ("'a\\nb'", "a\nb"),
            ("'a\\tb'", "a\tb"),
            ("'\"'", '"'),
            ('"\'"', "'"),
            ("'and or not in'", "and or not in"),
            ("'ünïcode ✓'", "ünïcode ✓"),
        ],
    )
    def test_strings_and_escapes(self, source: str, text: str) -> None:
        assert value(f"x == {source}", Scope(variables={"x": text}))

    def test_lists_hold_any_expression(self) -> None:
        assert value("[1, 'a', true, null, [2], score] == [1, 'a', true, null, [2], 85]")
        assert value("[score > 80, -1] == [true, -1]")
        assert value("[1, 2,] == [1, 2]")
        assert value("[] == []")
        assert not value("[1, 2] == [2, 1]")


class TestSyntaxErrors:
    @pytest.mark.parametrize(
        ("source", "position", "message"),
        [
            ("", 0, "expected a value at position 0, found end of input"),
            ("   ", 3, "expected a value at position 3, found end of input"),
            ("(a == 1", 7, "expected ')' at position 7, found end of input"),
            ("(a == 1))", 8, "expected an operator or the end of the condition at position 8, found ')'"),
            ("a ==", 4, "expected a value at position 4, found end of input"),
            ("a == )", 5, "expected a value at position 5, found ')'"),
            ("a and", 5, "expected a value at position 5, found end of input"),
            ("or a", 0, "expected a value at position 0, found 'or'"),
            ("not", 3, "expected a value at position 3, found end of input"),
            ("a b", 2, "expected an operator or the end of the condition at position 2, found 'b'"),
            ("a not b", 2, "expected an operator or the end of the condition at position 2, found 'not'"),
            (
                "a < b < c",
                6,
                "expected 'and' or 'or' (comparisons cannot be chained) at position 6, found '<'",
            ),
            (
                "a == b != c",
                7,
                "expected 'and' or 'or' (comparisons cannot be chained) at position 7, found '!='",
            ),
            (
                "a in b not in c",
                7,
                "expected 'and' or 'or' (comparisons cannot be chained) at position 7, found 'not'",
            ),
            ("a @ b", 2, "unexpected '@' at position 2"),
            ("a = 1", 2, "unexpected '=' at position 2 (use '==')"),
            ("a & b", 2, "unexpected '&' at position 2 (use '&&' or 'and')"),
            ("a | b", 2, "unexpected '|' at position 2 (use '||' or 'or')"),
            ("a + 1", 2, "unexpected '+' at position 2"),
            (
                "f(x)",
                1,
                "expected an operator after 'f' (function calls are not supported) at position 1, found '('",
            ),
            ("a[0]", 1, "expected an operator after 'a' (use a.0, not [0]) at position 1, found '['"),
            (
                "__import__('os')",
                10,
                "expected an operator after '__import__' (function calls are not supported) "
                "at position 10, found '('",
            ),
            (
                "a.__class__()",
                11,
                "expected an operator after 'a.__class__' (function calls are not supported) "
                "at position 11, found '('",
            ),
            ("'abc", 0, "unterminated string starting at position 0"),
            ("x == \"abc'", 5, "unterminated string starting at position 5"),
            ("'a\\q'", 2, "unknown escape '\\\\q' at position 2 (use \\\\ \\' \\\" \\n \\t)"),
            ("1abc", 0, "invalid number '1a' at position 0"),
            ("1.", 0, "invalid number '1.' at position 0"),
            ("1.2.3", 0, "invalid number '1.2.' at position 0"),
            ("a.", 2, "expected a name or index at position 2, found end of input"),
            ("a..b", 2, "expected a name or index at position 2, found '.'"),
            ("items.0x", 6, "expected a name or index at position 6, found '0x'"),
            ("a.-1", 2, "expected a name or index at position 2, found '-'"),
            ("true.x", 0, "'true' at position 0 is a keyword, not a name"),
            ("-'a' == 1", 0, "'-' at position 0 needs a number"),
            ("-[1]", 0, "'-' at position 0 needs a number"),
            ("[1, 2", 5, "expected ',' or ']' at position 5, found end of input"),
            ("[1 2]", 3, "expected ',' or ']' at position 3, found '2'"),
            ("[,]", 1, "expected a value at position 1, found ','"),
            ("a == ()", 6, "expected a value at position 6, found ')'"),
            ("! in x", 2, "expected a value at position 2, found 'in'"),
            ("a ! in b", 2, "expected an operator or the end of the condition at position 2, found '!'"),
        ],
    )
    def test_error_says_what_and_where(self, source: str, position: int, message: str) -> None:
        caught = error(source)
        assert (caught.position, caught.message) == (position, message)

    def test_condition_constructor_parses_too(self) -> None:
        with pytest.raises(ExpressionError):
            Condition("a <")
        assert Condition("a < 1") == parse_condition("a < 1")

    def test_expression_error_is_a_value_error(self) -> None:
        assert issubclass(ExpressionError, ValueError)


class TestLimits:
    def test_source_length(self) -> None:
        ok = "x == '" + "a" * 1993 + "'"
        assert len(ok) == 2000
        parse_condition(ok)
        caught = error(ok + " ")
        assert caught.position == 2000
        assert "too long: 2001 characters, at most 2000" in caught.message

    def test_nesting_depth(self) -> None:
        assert value("(" * MAX_DEPTH + "true" + ")" * MAX_DEPTH)
        caught = error("(" * (MAX_DEPTH + 1) + "true" + ")" * (MAX_DEPTH + 1))
        assert (caught.position, caught.message) == (
            32,
            "condition nests more than 32 levels deep at position 32",
        )
        assert "nests more than 32" in error("not " * 33 + "true").message
        assert "nests more than 32" in error("[" * 33 + "]" * 33).message
        assert "nests more than 32" in error("-" * 33 + "1").message

    def test_node_count(self) -> None:
        parse_condition("[" + ", ".join(["1"] * 499) + "]")
        caught = error("[" + ", ".join(["1"] * 500) + "]")
        assert caught.message == "condition has more than 500 parts (at position 1500)"

    def test_long_flat_chains_are_fine(self) -> None:
        chain = " or ".join(["0"] * 390) + " or 1"
        assert len(chain) < 2000
        assert value(chain)


class TestNames:
    @pytest.mark.parametrize(
        ("source", "names"),
        [
            ("priority == 'urgent'", {"priority"}),
            ("input.order.total > 100 and priority == 'x'", {"input.order.total", "priority"}),
            ("not (a or -b.c < 1) and d in [e, f.0, 'g']", {"a", "b.c", "d", "e", "f.0"}),
            ("a == 1 or a == 2", {"a"}),
            ("'a.b' == 1 and true", set()),
        ],
    )
    def test_names(self, source: str, names: set[str]) -> None:
        assert parse_condition(source).names() == frozenset(names)
