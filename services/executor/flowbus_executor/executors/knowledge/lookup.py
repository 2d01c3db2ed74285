"""knowledge_lookup: a ranked full-text answer from the tenant's facts.

config: `query` (required, web-search syntax), `limit` (1-100, default 10), `summarize`
(default false). output: {query, results: [{fact_id, subject, predicate, object, source,
score}], match: "all" | "any" | None, answer, summarized}. The answer is extractive (the top
facts as sentences) unless `summarize` is set, when the llm-gateway writes it from the facts.
"""

from __future__ import annotations

from typing import Any

from flowbus_executor.deps import ExecutorDeps, require
from flowbus_executor.executors.knowledge.facts import fact_output, load_facts
from flowbus_executor.executors.knowledge.fulltext import FACTS, MATCHES, Match, parse_query, rank
from flowbus_executor.executors.knowledge.options import bool_option, int_option, invalid
from flowbus_executor.executors.knowledge.text import sentence
from flowbus_executor.llm import ask_text
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

ANSWER_FACTS = 3  # the extractive answer stays short: the best few facts
SUMMARY_FACTS = 10  # facts the model is shown

SUMMARY_SYSTEM = (
    "You answer questions from a company knowledge base. Use only the numbered facts given; "
    "if they do not answer the question, say so. Answer in at most three sentences."
)


def extractive_answer(query: str, results: list[dict[str, Any]]) -> str:
    if not results:
        return f"No facts match {query!r}."
    return " ".join(
        sentence(result["subject"], result["predicate"], result["object"]) + "."
        for result in results[:ANSWER_FACTS]
    )


def summary_prompt(query: str, results: list[dict[str, Any]]) -> str:
    lines = []
    for number, result in enumerate(results[:SUMMARY_FACTS], start=1):
        source = f" (source: {result['source']})" if result.get("source") else ""
        lines.append(
            f"{number}. {sentence(result['subject'], result['predicate'], result['object'])}{source}"
        )
    return f"Question: {query}\n\nFacts:\n" + "\n".join(lines)


async def search_facts(
    deps: ExecutorDeps, tenant: str, query_text: str, limit: int
) -> tuple[list[dict[str, Any]], Match | None]:
    """The tenant's best facts for the query, best first, and whether they match all words or any."""
    query = parse_query(query_text)
    async with deps.engine.connect() as conn:
        for match in MATCHES:
            hits = await rank(conn, FACTS, tenant, query, match, limit)
            if hits:
                rows = await load_facts(conn, [row_id for row_id, _ in hits])
                results = [{**fact_output(rows[row_id]), "score": score} for row_id, score in hits]
                return results, match
    return [], None


async def knowledge_lookup(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    (query,) = require(config, "query")
    if not isinstance(query, str):
        raise invalid("query must be text")
    limit = int_option(config, "limit", 10, 1, 100)
    summarize = bool_option(config, "summarize", False)
    results, match = await search_facts(deps, request.tenant_id, query, limit)
    output: dict[str, Any] = {
        "query": query,
        "results": results,
        "match": match,
        "answer": extractive_answer(query, results),
        "summarized": False,
    }
    if summarize and results:  # nothing to summarise without facts: no model call
        answer = (await ask_text(deps, request, SUMMARY_SYSTEM, summary_prompt(query, results))).strip()
        if not answer:
            raise StepFailure(
                "bad_response", "the llm-gateway answered with an empty summary", retryable=True
            )
        output.update(answer=answer, summarized=True)
    return output
