"""knowledge_lookup: ranked full-text answers over the tenant's facts (PostgreSQL ts_rank over
websearch_to_tsquery, SQLite FTS5 bm25), extractive or summarised by the llm-gateway."""

from __future__ import annotations

from typing import Any

import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge import handlers
from flowbus_shared.step_worker import run_step
from tests.integration.executor.knowledge.conftest import Run, failure, output, request_for, run_on
from tests.integration.executor.knowledge.kb import FACTS
from tests.support.executor_deps import executor_deps
from tests.support.http_double import Recorded, chat_completion, http_double


@pytest.fixture
async def kb(run: Run) -> None:
    output(await run("knowledge_update", {"facts": FACTS}))


def triples(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(hit["subject"], hit["predicate"], hit["object"]) for hit in result["results"]]


@pytest.mark.usefixtures("kb")
async def test_a_question_ranks_the_facts_sharing_most_of_its_words_first(run: Run) -> None:
    result = output(await run("knowledge_lookup", {"query": "Who is the account manager for Globex?"}))

    # No fact has every word of the question, so facts with any of them are ranked.
    assert result["match"] == "any"
    found = triples(result)
    assert found[:2] == [
        ("Globex", "account_manager", "Sam Ortiz"),  # globex, account, manager
        ("Acme Corp", "account_manager", "Dana Lee"),  # account, manager
    ]
    assert set(found[2:]) == {
        ("Globex", "industry", "logistics"),
        ("Globex", "signed", "Contract CTR-2023-044"),
    }
    scores = [hit["score"] for hit in result["results"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[1] > scores[2]
    assert result["results"][0]["source"] == "hubspot"
    assert result["answer"].startswith(
        "Globex account manager Sam Ortiz. Acme Corp account manager Dana Lee."
    )
    assert result["summarized"] is False


@pytest.mark.usefixtures("kb")
async def test_every_word_must_match_when_some_fact_has_them_all(run: Run) -> None:
    result = output(await run("knowledge_lookup", {"query": "flowbus cloud"}))

    assert result["match"] == "all"
    assert set(triples(result)) == {
        ("Contract CTR-2024-017", "covers", "Flowbus Cloud"),
        ("Flowbus Cloud", "owned_by", "Platform Team"),
        ("Initech", "evaluating", "Flowbus Cloud"),
    }  # not "Flowbus On-Prem"


@pytest.mark.usefixtures("kb")
async def test_web_search_syntax_means_the_same_on_both_backends(run: Run) -> None:
    async def find(query: str) -> set[tuple[str, str, str]]:
        return set(triples(output(await run("knowledge_lookup", {"query": query}))))

    assert await find('"account manager" -globex') == {("Acme Corp", "account_manager", "Dana Lee")}
    assert await find("flowbus initech or logistics") == {
        ("Initech", "evaluating", "Flowbus Cloud"),
        ("Globex", "industry", "logistics"),
    }
    assert await find("CTR-2024-017") == {
        ("Acme Corp", "signed", "Contract CTR-2024-017"),
        ("Contract CTR-2024-017", "covers", "Flowbus Cloud"),
        ("Contract CTR-2024-017", "renewal_date", "2025-03-31"),
        ("Contract CTR-2024-017", "annual_value", "120000 USD"),
    }


@pytest.mark.usefixtures("kb")
async def test_limit_keeps_the_best(run: Run) -> None:
    everything = output(await run("knowledge_lookup", {"query": "contract"}))
    best = output(await run("knowledge_lookup", {"query": "contract", "limit": 2}))

    assert len(everything["results"]) == 6
    assert triples(best) == triples(everything)[:2]


@pytest.mark.usefixtures("kb")
async def test_facts_stored_later_are_found_and_other_tenants_are_not(
    run: Run, deps: ExecutorDeps, tenant: str
) -> None:
    output(
        await run(
            "knowledge_update", {"subject": "Umbrella Ltd", "predicate": "churned_on", "object": "2024-11-02"}
        )
    )
    other = f"{tenant}-other"
    output(
        await run_on(
            deps, other, "knowledge_update", {"subject": "Umbrella Ltd", "predicate": "ceo", "object": "Al"}
        )
    )

    result = output(await run("knowledge_lookup", {"query": "umbrella"}))
    theirs = output(await run_on(deps, other, "knowledge_lookup", {"query": "Acme"}))

    assert triples(result) == [("Umbrella Ltd", "churned_on", "2024-11-02")]
    assert theirs["results"] == []
    assert theirs["match"] is None
    assert theirs["answer"] == "No facts match 'Acme'."


@pytest.mark.usefixtures("kb")
async def test_summarize_asks_the_llm_gateway_with_the_top_facts(database_url: str, tenant: str) -> None:
    summary = "Sam Ortiz manages the Globex account."

    def gateway(_recorded: Recorded) -> tuple[int, Any]:
        return 200, chat_completion(summary)

    with http_double(gateway) as double:
        async with executor_deps(database_url, llm_gateway_url=f"{double.url}/v1") as deps:
            config = {"query": "Who is the account manager for Globex?", "summarize": True, "limit": 3}
            result = await run_step(
                handlers(deps), request_for(tenant, "knowledge_lookup", config), executed_by="executor"
            )
            nothing = await run_on(deps, tenant, "knowledge_lookup", {"query": "zeppelin", "summarize": True})

    assert output(result)["answer"] == summary
    assert output(result)["summarized"] is True
    assert len(output(result)["results"]) == 3
    [asked] = double.requests  # nothing matched "zeppelin": no model call for it
    assert asked.path == "/v1/chat/completions"
    assert asked.headers["x-flowbus-tenant"] == tenant
    system, user = asked.body["messages"]
    assert system["role"] == "system"
    assert "knowledge base" in system["content"]
    assert user["role"] == "user"
    assert user["content"].startswith("Question: Who is the account manager for Globex?\n\nFacts:\n")
    assert "1. Globex account manager Sam Ortiz (source: hubspot)" in user["content"]
    assert "2. Acme Corp account manager Dana Lee (source: hubspot)" in user["content"]
    assert "4." not in user["content"]  # the step's limit bounds what the model sees
    assert output(nothing)["summarized"] is False
    assert output(nothing)["answer"] == "No facts match 'zeppelin'."


async def test_bad_queries_are_a_permanent_invalid_config(run: Run) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "missing query"),
        ({"query": ["acme"]}, "query must be text"),
        ({"query": "?!"}, "no words to search for"),
        ({"query": "-globex"}, "no words to search for"),
        ({"query": "acme or -globex"}, "only excludes"),
        ({"query": "acme", "limit": 0}, "limit must be an integer from 1 to 100"),
        ({"query": "acme", "summarize": "yes"}, "summarize must be true or false"),
    ]
    for config, reason in cases:
        error_type, message = failure(await run("knowledge_lookup", config))
        assert error_type == "invalid_config"
        assert reason in message, (config, message)
