"""graphrag_query: breadth-first walks over the facts graph, depth- and size-limited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.executor.knowledge.conftest import Run, failure, output
from tests.integration.executor.knowledge.kb import FACTS

pytestmark = pytest.mark.usefixtures("kb")


@pytest.fixture
async def kb(run: Run) -> None:
    output(await run("knowledge_update", {"facts": FACTS}))


def hops(result: dict[str, Any]) -> set[tuple[str, str, str, int]]:
    return {
        (rel["subject"], rel["predicate"], rel["object"], rel["depth"]) for rel in result["relationships"]
    }


async def test_two_hops_from_a_customer(run: Run) -> None:
    result = output(await run("graphrag_query", {"entities": ["acme corp"]}))

    assert result["entities"] == ["Acme Corp"]  # the stored spelling
    assert hops(result) == {
        ("Acme Corp", "industry", "manufacturing", 1),
        ("Acme Corp", "account_manager", "Dana Lee", 1),
        ("Acme Corp", "signed", "Contract CTR-2024-017", 1),
        ("Dana Lee", "works_in", "Sales", 2),
        ("Contract CTR-2024-017", "covers", "Flowbus Cloud", 2),
        ("Contract CTR-2024-017", "renewal_date", "2025-03-31", 2),
        ("Contract CTR-2024-017", "annual_value", "120000 USD", 2),
    }
    assert result["truncated"] is False
    assert (
        "Acme Corp signed Contract CTR-2024-017 → Contract CTR-2024-017 covers Flowbus Cloud"
        in result["paths"]
    )
    assert "Acme Corp industry manufacturing" in result["paths"]
    assert result["answer"].startswith("Paths from Acme Corp:\n- ")
    assert "- Acme Corp account manager Dana Lee → Dana Lee works in Sales" in result["answer"]


async def test_depth_four_is_the_deepest_and_edges_are_followed_both_ways(run: Run) -> None:
    result = output(await run("graphrag_query", {"entities": ["Acme Corp"], "depth": 4}))

    found = hops(result)
    assert ("Initech", "evaluating", "Flowbus Cloud", 3) in found  # reached against the edge's direction
    assert ("Flowbus Cloud", "owned_by", "Platform Team", 3) in found
    assert ("Platform Team", "led_by", "Priya Raman", 4) in found
    assert not any(subject == "Priya Raman" for subject, *_ in found)  # reports_to is hop 5
    assert max(depth for *_, depth in found) == 4
    assert (
        "Acme Corp signed Contract CTR-2024-017 → Contract CTR-2024-017 covers Flowbus Cloud → "
        "Flowbus Cloud owned by Platform Team → Platform Team led by Priya Raman"
    ) in result["paths"]
    assert not any(subject.startswith("Globex") for subject, *_ in found)  # not connected to Acme

    error_type, message = failure(await run("graphrag_query", {"entities": ["Acme Corp"], "depth": 5}))
    assert (error_type, message) == ("invalid_config", "depth must be an integer from 1 to 4, not 5")


async def test_entities_are_found_in_the_query_text(run: Run) -> None:
    result = output(
        await run(
            "graphrag_query", {"query": "What does GLOBEX run, and who leads the platform team?", "depth": 1}
        )
    )

    assert result["entities"] == ["Globex", "Platform Team"]
    assert hops(result) == {
        ("Globex", "industry", "logistics", 1),
        ("Globex", "account_manager", "Sam Ortiz", 1),
        ("Globex", "signed", "Contract CTR-2023-044", 1),
        ("Flowbus Cloud", "owned_by", "Platform Team", 1),
        ("Platform Team", "led_by", "Priya Raman", 1),
    }


async def test_names_match_whole_words_only(run: Run) -> None:
    # "Sales" is a node; "salesforce" in the question must not start a walk from it.
    result = output(await run("graphrag_query", {"query": "what came in from salesforce today?"}))

    assert result["entities"] == []
    assert result["relationships"] == []
    assert result["answer"] == "No known entities to start from."


async def test_limit_caps_the_relationships(run: Run) -> None:
    result = output(await run("graphrag_query", {"entities": ["Acme Corp"], "depth": 4, "limit": 4}))

    assert len(result["relationships"]) == 4
    assert [rel["depth"] for rel in result["relationships"]] == [1, 1, 1, 2]  # breadth first
    assert result["truncated"] is True
    assert result["answer"].endswith("(the relationship limit was reached; some paths are cut short)")


async def test_unknown_entities_are_reported(run: Run) -> None:
    result = output(await run("graphrag_query", {"entities": ["Initech", "Hooli"], "depth": 1}))

    assert result["entities"] == ["Initech"]
    assert result["unmatched"] == ["Hooli"]
    assert hops(result) == {("Initech", "evaluating", "Flowbus Cloud", 1)}


async def test_bad_config_is_a_permanent_invalid_config(run: Run) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "missing entities or query"),
        ({"entities": "Acme Corp", "depth": 0}, "depth must be an integer from 1 to 4"),
        ({"entities": [""]}, "entities must be a list of non-empty strings"),
        ({"query": "acme", "limit": 501}, "limit must be an integer from 1 to 500"),
    ]
    for config, reason in cases:
        error_type, message = failure(await run("graphrag_query", config))
        assert error_type == "invalid_config"
        assert reason in message, (config, message)
