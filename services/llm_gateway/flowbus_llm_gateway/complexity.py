"""Query complexity scoring, the monolith's BYOK-handler signals made exact and testable.

Score = length signal + code fence + one contribution per word class present + task type:

- length in tokens (the real cl100k count, not chars/4): >= 2000 +3, >= 500 +2, >= 100 +1;
- a Markdown code fence (```) +3;
- word classes, each counted once however many of its words appear:
  simple -2, moderate +1, technical +3, code +3, advanced +5;
- task type: code / analysis / reasoning +2, chat / general -1.

Score <= 0 is simple, 1 moderate, 2-4 complex, >= 5 advanced. Words and phrases
match whole words, case-insensitively ("classic" is not "class", "apis" is not "api").
"""

from __future__ import annotations

import re
from enum import StrEnum

from flowbus_llm_gateway.tokens import count_tokens


class Complexity(StrEnum):
    SIMPLE = "simple"
    MODERATE = "moderate"
    COMPLEX = "complex"
    ADVANCED = "advanced"


SIMPLE_WORDS = (
    "hello", "hi", "hey", "thanks", "thank you", "summarize", "summary", "translate", "list",
    "what is", "define", "definition", "brief", "briefly", "quick", "quickly", "tl;dr",
)  # fmt: skip
MODERATE_WORDS = (
    "analyze", "analyse", "analysis", "compare", "comparison", "evaluate", "explain", "describe",
    "detailed", "in detail", "pros and cons", "review", "assess", "contrast",
)  # fmt: skip
TECHNICAL_WORDS = (
    "calculate", "calculation", "equation", "math", "mathematics", "statistics", "statistical",
    "matrix", "algorithm", "derivative", "integral", "probability", "regression", "formula",
)  # fmt: skip
CODE_WORDS = (
    "code", "function", "class", "debug", "api", "sql", "docker", "json", "import", "async",
    "python", "javascript", "typescript", "bug", "stack trace", "compile", "refactor", "regex",
    "kubernetes", "database",
)  # fmt: skip
ADVANCED_WORDS = (
    "architecture", "security audit", "vulnerability", "vulnerabilities", "encryption", "oauth",
    "jwt", "performance", "concurrency", "distributed", "scaling", "scalability", "enterprise",
    "microservices", "threat model", "penetration test", "race condition", "consensus",
)  # fmt: skip

WORD_CLASSES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("simple", SIMPLE_WORDS, -2),
    ("moderate", MODERATE_WORDS, 1),
    ("technical", TECHNICAL_WORDS, 3),
    ("code", CODE_WORDS, 3),
    ("advanced", ADVANCED_WORDS, 5),
)

LENGTH_STEPS: tuple[tuple[int, int], ...] = ((2000, 3), (500, 2), (100, 1))
CODE_FENCE_POINTS = 3
TASK_TYPE_POINTS = {"code": 2, "analysis": 2, "reasoning": 2, "chat": -1, "general": -1}


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words: no word character on either side; spaces in a phrase match any whitespace run.
    alternatives = sorted((r"\s+".join(map(re.escape, w.split())) for w in words), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


_PATTERNS = [(name, _pattern(words), points) for name, words, points in WORD_CLASSES]


def complexity_for(score: int) -> Complexity:
    """Map a score to its class: <= 0 simple, 1 moderate, 2-4 complex, >= 5 advanced."""
    if score <= 0:
        return Complexity.SIMPLE
    if score == 1:
        return Complexity.MODERATE
    if score <= 4:
        return Complexity.COMPLEX
    return Complexity.ADVANCED


def signals(text: str, task_type: str | None = None) -> dict[str, int]:
    """Each signal that fired and its points (useful for logs and tests)."""
    found: dict[str, int] = {}
    tokens = count_tokens(text)
    for threshold, points in LENGTH_STEPS:
        if tokens >= threshold:
            found["length"] = points
            break
    if "```" in text:
        found["code_fence"] = CODE_FENCE_POINTS
    for name, pattern, points in _PATTERNS:
        if pattern.search(text):
            found[name] = points
    if task_type and task_type.strip().lower() in TASK_TYPE_POINTS:
        found["task_type"] = TASK_TYPE_POINTS[task_type.strip().lower()]
    return found


def score_query(text: str, task_type: str | None = None) -> tuple[int, Complexity]:
    """The complexity score of a query and its class."""
    score = sum(signals(text, task_type).values())
    return score, complexity_for(score)
