"""knowledge_update: facts stored once per tenant, repeats refreshing source and updated_at."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge.tables import knowledge_facts
from tests.integration.executor.knowledge.conftest import Run, failure, output, run_on
from tests.integration.executor.knowledge.kb import FACTS, triple


async def stored(deps: ExecutorDeps, tenant: str) -> list[sa.Row[object]]:
    async with deps.engine.connect() as conn:
        statement = sa.select(knowledge_facts).where(knowledge_facts.c.tenant_id == tenant)
        return list((await conn.execute(statement.order_by(knowledge_facts.c.id))).all())


async def test_a_batch_is_stored_once_per_fact(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    # The last fact repeats the second, differently cased and spaced: one fact, two mentions.
    batch = [*FACTS, {"subject": "ACME corp", "predicate": "Account_Manager", "object": "dana   lee"}]
    result = output(await run("knowledge_update", {"facts": batch}))

    assert (result["stored"], result["duplicates"]) == (len(FACTS), 1)
    assert len(result["fact_ids"]) == len(batch)
    assert result["fact_ids"][-1] == result["fact_ids"][1]
    assert len(set(result["fact_ids"])) == len(FACTS)
    assert [fact["duplicate"] for fact in result["facts"]] == [False] * len(FACTS) + [True]
    rows = await stored(deps, tenant)
    assert [(row.subject, row.predicate, row.object) for row in rows] == [triple(fact) for fact in FACTS]
    assert rows[1].source == "hubspot"  # the repeat named no source: the stored one stays


async def test_a_repeat_refreshes_source_and_updated_at(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    first = output(
        await run(
            "knowledge_update",
            {"subject": "Globex", "predicate": "industry", "object": "logistics", "source": "hubspot"},
        )
    )
    [before] = await stored(deps, tenant)
    again = output(
        await run(
            "knowledge_update",
            {"subject": "Globex", "predicate": "industry", "object": "Logistics", "source": "salesforce"},
        )
    )
    [after] = await stored(deps, tenant)

    assert (first["stored"], first["duplicates"]) == (1, 0)
    assert (again["stored"], again["duplicates"]) == (0, 1)
    assert again["fact_ids"] == first["fact_ids"]
    assert again["facts"][0]["duplicate"] is True
    assert again["facts"][0]["source"] == "salesforce"
    assert (after.object, after.source) == ("logistics", "salesforce")  # first spelling kept, source taken
    assert after.created_at == before.created_at
    assert after.updated_at > before.updated_at


async def test_config_source_is_the_default_for_listed_facts(
    run: Run, deps: ExecutorDeps, tenant: str
) -> None:
    facts = [
        {"subject": "Initech", "predicate": "evaluating", "object": "Flowbus Cloud"},
        {"subject": "Initech", "predicate": "headcount", "object": 420, "source": "linkedin"},
    ]
    output(await run("knowledge_update", {"facts": facts, "source": "call notes 2025-01-14"}))

    rows = await stored(deps, tenant)
    assert [(row.object, row.source) for row in rows] == [
        ("Flowbus Cloud", "call notes 2025-01-14"),
        ("420", "linkedin"),
    ]


async def test_facts_are_per_tenant(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    fact = {"subject": "Acme Corp", "predicate": "account_manager", "object": "Dana Lee"}
    mine = output(await run("knowledge_update", fact))
    theirs = output(await run_on(deps, f"{tenant}-other", "knowledge_update", fact))

    assert (mine["stored"], theirs["stored"]) == (1, 1)
    assert mine["fact_ids"] != theirs["fact_ids"]


async def test_bad_facts_are_a_permanent_invalid_config(run: Run) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "missing facts"),
        ({"facts": "Acme Corp signed"}, "facts must be a list"),
        ({"facts": [{"subject": "Acme Corp", "predicate": "signed"}]}, "facts[0] lacks object"),
        ({"facts": [FACTS[0], "Acme Corp"]}, "facts[1] lacks subject"),
        ({"facts": [FACTS[0], 7]}, "facts[1] must be an object"),
        ({"facts": [FACTS[0]], "object": "Globex"}, "not both"),
        ({"subject": "Acme Corp", "predicate": "tags", "object": ["a", "b"]}, "config.object must be text"),
        ({"subject": "x" * 501, "predicate": "is", "object": "long"}, "longer than 500"),
        ({"facts": [FACTS[0]] * 501}, "at most 500"),
    ]
    for config, reason in cases:
        error_type, message = failure(await run("knowledge_update", config))
        assert error_type == "invalid_config"
        assert reason in message, (config, message)


async def test_texts_about_one_subject_as_the_contract_workflow_sends_them(
    run: Run, deps: ExecutorDeps, tenant: str
) -> None:
    config = {
        "update_type": "obligation",
        "subject": "C-17",
        "facts": ["Pay within 30 days", "Renew by 2027-01-31"],
    }
    result = output(await run("knowledge_update", config))
    assert result["stored"] == 2
    rows = await stored(deps, tenant)
    assert sorted((row.subject, row.predicate, row.object) for row in rows) == [
        ("C-17", "obligation", "Pay within 30 days"),
        ("C-17", "obligation", "Renew by 2027-01-31"),
    ]
