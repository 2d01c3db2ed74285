"""The rule-based NLU: labelled, honest about its confidence, and giving the fields the
predefined workflows route on."""

from __future__ import annotations

import pytest

from flowbus_llm_gateway.local_nlu import PROVIDER, analyse


def test_an_urgent_technical_ticket() -> None:
    result = analyse("URGENT: the login page is down since 9am. Contact ops@acme.io", {})
    assert result["provider"] == PROVIDER
    assert (result["priority"], result["category"]) == ("urgent", "technical")
    assert result["entities"]["emails"] == ["ops@acme.io"]
    assert result["confidence"] == 0.8  # three cues matched


def test_allowed_values_limit_the_answers() -> None:
    result = analyse(
        "I was overcharged on my invoice, no rush", {"allowed_values": {"priority": ["urgent", "normal"]}}
    )
    assert result["category"] == "billing"
    assert result["priority"] == "normal"  # "low" is not allowed here


def test_without_cues_it_says_it_is_unsure() -> None:
    result = analyse("hello there", {})
    assert (result["priority"], result["category"]) == ("normal", "general")
    assert result["confidence"] < 0.7  # the orchestrator will ask a person


@pytest.mark.parametrize(
    ("text", "at_least", "below"),
    [("Our CTO wants a demo and pricing for 500 seats this quarter", 80, 101), ("just browsing", 0, 1)],
)
def test_lead_score(text: str, at_least: int, below: int) -> None:
    assert at_least <= analyse(text, {})["score"] < below


def test_contract_fields() -> None:
    text = (
        "Contract C-17 between Acme and Globex. Globex must deliver a monthly report. Renews on 2027-01-31."
    )
    result = analyse(text, {})
    assert result["entities"]["contract_id"] == "C-17"
    assert result["renewal_date"] == "2027-01-31"
    assert result["tasks"] == ["Globex must deliver a monthly report"]
    assert analyse("a contract without an id", {})["entities"]["contract_id"] == "New Contract"
