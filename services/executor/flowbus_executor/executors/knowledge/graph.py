"""graphrag_query: the tenant's facts as a graph (subjects and objects are nodes, predicates
edges), walked breadth-first from named entities.

config: `entities` (list) or `query` (the facts' subjects and objects named in it, matched
case-insensitively on word boundaries), `depth` (1-4, default 2), `limit` (relationships,
1-500, default 50). Edges are followed both ways. output: {entities, unmatched,
relationships: [{fact_id, subject, predicate, object, source, depth}], paths, answer,
truncated}: `depth` is the hop at which a relationship was reached, each path the chain of
facts from a start entity to a relationship nothing further was reached from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge.options import int_option, invalid, text_list, text_option
from flowbus_executor.executors.knowledge.tables import knowledge_facts
from flowbus_executor.executors.knowledge.text import norm, sentence
from flowbus_shared.schemas import StepRequest

MAX_DEPTH = 4
MAX_LIMIT = 500
ANSWER_PATHS = 20  # the answer lists this many paths, then says how many more there are
_CHUNK = 500  # nodes per IN list
MIN_NAME = 2  # a one-letter subject would be "found" in almost any query


@dataclass
class Walk:
    """The traversal so far: relationships in the order reached and how each node was reached."""

    relationships: list[dict[str, Any]] = field(default_factory=list)
    parents: list[int | None] = field(default_factory=list)  # the relationship each one continues
    reached_by: dict[str, int] = field(default_factory=dict)  # node -> relationship reaching it
    truncated: bool = False


async def _names(conn: AsyncConnection, tenant: str, norms: list[str]) -> dict[str, str]:
    """The stored spelling of each normalised node name the tenant's facts mention."""
    found: dict[str, str] = {}
    t = knowledge_facts.c
    for start in range(0, len(norms), _CHUNK):
        chunk = norms[start : start + _CHUNK]
        for name_norm, name in (
            await conn.execute(
                sa.select(t.subject_norm, t.subject)
                .where(t.tenant_id == tenant, t.subject_norm.in_(chunk))
                .union(
                    sa.select(t.object_norm, t.object).where(t.tenant_id == tenant, t.object_norm.in_(chunk))
                )
            )
        ).all():
            found.setdefault(name_norm, name)
    return found


async def entities_in(conn: AsyncConnection, tenant: str, query: str) -> dict[str, str]:
    """The subjects and objects named in the query text, as {normalised: stored spelling}."""
    text = norm(query)
    position = sa.func.strpos if conn.dialect.name == "postgresql" else sa.func.instr
    t = knowledge_facts.c
    candidates = (
        await conn.execute(
            sa.select(t.subject_norm, t.subject)
            .where(t.tenant_id == tenant, position(text, t.subject_norm) > 0)
            .union(
                sa.select(t.object_norm, t.object).where(
                    t.tenant_id == tenant, position(text, t.object_norm) > 0
                )
            )
        )
    ).all()
    found: dict[str, str] = {}
    for name_norm, name in sorted(candidates, key=lambda row: (text.find(row[0]), row[0])):
        if len(name_norm) >= MIN_NAME and re.search(rf"(?<!\w){re.escape(name_norm)}(?!\w)", text):
            found.setdefault(name_norm, name)
    return found


async def _touching(conn: AsyncConnection, tenant: str, nodes: list[str]) -> list[sa.Row[Any]]:
    """The tenant's facts with a subject or object among `nodes`, oldest first."""
    rows: dict[int, sa.Row[Any]] = {}
    t = knowledge_facts.c
    for start in range(0, len(nodes), _CHUNK):
        chunk = nodes[start : start + _CHUNK]
        statement = sa.select(knowledge_facts).where(
            t.tenant_id == tenant, sa.or_(t.subject_norm.in_(chunk), t.object_norm.in_(chunk))
        )
        for row in await conn.execute(statement):
            rows[int(row.id)] = row
    return [rows[row_id] for row_id in sorted(rows)]


async def traverse(conn: AsyncConnection, tenant: str, seeds: list[str], depth: int, limit: int) -> Walk:
    """Breadth-first from the seed nodes, at most `depth` hops and `limit` relationships."""
    walk = Walk()
    visited = set(seeds)
    frontier = set(seeds)
    seen_facts: set[int] = set()
    for level in range(1, depth + 1):
        if not frontier or walk.truncated:
            break
        next_frontier: set[str] = set()
        for row in await _touching(conn, tenant, sorted(frontier)):
            if int(row.id) in seen_facts:
                continue
            if len(walk.relationships) >= limit:
                walk.truncated = True
                break
            seen_facts.add(int(row.id))
            origin = row.subject_norm if row.subject_norm in frontier else row.object_norm
            index = len(walk.relationships)
            walk.relationships.append(
                {
                    "fact_id": row.fact_id,
                    "subject": row.subject,
                    "predicate": row.predicate,
                    "object": row.object,
                    "source": row.source,
                    "depth": level,
                }
            )
            walk.parents.append(walk.reached_by.get(origin))
            for node in (row.subject_norm, row.object_norm):
                if node not in visited:
                    visited.add(node)
                    next_frontier.add(node)
                    walk.reached_by[node] = index
        frontier = next_frontier
    return walk


def paths(walk: Walk) -> list[str]:
    """Each chain of facts from a start entity to a relationship that leads nowhere further."""
    continued = {parent for parent in walk.parents if parent is not None}
    rendered = []
    for index in range(len(walk.relationships)):
        if index in continued:
            continue
        chain: list[int] = []
        step: int | None = index
        while step is not None:
            chain.append(step)
            step = walk.parents[step]
        hops = [walk.relationships[step] for step in reversed(chain)]
        rendered.append(" → ".join(sentence(hop["subject"], hop["predicate"], hop["object"]) for hop in hops))
    return rendered


def graph_answer(entities: list[str], found: list[str], truncated: bool) -> str:
    if not entities:
        return "No known entities to start from."
    if not found:
        return f"No relationships found for {', '.join(entities)}."
    lines = [f"Paths from {', '.join(entities)}:"]
    lines += [f"- {path}" for path in found[:ANSWER_PATHS]]
    if len(found) > ANSWER_PATHS:
        lines.append(f"(and {len(found) - ANSWER_PATHS} more)")
    if truncated:
        lines.append("(the relationship limit was reached; some paths are cut short)")
    return "\n".join(lines)


async def graphrag_query(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    named = text_list(config, "entities")
    query = text_option(config, "query")
    if named is None and query is None:
        raise invalid("missing entities or query")
    depth = int_option(config, "depth", 2, 1, MAX_DEPTH)
    limit = int_option(config, "limit", 50, 1, MAX_LIMIT)
    tenant = request.tenant_id
    unmatched: list[str] = []
    async with deps.engine.connect() as conn:
        if named is None:
            seeds = await entities_in(conn, tenant, query or "")
        else:
            wanted = list(dict.fromkeys(norm(name) for name in named))
            known = await _names(conn, tenant, wanted)
            seeds = {name: known[name] for name in wanted if name in known}
            unmatched = [name for name in named if norm(name) not in known]
        walk = await traverse(conn, tenant, list(seeds), depth, limit)
    entities = list(seeds.values())
    found = paths(walk)
    return {
        "entities": entities,
        "unmatched": unmatched,
        "relationships": walk.relationships,
        "paths": found,
        "answer": graph_answer(entities, found, walk.truncated),
        "truncated": walk.truncated,
    }
