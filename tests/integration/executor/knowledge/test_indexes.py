"""The searches use the full-text indexes of migration 0008: PostgreSQL's GIN expression indexes
(the query repeats the indexed expression) and SQLite's FTS5 tables (kept in step by triggers)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge.fulltext import (
    FACTS,
    RECORDS,
    Indexed,
    Match,
    parse_query,
    pg_tsquery,
    ranking,
)
from tests.integration.executor.knowledge.conftest import Run, output


@pytest.mark.parametrize(
    ("indexed", "index"), [(FACTS, "ix_knowledge_facts_fts"), (RECORDS, "ix_cached_records_fts")]
)
@pytest.mark.parametrize("match", ["all", "any"])
async def test_searches_go_through_the_full_text_index(
    deps: ExecutorDeps, tenant: str, indexed: Indexed, index: str, match: Match
) -> None:
    query = parse_query('acme "renewal talks" or globex -logistics')
    async with deps.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            statement, params = ranking("sqlite", indexed, tenant, query, match, 10)
            explained = sa.text(f"EXPLAIN QUERY PLAN {statement.text}").bindparams(**params)
            plan = " ".join(str(row[-1]) for row in await conn.execute(explained))
            assert f"SCAN {indexed.fts} VIRTUAL TABLE INDEX" in plan, plan
            return
        # The ranking statement's document and tsquery, without the tenant condition: a tenant's
        # few rows are best read through the tenant index, which would hide whether the
        # expressions match the GIN index's.
        params = {}
        tsquery = pg_tsquery(query, match, params)
        document = f"to_tsvector('simple', {indexed.document})"
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table is cheaper to scan
        explained = sa.text(
            f"EXPLAIN SELECT id FROM {indexed.table} CROSS JOIN (SELECT {tsquery} AS query) AS q "
            f"WHERE {document} @@ q.query"
        ).bindparams(**params)
        plan = " ".join(str(row[0]) for row in await conn.execute(explained))
        assert f"Bitmap Index Scan on {index}" in plan, plan


async def test_an_updated_fact_source_leaves_the_text_index_intact(run: Run) -> None:
    fact = {"subject": "Hooli", "predicate": "renewal_risk", "object": "high"}
    output(await run("knowledge_update", {**fact, "source": "csm notes"}))
    output(await run("knowledge_update", {**fact, "source": "health score"}))

    [hit] = output(await run("knowledge_lookup", {"query": "hooli risk"}))["results"]
    assert (hit["subject"], hit["source"]) == ("Hooli", "health score")
