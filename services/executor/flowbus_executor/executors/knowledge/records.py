"""app_search: search across what integrations ingested, the tenant's facts and its cached
records (a record is one object of a source system, e.g. a HubSpot company).

config: `ingest` (a list of {source_system, record_type, record_id, title, body, updated_at?}
to upsert, keyed by tenant, source_system, record_type and record_id) and/or `query` (web-search
syntax over fact text and record title and body values), `limit` (1-100, default 20),
`sources` (source systems the records are narrowed to), `kinds` ("fact", "record"; default
both). output: {results: [{kind: "fact", fact_id, subject, predicate, object, source, score}
| {kind: "record", source_system, record_type, record_id, title, body, updated_at, score}],
count, match, ingested, created, updated}. Facts and records are merged by score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge.facts import fact_output, load_facts
from flowbus_executor.executors.knowledge.fulltext import FACTS, MATCHES, RECORDS, Match, parse_query, rank
from flowbus_executor.executors.knowledge.options import (
    int_option,
    invalid,
    scalar_text,
    text_list,
    text_option,
)
from flowbus_executor.executors.knowledge.tables import cached_records
from flowbus_executor.executors.knowledge.text import flatten_text
from flowbus_executor.executors.knowledge.writes import write
from flowbus_shared.schemas import StepRequest

MAX_INGEST = 500
KINDS = ("fact", "record")


@dataclass(frozen=True)
class Record:
    source_system: str
    record_type: str
    record_id: str
    title: str
    body: Any
    updated_at: datetime | None


def _moment(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise invalid(f"{where}.updated_at must be an ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{where}.updated_at {value!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _record(item: Any, where: str) -> Record:
    if not isinstance(item, dict):
        raise invalid(f"{where} must be an object")
    fields = {
        "source_system": item.get("source_system", item.get("source")),
        "record_type": item.get("record_type", item.get("type")),
        "record_id": item.get("record_id", item.get("id")),
        "title": item.get("title"),
    }
    missing = [name for name, value in fields.items() if value in (None, "")]
    if missing:
        raise invalid(f"{where} lacks {', '.join(missing)}")
    body = item.get("body", {})
    if body is None or isinstance(body, bool) or not isinstance(body, dict | list | str | int | float):
        raise invalid(f"{where}.body must be a JSON object, list or text")
    return Record(
        source_system=scalar_text(fields["source_system"], f"{where}.source_system", 100).lower(),
        record_type=scalar_text(fields["record_type"], f"{where}.record_type", 100),
        record_id=scalar_text(fields["record_id"], f"{where}.record_id", 200),
        title=scalar_text(fields["title"], f"{where}.title", 500),
        body=body,
        updated_at=_moment(item.get("updated_at"), where),
    )


def parse_records(config: dict[str, Any]) -> list[Record]:
    listed = config.get("ingest")
    if listed in (None, []):
        return []
    if not isinstance(listed, list):
        raise invalid("ingest must be a list of records")
    if len(listed) > MAX_INGEST:
        raise invalid(f"{len(listed)} records in one step; at most {MAX_INGEST}")
    return [_record(item, f"ingest[{index}]") for index, item in enumerate(listed)]


async def _upsert(conn: AsyncConnection, tenant: str, record: Record, now: datetime) -> bool:
    """Insert or refresh the record; True when it was new."""
    values = {
        "title": record.title,
        "body": record.body,
        "body_text": flatten_text(record.body),
        "updated_at": record.updated_at or now,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = await conn.execute(
        dialect.insert(cached_records)
        .values(
            tenant_id=tenant,
            source_system=record.source_system,
            record_type=record.record_type,
            record_id=record.record_id,
            created_at=now,
            **values,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "source_system", "record_type", "record_id"])
        .returning(cached_records.c.id)
    )
    if inserted.scalar_one_or_none() is not None:
        return True
    c = cached_records.c
    await conn.execute(
        cached_records.update()
        .where(
            c.tenant_id == tenant,
            c.source_system == record.source_system,
            c.record_type == record.record_type,
            c.record_id == record.record_id,
        )
        .values(**values)
    )
    return False


async def ingest(deps: ExecutorDeps, tenant: str, records: list[Record]) -> tuple[int, int]:
    """Upsert the records in one transaction: (created, updated)."""
    now = datetime.now(UTC)
    created = 0
    async with write(deps) as conn:
        for record in records:
            created += await _upsert(conn, tenant, record, now)
    return created, len(records) - created


def _utc(moment: datetime) -> datetime:
    """SQLite hands stored moments back naive; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_output(row: sa.Row[Any]) -> dict[str, Any]:
    return {
        "source_system": row.source_system,
        "record_type": row.record_type,
        "record_id": row.record_id,
        "title": row.title,
        "body": row.body,
        "updated_at": _utc(row.updated_at).isoformat(),
    }


async def _records_by_id(conn: AsyncConnection, ids: list[int]) -> dict[int, sa.Row[Any]]:
    if not ids:
        return {}
    rows = await conn.execute(sa.select(cached_records).where(cached_records.c.id.in_(ids)))
    return {int(row.id): row for row in rows}


async def search(
    conn: AsyncConnection,
    tenant: str,
    query_text: str,
    limit: int,
    kinds: list[str],
    sources: list[str] | None,
) -> tuple[list[dict[str, Any]], Match | None]:
    """Facts and records merged best first; all words wanted first, any word when nothing has all."""
    query = parse_query(query_text)
    for match in MATCHES:
        fact_hits = await rank(conn, FACTS, tenant, query, match, limit) if "fact" in kinds else []
        record_hits = (
            await rank(conn, RECORDS, tenant, query, match, limit, sources=sources)
            if "record" in kinds
            else []
        )
        if not fact_hits and not record_hits:
            continue
        facts = await load_facts(conn, [row_id for row_id, _ in fact_hits])
        records = await _records_by_id(conn, [row_id for row_id, _ in record_hits])
        results = [{"kind": "fact", **fact_output(facts[i]), "score": score} for i, score in fact_hits]
        results += [
            {"kind": "record", **record_output(records[i]), "score": score} for i, score in record_hits
        ]
        results.sort(key=lambda result: -float(result["score"]))  # stable: facts first on a tie
        return results[:limit], match
    return [], None


async def app_search(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    records = parse_records(config)
    query = text_option(config, "query")
    if not records and query is None:
        raise invalid("missing query or ingest")
    limit = int_option(config, "limit", 20, 1, 100)
    kinds = text_list(config, "kinds") or list(KINDS)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise invalid(f"unknown kinds {', '.join(unknown)} (fact, record)")
    sources = text_list(config, "sources")
    sources = [source.lower() for source in sources] if sources else None
    created, updated = await ingest(deps, request.tenant_id, records) if records else (0, 0)
    results: list[dict[str, Any]] = []
    match: Match | None = None
    if query is not None:
        async with deps.engine.connect() as conn:
            results, match = await search(conn, request.tenant_id, query, limit, kinds, sources)
    return {
        "results": results,
        "count": len(results),
        "match": match,
        "ingested": len(records),
        "created": created,
        "updated": updated,
    }
