"""system_reasoning: checks over the tenant's knowledge.

config `mode`:
- `consistency`: conflicting facts, one subject with several objects for a predicate that
  allows one (the predicates in `single_valued`, else every predicate). output: {mode,
  conflicts: [{subject, predicate, objects, sources, fact_ids, latest}], count, truncated}.
- `deduplication`: near-duplicate facts or cached records (`target`: "facts", "records" or
  "all", default all): texts lowercased, punctuation stripped, compared as token sets; pairs
  whose Jaccard similarity reaches `threshold` (default 0.8). output: {mode, threshold, pairs:
  [{kind, similarity, first, second}], count, scanned, truncated}.
`limit` caps conflicts or pairs (1-1000, default 100).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge.options import (
    float_option,
    int_option,
    invalid,
    text_list,
    text_option,
)
from flowbus_executor.executors.knowledge.tables import cached_records, knowledge_facts
from flowbus_executor.executors.knowledge.text import jaccard, norm, token_set
from flowbus_shared.schemas import StepRequest

MODES = ("consistency", "deduplication")
TARGETS = {"facts": ("fact",), "records": ("record",), "all": ("fact", "record")}
# Items compared per kind (the most recently updated): pairwise comparison must stay bounded.
MAX_SCAN = 5000


async def conflicts(
    conn: AsyncConnection, tenant: str, single_valued: list[str] | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """Subject and predicate groups with more than one object, oldest fact first in each."""
    t = knowledge_facts.c
    groups = sa.select(t.subject_norm, t.predicate_norm).where(t.tenant_id == tenant)
    if single_valued is not None:
        groups = groups.where(t.predicate_norm.in_([norm(predicate) for predicate in single_valued]))
    grouped = (
        groups.group_by(t.subject_norm, t.predicate_norm)
        .having(sa.func.count() > 1)
        .order_by(t.subject_norm, t.predicate_norm)
        .limit(limit + 1)
        .subquery()
    )
    rows = await conn.execute(
        sa.select(knowledge_facts)
        .join(
            grouped,
            sa.and_(t.subject_norm == grouped.c.subject_norm, t.predicate_norm == grouped.c.predicate_norm),
        )
        .where(t.tenant_id == tenant)
        .order_by(t.subject_norm, t.predicate_norm, t.id)
    )
    found: dict[tuple[str, str], list[sa.Row[Any]]] = defaultdict(list)
    for row in rows:
        found[(row.subject_norm, row.predicate_norm)].append(row)
    reported = []
    for facts in list(found.values())[:limit]:
        latest = max(facts, key=lambda fact: (fact.updated_at, fact.id))
        reported.append(
            {
                "subject": facts[0].subject,
                "predicate": facts[0].predicate,
                "objects": [fact.object for fact in facts],
                "sources": [fact.source for fact in facts],
                "fact_ids": [fact.fact_id for fact in facts],
                "latest": latest.object,
            }
        )
    return reported, len(found) > limit


@dataclass(frozen=True)
class Item:
    """One fact or record to compare: how to report it and its token set."""

    kind: str
    ident: dict[str, Any]
    tokens: frozenset[str]


async def _items(conn: AsyncConnection, tenant: str, kind: str) -> tuple[list[Item], bool]:
    """The tenant's newest facts or records (at most MAX_SCAN) and whether there were more."""
    if kind == "fact":
        t = knowledge_facts.c
        statement = (
            sa.select(knowledge_facts).where(t.tenant_id == tenant).order_by(t.updated_at.desc(), t.id)
        )
        rows = (await conn.execute(statement.limit(MAX_SCAN + 1))).all()
        items = [
            Item(
                "fact",
                {"fact_id": r.fact_id, "subject": r.subject, "predicate": r.predicate, "object": r.object},
                token_set(f"{r.subject} {r.predicate} {r.object}"),
            )
            for r in rows[:MAX_SCAN]
        ]
    else:
        c = cached_records.c
        statement = sa.select(cached_records).where(c.tenant_id == tenant).order_by(c.updated_at.desc(), c.id)
        rows = (await conn.execute(statement.limit(MAX_SCAN + 1))).all()
        items = [
            Item(
                "record",
                {
                    "source_system": r.source_system,
                    "record_type": r.record_type,
                    "record_id": r.record_id,
                    "title": r.title,
                },
                token_set(f"{r.title} {r.body_text}"),
            )
            for r in rows[:MAX_SCAN]
        ]
    return items, len(rows) > MAX_SCAN


def similar_pairs(items: list[Item], threshold: float) -> list[tuple[float, int, int]]:
    """(similarity, i, j) for i < j at or above the threshold: only items sharing a token are compared."""
    postings: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        for token in item.tokens:
            postings[token].append(index)
    pairs = []
    for i, item in enumerate(items):
        shared: Counter[int] = Counter()
        for token in item.tokens:
            shared.update(j for j in postings[token] if j > i)
        for j, common in shared.items():
            union = len(item.tokens) + len(items[j].tokens) - common
            similarity = common / union
            if similarity >= threshold:
                pairs.append((similarity, i, j))
    # Two empty texts (punctuation only) are alike too, though they share no token.
    empty = [index for index, item in enumerate(items) if not item.tokens]
    pairs += [(jaccard(frozenset(), frozenset()), i, j) for n, i in enumerate(empty) for j in empty[n + 1 :]]
    return pairs


async def duplicates(
    conn: AsyncConnection, tenant: str, kinds: tuple[str, ...], threshold: float, limit: int
) -> dict[str, Any]:
    reported: list[tuple[float, dict[str, Any]]] = []
    scanned = 0
    truncated = False
    for kind in kinds:
        items, more = await _items(conn, tenant, kind)
        scanned += len(items)
        truncated = truncated or more
        for similarity, i, j in similar_pairs(items, threshold):
            pair = {
                "kind": kind,
                "similarity": round(similarity, 4),
                "first": items[i].ident,
                "second": items[j].ident,
            }
            reported.append((similarity, pair))
    reported.sort(key=lambda entry: -entry[0])  # stable: discovery order among equals
    pairs = [pair for _, pair in reported[:limit]]
    return {
        "pairs": pairs,
        "count": len(pairs),
        "scanned": scanned,
        "truncated": truncated or len(reported) > limit,
    }


async def system_reasoning(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    mode = text_option(config, "mode")
    if mode not in MODES:
        given = "missing mode" if mode is None else f"unknown mode {mode!r}"
        raise invalid(f"{given} ({', '.join(MODES)})")
    limit = int_option(config, "limit", 100, 1, 1000)
    if mode == "consistency":
        single_valued = text_list(config, "single_valued")
        async with deps.engine.connect() as conn:
            found, truncated = await conflicts(conn, request.tenant_id, single_valued, limit)
        return {"mode": mode, "conflicts": found, "count": len(found), "truncated": truncated}
    threshold = float_option(config, "threshold", 0.8, 0.0, 1.0)
    target = text_option(config, "target") or "all"
    if target not in TARGETS:
        raise invalid(f"unknown target {target!r} ({', '.join(TARGETS)})")
    async with deps.engine.connect() as conn:
        report = await duplicates(conn, request.tenant_id, TARGETS[target], threshold, limit)
    return {"mode": mode, "threshold": threshold, **report}
