"""system_reasoning: conflicting facts (consistency) and near-duplicates (deduplication)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.executor.knowledge.conftest import Run, failure, output
from tests.integration.executor.knowledge.kb import FACTS, RECORDS

CONFLICTING = [
    {"subject": "Acme Corp", "predicate": "account_manager", "object": "Sam Ortiz", "source": "salesforce"},
    {"subject": "globex", "predicate": "Industry", "object": "shipping", "source": "zoominfo"},
    {
        "subject": "Acme Corp",
        "predicate": "signed",
        "object": "Contract CTR-2025-003",
        "source": "salesforce",
    },
]
NEAR_DUPLICATES = [
    # the same fact, punctuated and spelled out differently
    {"subject": "Acme Corp", "predicate": "account manager", "object": "Dana Lee.", "source": "call notes"},
    # 6 of 8 words shared with Globex's signed contract: similarity 0.75
    {"subject": "Globex", "predicate": "signed", "object": "contract CTR-2023-044 amendment A"},
]


@pytest.fixture
async def kb(run: Run) -> None:
    output(await run("knowledge_update", {"facts": FACTS}))
    output(await run("app_search", {"ingest": RECORDS}))


def groups(result: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [(found["subject"], found["predicate"], found["objects"]) for found in result["conflicts"]]


@pytest.mark.usefixtures("kb")
async def test_consistency_finds_subjects_with_several_objects_for_a_predicate(run: Run) -> None:
    clean = output(await run("system_reasoning", {"mode": "consistency"}))
    output(await run("knowledge_update", {"facts": CONFLICTING}))
    every = output(await run("system_reasoning", {"mode": "consistency"}))
    declared = output(
        await run(
            "system_reasoning", {"mode": "consistency", "single_valued": ["Account_Manager", "industry"]}
        )
    )

    assert (clean["conflicts"], clean["count"]) == ([], 0)
    assert groups(every) == [
        ("Acme Corp", "account_manager", ["Dana Lee", "Sam Ortiz"]),
        ("Acme Corp", "signed", ["Contract CTR-2024-017", "Contract CTR-2025-003"]),
        ("Globex", "industry", ["logistics", "shipping"]),
    ]
    # Signing several contracts is normal: only the declared predicates must be single-valued.
    assert groups(declared) == [
        ("Acme Corp", "account_manager", ["Dana Lee", "Sam Ortiz"]),
        ("Globex", "industry", ["logistics", "shipping"]),
    ]
    manager = declared["conflicts"][0]
    assert manager["sources"] == ["hubspot", "salesforce"]
    assert manager["latest"] == "Sam Ortiz"
    assert len(manager["fact_ids"]) == 2


@pytest.mark.usefixtures("kb")
async def test_consistency_limit(run: Run) -> None:
    output(await run("knowledge_update", {"facts": CONFLICTING}))
    result = output(await run("system_reasoning", {"mode": "consistency", "limit": 1}))

    assert groups(result) == [("Acme Corp", "account_manager", ["Dana Lee", "Sam Ortiz"])]
    assert result["truncated"] is True


@pytest.mark.usefixtures("kb")
async def test_deduplication_pairs_near_duplicate_facts_and_records(run: Run) -> None:
    output(await run("knowledge_update", {"facts": NEAR_DUPLICATES}))
    strict = output(await run("system_reasoning", {"mode": "deduplication"}))
    loose = output(await run("system_reasoning", {"mode": "deduplication", "threshold": 0.7}))
    records = output(await run("system_reasoning", {"mode": "deduplication", "target": "records"}))

    def pairs(result: dict[str, Any]) -> list[tuple[str, float, set[str]]]:
        def name(item: dict[str, Any]) -> str:
            return item.get("record_id") or f"{item['subject']} {item['predicate']} {item['object']}"

        return [
            (pair["kind"], pair["similarity"], {name(pair["first"]), name(pair["second"])})
            for pair in result["pairs"]
        ]

    same_fact = ("fact", 1.0, {"Acme Corp account_manager Dana Lee", "Acme Corp account manager Dana Lee."})
    same_company = ("record", 1.0, {"9001", "001Ax00000AcmeQ"})  # HubSpot and Salesforce: one customer
    amendment = (
        "fact",
        0.75,
        {"Globex signed Contract CTR-2023-044", "Globex signed contract CTR-2023-044 amendment A"},
    )
    assert strict["threshold"] == 0.8
    assert pairs(strict) == [same_fact, same_company]
    assert pairs(loose) == [same_fact, same_company, amendment]
    assert pairs(records) == [same_company]
    assert strict["scanned"] == len(FACTS) + len(NEAR_DUPLICATES) + len(RECORDS)
    assert records["scanned"] == len(RECORDS)
    company = records["pairs"][0]
    assert {company["first"]["source_system"], company["second"]["source_system"]} == {
        "hubspot",
        "salesforce",
    }


async def test_bad_config_is_a_permanent_invalid_config(run: Run) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "missing mode (consistency, deduplication)"),
        ({"mode": "clustering"}, "unknown mode 'clustering' (consistency, deduplication)"),
        ({"mode": "deduplication", "threshold": 1.5}, "threshold must be a number above 0.0 and at most 1.0"),
        ({"mode": "deduplication", "threshold": "high"}, "threshold must be a number"),
        ({"mode": "deduplication", "target": "emails"}, "unknown target 'emails'"),
        ({"mode": "consistency", "single_valued": [1]}, "single_valued must be a list of non-empty strings"),
    ]
    for config, reason in cases:
        error_type, message = failure(await run("system_reasoning", config))
        assert error_type == "invalid_config"
        assert reason in message, (config, message)
