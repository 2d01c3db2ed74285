"""Ranked full-text search over a tenant's facts or cached records, one query language on both
backends: web-search syntax (words, "quoted phrases", `or`, `-excluded`), the syntax of
PostgreSQL's websearch_to_tsquery.

PostgreSQL ranks with ts_rank over the GIN-indexed to_tsvector('simple', ...) documents and
parses the query with websearch_to_tsquery; SQLite ranks with bm25 over the FTS5 tables,
the query translated to an FTS5 expression. A search first asks for the query as written
(`all`: every term of a group) and, when nothing matches, for any of its terms (`any`), so a
question phrased in prose still finds the facts that share its key words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from flowbus_executor.executors.knowledge.options import invalid
from flowbus_executor.executors.knowledge.tables import (
    FACT_DOCUMENT,
    FACTS_FTS,
    RECORD_DOCUMENT,
    RECORDS_FTS,
)
from flowbus_executor.executors.knowledge.text import words

Match = Literal["all", "any"]
MATCHES: tuple[Match, ...] = ("all", "any")

_TOKEN = re.compile(r'(-)?(?:"([^"]*)"?|(\S+))')


@dataclass(frozen=True)
class Indexed:
    """A searchable table: its PostgreSQL document expression and its SQLite FTS5 table."""

    table: str
    document: str
    fts: str


FACTS = Indexed("knowledge_facts", FACT_DOCUMENT, FACTS_FTS)
RECORDS = Indexed("cached_records", RECORD_DOCUMENT, RECORDS_FTS)


@dataclass(frozen=True)
class Term:
    """A bare word or a quoted phrase: its text as given (PostgreSQL tokenises that itself)
    and its words (an FTS5 phrase)."""

    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    """Terms that must all match, and terms that must not."""

    wanted: tuple[Term, ...]
    excluded: tuple[Term, ...]


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query, as websearch_to_tsquery reads it: groups joined by `or`, any of which may match."""

    text: str
    groups: tuple[Group, ...]

    @property
    def wanted(self) -> list[Term]:
        """Every wanted term, once each, in order."""
        return list(dict.fromkeys(term for group in self.groups for term in group.wanted))

    @property
    def excluded(self) -> list[Term]:
        return list(dict.fromkeys(term for group in self.groups for term in group.excluded))


def parse_query(text: str) -> SearchQuery:
    """`text` in web-search syntax; invalid_config when it wants no word at all.

    As in websearch_to_tsquery, `or` between two terms starts another group (anywhere else it is a
    plain word) and `-` excludes a term from its group. A group that only excludes is refused:
    FTS5 has no bare NOT, and PostgreSQL would match nearly everything."""
    groups: list[tuple[list[Term], list[Term]]] = [([], [])]
    or_pending = False
    for match in _TOKEN.finditer(text):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        raw = quoted if quoted is not None else bare
        current = groups[-1]
        if (
            quoted is None
            and not negated
            and raw.lower() == "or"
            and not or_pending
            and (current[0] or current[1])
        ):
            or_pending = True
            continue
        term = Term(text=raw, words=tuple(words(raw)))
        if not term.words:
            continue
        if or_pending:
            groups.append(([], []))
            or_pending = False
        groups[-1][1 if negated else 0].append(term)
    if not any(wanted for wanted, _ in groups):
        raise invalid(f"query {text!r} has no words to search for")
    if any(excluded and not wanted for wanted, excluded in groups):
        raise invalid(f"query {text!r} has an alternative that only excludes words")
    return SearchQuery(
        text=text, groups=tuple(Group(tuple(wanted), tuple(excluded)) for wanted, excluded in groups)
    )


def _fts5_phrase(term: Term) -> str:
    return '"' + " ".join(term.words) + '"'  # words are letters and digits only: nothing to escape


def _fts5_without(wanted: str, excluded: list[Term] | tuple[Term, ...]) -> str:
    if not excluded:
        return wanted
    return f"({wanted}) NOT (" + " OR ".join(_fts5_phrase(term) for term in excluded) + ")"


def fts5_expression(query: SearchQuery, match: Match) -> str:
    """The FTS5 MATCH expression: any group whole (`all`), or any wanted term (`any`), without the excluded."""
    if match == "any":
        return _fts5_without(" OR ".join(_fts5_phrase(term) for term in query.wanted), query.excluded)
    groups = [
        "(" + _fts5_without(" AND ".join(_fts5_phrase(term) for term in group.wanted), group.excluded) + ")"
        for group in query.groups
    ]
    return " OR ".join(groups)


def pg_tsquery(query: SearchQuery, match: Match, params: dict[str, Any]) -> str:
    """The PostgreSQL tsquery expression (its values bound into `params`)."""
    if match == "all":
        params["q"] = query.text
        return "websearch_to_tsquery('simple', :q)"

    def either(terms: list[Term], prefix: str) -> str:
        parts = []
        for index, term in enumerate(terms):
            params[f"{prefix}{index}"] = term.text
            parts.append(f"phraseto_tsquery('simple', :{prefix}{index})")
        return "(" + " || ".join(parts) + ")"

    expression = either(query.wanted, "w")
    if query.excluded:
        expression += " && !!" + either(query.excluded, "x")
    return expression


def _filters(sources: list[str] | None, alias: str) -> tuple[str, list[sa.BindParameter[Any]]]:
    if not sources:
        return "", []
    return f" AND {alias}source_system IN :sources", [sa.bindparam("sources", sources, expanding=True)]


def ranking(
    dialect: str,
    indexed: Indexed,
    tenant: str,
    query: SearchQuery,
    match: Match,
    limit: int,
    sources: list[str] | None = None,
) -> tuple[sa.TextClause, dict[str, Any]]:
    """The ranking statement for the backend and its parameters: (id, score) rows, best first."""
    params: dict[str, Any] = {"tenant": tenant, "limit": limit}
    if dialect == "sqlite":
        params["expression"] = fts5_expression(query, match)
        where, binds = _filters(sources, "t.")
        statement = sa.text(
            f"SELECT t.id, -bm25({indexed.fts}) AS score "
            f"FROM {indexed.fts} JOIN {indexed.table} AS t ON t.id = {indexed.fts}.rowid "
            f"WHERE {indexed.fts} MATCH :expression AND t.tenant_id = :tenant{where} "
            f"ORDER BY bm25({indexed.fts}), t.id LIMIT :limit"
        )
    else:
        tsquery = pg_tsquery(query, match, params)
        document = f"to_tsvector('simple', {indexed.document})"  # the GIN index's expression
        where, binds = _filters(sources, "")
        statement = sa.text(
            f"SELECT id, ts_rank({document}, q.query) AS score "
            f"FROM {indexed.table} CROSS JOIN (SELECT {tsquery} AS query) AS q "
            f"WHERE tenant_id = :tenant AND {document} @@ q.query{where} "
            "ORDER BY score DESC, id LIMIT :limit"
        )
    return (statement.bindparams(*binds) if binds else statement), params


async def rank(
    conn: AsyncConnection,
    indexed: Indexed,
    tenant: str,
    query: SearchQuery,
    match: Match,
    limit: int,
    *,
    sources: list[str] | None = None,
) -> list[tuple[int, float]]:
    """(row id, score) of the tenant's best matches, best first; `sources` narrows records."""
    statement, params = ranking(conn.dialect.name, indexed, tenant, query, match, limit, sources)
    rows = await conn.execute(statement, params)
    return [(int(row[0]), round(float(row[1]), 6)) for row in rows]
