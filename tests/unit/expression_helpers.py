"""Shared helpers for the step-condition tests: a sample Scope and shortcuts to parse and evaluate."""

from __future__ import annotations

import pytest

from flowbus_orchestrator.domain.expressions import ConditionOutcome, ExpressionError, parse_condition
from flowbus_orchestrator.domain.scope import Scope

SCOPE = Scope(
    input={"order": {"total": 150, "lines": [{"price": 3.5}, {"price": 10}]}, "tags": ["vip", "eu"]},
    variables={
        "priority": "urgent",
        "score": 85,
        "category": "billing",
        "status": "open",
        "approved": True,
        "rejected": False,
        "count": 0,
        "nothing": None,
        "name": "Ada",
        "empty": [],
        "settings": {"mode": "fast"},
    },
    steps={"analyze_ticket": {"confidence": 0.5, "label": "refund"}},
)


def run(source: str, scope: Scope = SCOPE) -> ConditionOutcome:
    return parse_condition(source).evaluate(scope)


def value(source: str, scope: Scope = SCOPE) -> bool:
    outcome = run(source, scope)
    assert outcome.warnings == (), outcome.warnings
    return outcome.value


def error(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        parse_condition(source)
    assert str(caught.value) == caught.value.message
    return caught.value
