"""app_search: cached records from integrations upserted, and searched together with facts."""

from __future__ import annotations

from typing import Any

import pytest

from flowbus_executor.deps import ExecutorDeps
from tests.integration.executor.knowledge.conftest import Run, failure, output, run_on
from tests.integration.executor.knowledge.kb import (
    FACTS,
    HUBSPOT_ACME,
    RECORDS,
    SALESFORCE_RENEWAL,
    ZENDESK_TICKET,
)


@pytest.fixture
async def kb(run: Run) -> None:
    output(await run("knowledge_update", {"facts": FACTS}))
    result = output(await run("app_search", {"ingest": RECORDS}))
    assert (result["ingested"], result["created"], result["updated"], result["count"]) == (4, 4, 0, 0)


def found(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, what) of each result, best first."""
    return [
        (hit["kind"], hit["record_id"] if hit["kind"] == "record" else f"{hit['subject']} {hit['predicate']}")
        for hit in result["results"]
    ]


@pytest.mark.usefixtures("kb")
async def test_records_and_facts_are_searched_together(run: Run) -> None:
    result = output(await run("app_search", {"query": "renewal"}))

    assert result["match"] == "all"
    assert set(found(result)) == {
        ("record", "9001"),  # hubspot notes: "Renewal talks start in January"
        ("record", "001Ax00000AcmeQ"),  # salesforce description, same words
        ("record", "006Ax00000Renew"),  # the renewal opportunity's title
        ("fact", "Contract CTR-2024-017 renewal_date"),
    }
    assert result["count"] == 4
    scores = [hit["score"] for hit in result["results"]]
    assert scores == sorted(scores, reverse=True)
    [opportunity] = [hit for hit in result["results"] if hit.get("record_id") == "006Ax00000Renew"]
    assert opportunity == {
        "kind": "record",
        "source_system": "salesforce",
        "record_type": "Opportunity",
        "record_id": "006Ax00000Renew",
        "title": "Acme Corp renewal 2025",
        "body": SALESFORCE_RENEWAL["body"],
        "updated_at": opportunity["updated_at"],
        "score": opportunity["score"],
    }


@pytest.mark.usefixtures("kb")
async def test_body_values_are_searchable_and_sources_narrow_records(run: Run) -> None:
    everywhere = output(await run("app_search", {"query": "sso shop floor", "kinds": ["record"]}))
    zendesk = output(await run("app_search", {"query": "sso shop floor", "sources": ["Zendesk"]}))

    assert {record_id for _, record_id in found(everywhere)} == {"9001", "001Ax00000AcmeQ", "48213"}
    assert found(zendesk) == [("record", ZENDESK_TICKET["record_id"])]


@pytest.mark.usefixtures("kb")
async def test_reingesting_a_record_updates_it_and_its_index(run: Run) -> None:
    renamed = {
        **HUBSPOT_ACME,
        "title": "Acme Industries",
        "body": {**HUBSPOT_ACME["body"], "notes": ["Moved to annual billing"]},
        "updated_at": "2025-02-01T08:00:00+00:00",
    }
    result = output(await run("app_search", {"ingest": [renamed], "query": "annual billing"}))
    stale = output(await run("app_search", {"query": "renewal", "sources": ["hubspot"], "kinds": ["record"]}))

    assert (result["ingested"], result["created"], result["updated"]) == (1, 0, 1)
    [hit] = result["results"]
    assert (hit["record_id"], hit["title"], hit["updated_at"]) == (
        "9001",
        "Acme Industries",
        "2025-02-01T08:00:00+00:00",
    )
    assert stale["results"] == []  # the old notes left the index with the update


@pytest.mark.usefixtures("kb")
async def test_a_prose_question_falls_back_to_any_word(run: Run) -> None:
    result = output(await run("app_search", {"query": "which tablets have login trouble?", "limit": 1}))

    assert result["match"] == "any"
    assert found(result) == [("record", "48213")]


@pytest.mark.usefixtures("kb")
async def test_records_are_per_tenant(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    theirs = output(await run_on(deps, f"{tenant}-other", "app_search", {"query": "renewal"}))

    assert (theirs["results"], theirs["count"], theirs["match"]) == ([], 0, None)


async def test_bad_config_is_a_permanent_invalid_config(run: Run) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "missing query or ingest"),
        ({"ingest": {"title": "x"}}, "ingest must be a list of records"),
        ({"ingest": [HUBSPOT_ACME, {**HUBSPOT_ACME, "title": ""}]}, "ingest[1] lacks title"),
        ({"ingest": [{**HUBSPOT_ACME, "updated_at": "last tuesday"}]}, "is not an ISO 8601 date-time"),
        ({"ingest": [{**HUBSPOT_ACME, "body": None}]}, "ingest[0].body must be a JSON object"),
        ({"query": "acme", "kinds": ["fact", "email"]}, "unknown kinds email"),
    ]
    for config, reason in cases:
        error_type, message = failure(await run("app_search", config))
        assert error_type == "invalid_config"
        assert reason in message, (config, message)
