"""A rule-based NLU for set-ups without any LLM key (the embedded demo, a laptop).

It is not a language model and says so: every result carries
`provider: "local-rules"`, and its confidence reflects how much the rules
actually matched. It returns the fields the predefined workflows route on:
intent, entities, priority, category, sentiment, score, tasks, and the
contract and project fields, each from explicit cues in the text.
"""

from __future__ import annotations

import re
from typing import Any

from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

PROVIDER = "local-rules"

_PRIORITY = {
    "urgent": r"\b(urgent|asap|immediately|emergency|critical|outage|down|right now)\b",
    "high": r"\b(important|soon|blocked|blocking|high priority)\b",
    "low": r"\b(no rush|whenever|low priority|someday)\b",
}
_CATEGORY = {
    "billing": r"\b(invoice|refund|charge[ds]?|payment|billing|subscription|receipt|overcharged)\b",
    "technical": r"\b(error|bug|crash(es|ed)?|login|password|api|broken|outage|down|not working|timeout)\b",
}
_POSITIVE = r"\b(thanks|thank you|great|love|happy|excellent|appreciate)\b"
_NEGATIVE = r"\b(angry|terrible|awful|unacceptable|frustrated|disappointed|worst|broken)\b"
_OBLIGATION = re.compile(
    r"[^.\n]*\b(must|shall|will|should|needs? to|agrees? to|deliver|provide)\b[^.\n]*", re.I
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_IDENTIFIER = re.compile(r"\b[A-Z]{1,5}-\d{1,8}\b|#\d{2,10}\b")
_AMOUNT = re.compile(
    r"(?:[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:usd|eur|gbp|dollars|euros)\b)", re.I
)
_LEAD_SIGNALS = {
    r"\b(budget|purchase|buy|contract|quote|pricing)\b": 30,
    r"\b(ceo|cto|cfo|vp|director|head of|founder)\b": 20,
    r"\b(demo|trial|evaluate|evaluation)\b": 20,
    r"\b(asap|this quarter|this month|urgent)\b": 15,
    r"\b(\d{2,6}\s+(seats|users|employees|licenses))\b": 15,
}


def _first(patterns: dict[str, str], text: str, allowed: list[str] | None, default: str) -> tuple[str, bool]:
    for value, pattern in patterns.items():
        if (allowed is None or value in allowed) and re.search(pattern, text, re.I):
            return value, True
    return default, False


def analyse(text: str, config: dict[str, Any]) -> dict[str, Any]:
    given = config.get("allowed_values")
    allowed: dict[str, Any] = given if isinstance(given, dict) else {}
    priority, priority_cue = _first(_PRIORITY, text, allowed.get("priority"), "normal")
    category, category_cue = _first(_CATEGORY, text, allowed.get("category"), "general")
    emails = [match.group(0) for match in _EMAIL.finditer(text)]
    dates = _DATE.findall(text)
    identifiers = _IDENTIFIER.findall(text)
    positive, negative = len(re.findall(_POSITIVE, text, re.I)), len(re.findall(_NEGATIVE, text, re.I))
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]
    score = min(
        100, sum(points for pattern, points in _LEAD_SIGNALS.items() if re.search(pattern, text, re.I))
    )
    cues = sum([priority_cue, category_cue, bool(emails or identifiers or dates)])
    return {
        "provider": PROVIDER,
        "intent": (sentences[0] if sentences else "")[:120],
        "priority": priority,
        "category": category,
        "sentiment": "negative" if negative > positive else "positive" if positive > negative else "neutral",
        "score": score,
        "entities": {
            "emails": emails,
            "dates": dates,
            "identifiers": identifiers,
            "amounts": [match.group(0) for match in _AMOUNT.finditer(text)],
            "contract_id": identifiers[0] if identifiers else "New Contract",
        },
        "tasks": [match.group(0).strip() for match in _OBLIGATION.finditer(text)][:20],
        "renewal_date": dates[-1] if dates else None,
        "owner": emails[0] if emails else None,
        "summary": text.strip()[:300],
        "project_name": (sentences[0] if sentences else "project")[:60],
        "scope": text.strip()[:500],
        "milestones": [s for s in sentences if _DATE.search(s)],
        "stakeholders_email": emails[0] if emails else None,
        "contact_info": {"emails": emails},
        # Rules are sure only of what they matched; below 0.7 the orchestrator asks a person.
        "confidence": round(0.5 + 0.1 * cues, 2),
    }


async def local_nlu(request: StepRequest) -> dict[str, Any]:
    text = request.config.get("text_input")
    if not isinstance(text, str) or not text.strip():
        raise StepFailure("invalid_config", "nlu_analysis needs text_input (a non-empty string)")
    return analyse(text, request.config)
