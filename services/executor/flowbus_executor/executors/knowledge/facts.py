"""knowledge_update: store a tenant's facts once each.

A fact is (subject, predicate, object) with an optional source. The same tenant, subject,
predicate and object (compared casefolded, whitespace collapsed) is one fact: storing it again
keeps the first spelling, refreshes `updated_at`, takes the new `source` when one is given and
reports `duplicate: true`. The insert-or-update is one statement per fact, so concurrent
steps storing the same fact cannot both insert it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge.options import invalid, scalar_text, text_option
from flowbus_executor.executors.knowledge.tables import (
    OBJECT_MAX,
    PREDICATE_MAX,
    SOURCE_MAX,
    SUBJECT_MAX,
    knowledge_facts,
)
from flowbus_executor.executors.knowledge.text import fact_key, norm
from flowbus_executor.executors.knowledge.writes import write
from flowbus_shared.schemas import StepRequest

MAX_FACTS = 500  # per step: a bigger batch is an ingestion job, not one step


@dataclass(frozen=True)
class NewFact:
    subject: str
    predicate: str
    object: str
    source: str | None


def _fact(item: Any, where: str, default_source: str | None) -> NewFact:
    if not isinstance(item, dict):
        raise invalid(f"{where} must be an object with subject, predicate and object")
    missing = [name for name in ("subject", "predicate", "object") if item.get(name) in (None, "")]
    if missing:
        raise invalid(f"{where} lacks {', '.join(missing)}")
    source = item.get("source")
    return NewFact(
        subject=scalar_text(item["subject"], f"{where}.subject", SUBJECT_MAX),
        predicate=scalar_text(item["predicate"], f"{where}.predicate", PREDICATE_MAX),
        object=scalar_text(item["object"], f"{where}.object", OBJECT_MAX),
        source=scalar_text(source, f"{where}.source", SOURCE_MAX)
        if source not in (None, "")
        else default_source,
    )


def parse_facts(config: dict[str, Any]) -> list[NewFact]:
    """`facts` (a list) or one fact given as `subject`/`predicate`/`object`; `source` is the default source.

    With `facts`, `subject` and `predicate` (or the monolith's `update_type`) are defaults for the
    items, and an item may be plain text: the object of a fact about that subject (how the
    predefined contract workflow stores a contract's obligations). Without a predicate the
    relation is "states"."""
    default_source = text_option(config, "source")
    if default_source is not None and len(default_source) > SOURCE_MAX:
        raise invalid(f"source is longer than {SOURCE_MAX} characters")
    listed = config.get("facts")
    if listed in (None, []):
        if any(config.get(name) not in (None, "") for name in ("subject", "predicate", "object")):
            return [_fact(config, "config", default_source)]
        raise invalid(
            "missing facts (a list of {subject, predicate, object, source?}) or subject/predicate/object"
        )
    if config.get("object") not in (None, ""):
        raise invalid("give either facts or subject/predicate/object, not both")
    if not isinstance(listed, list):
        raise invalid("facts must be a list of {subject, predicate, object} or of texts about `subject`")
    if len(listed) > MAX_FACTS:
        raise invalid(f"{len(listed)} facts in one step; at most {MAX_FACTS}")
    defaults = {
        "subject": config.get("subject"),
        "predicate": config.get("predicate") or config.get("update_type") or "states",
    }
    items = [
        {**defaults, "object": item}
        if isinstance(item, str)
        else {**defaults, **item}
        if isinstance(item, dict)
        else item
        for item in listed
    ]
    return [_fact(item, f"facts[{index}]", default_source) for index, item in enumerate(items)]


async def _insert_new(conn: AsyncConnection, row: dict[str, Any]) -> str | None:
    """Insert the fact unless the tenant has it: its fact_id when inserted, else None."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(knowledge_facts)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["tenant_id", "fact_key"])
        .returning(knowledge_facts.c.fact_id)
    )
    return (await conn.execute(statement)).scalar_one_or_none()


async def _refresh(
    conn: AsyncConnection, tenant: str, key: str, fact: NewFact, now: datetime
) -> tuple[str, str | None]:
    """The stored fact of this key, its source and updated_at refreshed: its fact_id and source."""
    values: dict[str, Any] = {"updated_at": now}
    if fact.source is not None:
        values["source"] = fact.source
    statement = (
        knowledge_facts.update()
        .where(knowledge_facts.c.tenant_id == tenant, knowledge_facts.c.fact_key == key)
        .values(**values)
        .returning(knowledge_facts.c.fact_id, knowledge_facts.c.source)
    )
    stored = (await conn.execute(statement)).one()
    return str(stored.fact_id), stored.source


async def store_facts(deps: ExecutorDeps, tenant: str, facts: list[NewFact]) -> dict[str, Any]:
    """Store the facts in one transaction; the output counts new ones and duplicates."""
    now = datetime.now(UTC)
    results: list[dict[str, Any]] = []
    async with write(deps) as conn:
        for fact in facts:
            key = fact_key(fact.subject, fact.predicate, fact.object)
            row = {
                "fact_id": f"fact_{uuid.uuid4().hex}",
                "tenant_id": tenant,
                "subject": fact.subject,
                "predicate": fact.predicate,
                "object": fact.object,
                "subject_norm": norm(fact.subject),
                "predicate_norm": norm(fact.predicate),
                "object_norm": norm(fact.object),
                "fact_key": key,
                "source": fact.source,
                "created_at": now,
                "updated_at": now,
            }
            fact_id, source = await _insert_new(conn, row), fact.source
            duplicate = fact_id is None
            if fact_id is None:
                fact_id, source = await _refresh(conn, tenant, key, fact, now)
            results.append(
                {
                    "fact_id": fact_id,
                    "subject": fact.subject,
                    "predicate": fact.predicate,
                    "object": fact.object,
                    "source": source,
                    "duplicate": duplicate,
                }
            )
    duplicates = sum(1 for result in results if result["duplicate"])
    return {
        "stored": len(results) - duplicates,
        "duplicates": duplicates,
        "fact_ids": [result["fact_id"] for result in results],
        "facts": results,
    }


async def load_facts(conn: AsyncConnection, ids: list[int]) -> dict[int, sa.Row[Any]]:
    """Facts by row id (the ids full-text search ranks)."""
    if not ids:
        return {}
    rows = await conn.execute(sa.select(knowledge_facts).where(knowledge_facts.c.id.in_(ids)))
    return {int(row.id): row for row in rows}


def fact_output(row: sa.Row[Any]) -> dict[str, Any]:
    return {
        "fact_id": row.fact_id,
        "subject": row.subject,
        "predicate": row.predicate,
        "object": row.object,
        "source": row.source,
    }


async def knowledge_update(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    return await store_facts(deps, request.tenant_id, parse_facts(request.config))
