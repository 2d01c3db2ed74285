"""References in step configs: both spellings, types kept or rendered, nesting, escapes, every failure."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowbus_orchestrator.domain import variables
from flowbus_orchestrator.domain.scope import Scope
from flowbus_orchestrator.domain.variables import (
    ResolutionLimitExceeded,
    UnresolvedReference,
    references,
    resolve,
)

SCOPE = Scope(
    input={"order": {"id": "o-17", "total": 42.5}, "a": {"b": "deep"}},
    variables={
        "name": "Ada",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "off": False,
        "nothing": None,
        "customer": {"name": "Ada", "city": "Zürich"},
        "tags": ["x", "y"],
        "kind": "agent7",
        "agent7_output": {"ok": True},
        "i": 1,
        "self_ref": "{{self_ref}}",
        "empty": "",
        "space": " ",
        "braces": "{{",
        "dollar": "$",
        "a": "a",
    },
    steps={"analyze_ticket": {"priority": "high", "items": [{"price": 10}, {"price": 20}]}},
)


def missing(value: Any) -> UnresolvedReference:
    with pytest.raises(UnresolvedReference) as caught:
        resolve(value, SCOPE)
    return caught.value


@pytest.mark.parametrize(
    "template",
    ["{{name}}", "{{ name }}", "${name}", "${ name }", "  {{ name }} ", "{{\tname\n}}", "${variables.name}"],
)
def test_both_spellings_and_whitespace(template: str) -> None:
    assert resolve(template, SCOPE) == "Ada"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{count}}", 3),
        ("{{ ratio }}", 0.5),
        ("${flag}", True),
        ("{{off}}", False),
        (" {{nothing}} ", None),
        ("{{customer}}", {"name": "Ada", "city": "Zürich"}),
        ("${tags}", ["x", "y"]),
        ("{{input.order.total}}", 42.5),
    ],
)
def test_a_whole_value_reference_keeps_the_type(template: str, expected: Any) -> None:
    result = resolve(template, SCOPE)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("n={{name}}", "n=Ada"),
        ("n={{count}}", "n=3"),
        ("n={{ratio}}", "n=0.5"),
        ("n={{flag}}/{{off}}", "n=true/false"),
        ("n=[{{nothing}}]", "n=[]"),
        ("n={{customer}}", 'n={"name":"Ada","city":"Zürich"}'),
        ("n=${tags}", 'n=["x","y"]'),
        ("{{name}}{{name}}", "AdaAda"),
    ],
)
def test_embedded_references_become_text(template: str, expected: str) -> None:
    assert resolve(template, SCOPE) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{analyze_ticket.priority}}", "high"),
        ("{{steps.analyze_ticket.priority}}", "high"),
        ("${input.order.id}", "o-17"),
        ("{{input.a.b}}", "deep"),
        ("{{analyze_ticket.items.0.price}}", 10),
        ("{{ analyze_ticket.items.-1.price }}", 20),
    ],
)
def test_inputs_step_outputs_and_list_indexes(template: str, expected: Any) -> None:
    assert resolve(template, SCOPE) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ {{kind}}_output }}", {"ok": True}),
        ("ok: {{ {{kind}}_output.ok }}", "ok: true"),
        ("${ {{kind}}_output }", {"ok": True}),
        ("{{analyze_ticket.items.{{i}}.price}}", 20),
        ("{{analyze_ticket.items.{{ {{ {{a}} }} }}.price}}", None),  # a -> "a" -> "a": not an index
        ("{{ {{empty}}name }}", "Ada"),
    ],
)
def test_nested_references_resolve_inside_out(template: str, expected: Any) -> None:
    if expected is None:
        assert missing(template).paths == ("analyze_ticket.items.a.price",)
    else:
        assert resolve(template, SCOPE) == expected


def test_an_empty_substitution_does_not_make_text_a_whole_value() -> None:
    assert resolve("{{empty}} {{count}}", SCOPE) == " 3"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (r"\{{name}}", "{{name}}"),
        (r"\${name}", "${name}"),
        (r"\{{ {{name}} }}", "{{ Ada }}"),
        (r"\\{{name}}", r"\{{name}}"),  # only `\{{` is an escape; the first backslash is literal
        (r"a\b\{c", r"a\b\{c"),
    ],
)
def test_escapes(template: str, expected: str) -> None:
    assert resolve(template, SCOPE) == expected
    assert references(template) == (frozenset({"name"}) if "Ada" in expected else frozenset())


def test_substituted_text_is_never_scanned_again() -> None:
    assert resolve("{{self_ref}}", SCOPE) == "{{self_ref}}"
    assert resolve("a {{self_ref}}", SCOPE) == "a {{self_ref}}"
    assert resolve("x {{braces}}name}} y", SCOPE) == "x {{name}} y"
    assert resolve("{{dollar}}{name}", SCOPE) == "${name}"


def test_every_missing_reference_is_reported_once_in_order() -> None:
    config = {
        "a": "{{nope}}",
        "b": ["x {{input.missing}} y", {"c": "${steps.ghost.out}", "d": "{{name}}"}],
        "e": "{{ nope }} and {{analyze_ticket.items.5.price}}",
    }
    error = missing(config)
    assert error.paths == ("nope", "input.missing", "steps.ghost.out", "analyze_ticket.items.5.price")
    assert error.malformed == ()
    assert isinstance(error, LookupError)
    for path in error.paths:
        assert path in str(error)


def test_a_failed_inner_reference_is_not_reported_twice() -> None:
    assert missing("{{ {{ghost}}_output }}").paths == ("ghost",)
    assert missing("{{ {{kind}}_x }}").paths == ("agent7_x",)


@pytest.mark.parametrize(
    ("template", "reported"),
    [
        ("{{ a b }}", "{{ a b }}"),
        ("x {{}}", "{{}}"),
        ("unclosed {{ name", "{{ name"),
        ("${HOME", "${HOME"),
        ("{{ name } }", "{{ name } }"),
        ("{{ 1abc }}", "{{ 1abc }}"),
        ("{{ {{braces}} }}", "{{ {{ }}"),
        ("{{ name{{space}} }}", "{{ name  }}"),
    ],
)
def test_malformed_references_are_errors(template: str, reported: str) -> None:
    error = missing({"k": [template, "{{nope}}"]})
    assert error.malformed == (reported,)
    assert error.paths == ("nope",)
    assert repr(reported) in str(error)


def test_resolve_returns_a_new_structure_and_never_mutates() -> None:
    config = {"to": "{{customer}}", "items": ("{{tags}}", ["{{count}}", 5]), "{{key}}": "{{name}} x"}
    before = copy.deepcopy(config)
    result = resolve(config, SCOPE)
    assert config == before
    assert result == {"to": SCOPE.variables["customer"], "items": [["x", "y"], [3, 5]], "{{key}}": "Ada x"}
    result["to"]["name"] = "changed"  # a whole value is a copy: the execution's state stays as it was
    assert SCOPE.variables["customer"]["name"] == "Ada"


@pytest.mark.parametrize("text", ["plain", "", "a { b } c", "$5 and {x}", "}} {", "a\\nb", "$ {", "{ {x} }"])
def test_strings_without_references_are_returned_equal(text: str) -> None:
    assert resolve(text, SCOPE) == text


@pytest.mark.parametrize("value", [3, 2.5, True, False, None, b"{{name}}"])
def test_non_string_scalars_are_untouched(value: Any) -> None:
    assert resolve(value, SCOPE) is value


def test_nul_characters_survive() -> None:
    assert resolve("a\x00o{{name}}\x00", SCOPE) == "a\x00oAda\x00"


def test_references_lists_every_statically_known_path() -> None:
    config = {
        "a": "{{name}} and ${input.order.id}",
        "b": ["{{ {{kind}}_output }}", {"k": "{{analyze_ticket.items.0.price}}"}, 7, None],
        "{{key}}": "keys are not references",
        "bad": "{{ a b }} {{ unclosed",
    }
    assert references(config) == frozenset({"name", "input.order.id", "kind", "analyze_ticket.items.0.price"})
    assert references(("{{x}}",)) == frozenset({"x"})
    assert references(12) == frozenset()


def nested(depth: int) -> str:
    return "{{ " * depth + "a" + " }}" * depth


def test_nesting_is_bounded() -> None:
    assert resolve(nested(variables.MAX_DEPTH), SCOPE) == "a"
    assert resolve("x" + nested(variables.MAX_DEPTH), SCOPE) == "xa"
    with pytest.raises(ResolutionLimitExceeded, match="nest"):
        resolve(nested(variables.MAX_DEPTH + 1), SCOPE)
    with pytest.raises(ResolutionLimitExceeded):
        resolve("x" + nested(variables.MAX_DEPTH + 1), SCOPE)


def test_expansion_is_bounded() -> None:
    big = "x" * (variables.MAX_CHARS // 2 + 1)
    scope = Scope(variables={"big": big})
    assert resolve("{{big}}", scope) == big
    assert resolve("a{{big}}", scope) == "a" + big
    with pytest.raises(ResolutionLimitExceeded, match="exceed") as caught:
        resolve({"k": ["{{big}}{{big}}"]}, scope)
    assert isinstance(caught.value, UnresolvedReference)  # callers that fail the step catch it too
    assert caught.value.paths == ()


# Strings biased towards the characters the resolver treats specially.
texts = st.text(st.sampled_from(list("{}$\\\x00 .az0_")) | st.characters(), max_size=30).filter(
    lambda text: "{{" not in text and "${" not in text
)
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_like)
def test_structures_without_references_resolve_to_themselves(value: Any) -> None:
    before = copy.deepcopy(value)
    assert resolve(value, SCOPE) == value
    assert value == before
    assert references(value) == frozenset()
