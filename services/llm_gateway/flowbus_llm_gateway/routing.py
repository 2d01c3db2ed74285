"""Model routing: which models may answer, in which order, and failing over between them.

Pure logic, no I/O and no clock: time is always an argument.

- `rank` keeps the models with enough context (max of the complexity's minimum and the
  request's tokens) and quality for the query's complexity, whose provider has a key, and
  orders them by quality^2 / mean price (the monolith's value-for-money formula).
  If nothing qualifies, it falls back to the available models that fit the context, best
  quality first, so a workspace with only small or cheap models is still served.
- `explicit` honours a caller's requested provider and/or model.
- `CircuitBreaker` keeps failing (provider, model, key) combinations out of rotation.
- `call_with_fallback` tries candidates in order, skipping open breakers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from flowbus_llm_gateway.catalogue import ModelInfo
from flowbus_llm_gateway.complexity import Complexity

MIN_CONTEXT: dict[Complexity, int] = {
    Complexity.SIMPLE: 4_000,
    Complexity.MODERATE: 8_000,
    Complexity.COMPLEX: 16_000,
    Complexity.ADVANCED: 32_000,
}
MIN_QUALITY: dict[Complexity, float] = {
    Complexity.SIMPLE: 0,
    Complexity.MODERATE: 80,
    Complexity.COMPLEX: 88,
    Complexity.ADVANCED: 94,
}


def mean_price(model: ModelInfo) -> float:
    """Mean of the input and output prices, USD per 1M tokens."""
    return (model.prices.input + model.prices.output) / 2


def _value_order(model: ModelInfo) -> tuple[int, float, str]:
    price = mean_price(model)
    if price <= 0:  # free models first, best quality first
        return (0, -model.quality, model.key)
    return (1, -(model.quality**2) / price, model.key)


def rank(
    models: Iterable[ModelInfo],
    complexity: Complexity | str,
    *,
    needed_tokens: int = 0,
    available: set[str] | None = None,
) -> list[ModelInfo]:
    """Candidates for a query of `complexity`, best first.

    `available` is the set of provider names that have a key (None: all providers).
    Qualifying models are ordered by quality^2 / mean price, free ones first by quality,
    ties by key. Fallback when none qualifies: the available models whose context fits,
    by quality (then key), ignoring the quality minimum. Empty if no model fits at all.
    """
    level = Complexity(complexity)
    context = max(MIN_CONTEXT[level], needed_tokens)
    fitting = [
        m for m in models if m.context_window >= context and (available is None or m.provider in available)
    ]
    qualified = [m for m in fitting if m.quality >= MIN_QUALITY[level]]
    if qualified:
        return sorted(qualified, key=_value_order)
    return sorted(fitting, key=lambda m: (-m.quality, m.key))


def explicit(
    models: Iterable[ModelInfo], provider: str | None = None, model: str | None = None
) -> list[ModelInfo]:
    """The catalogue models matching a caller's request, in catalogue order.

    `model` may be "provider/model" (then it sets the provider too) or a bare model name
    (any provider serving it). With neither argument every model matches. A provider that
    contradicts the one in "provider/model" matches nothing. Empty: nothing known matches.
    """
    if model and "/" in model:
        prefix, _, name = model.partition("/")
        if provider and provider != prefix:
            return []
        provider, model = prefix, name
    return [
        m
        for m in models
        if (provider is None or m.provider == provider) and (model is None or m.model == model)
    ]


BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class _Entry:
    failures: int = 0
    open_until: float | None = None  # set while open or half-open
    trial_started: float | None = None  # the half-open trial in flight


class CircuitBreaker:
    """Per-key circuit breaker (key e.g. "provider/model/keyfingerprint"); time is passed in.

    Closed: calls allowed. After `failure_threshold` consecutive failures, or at once on a
    Retry-After, it opens for `cooldown` seconds (or the Retry-After, if longer). When that
    passes it is half-open: one trial call is allowed; success closes it, failure reopens it.
    A trial never reported back is given up after another cooldown, allowing a new trial.
    """

    def __init__(self, failure_threshold: int = 3, cooldown: float = 30.0) -> None:
        if failure_threshold < 1 or cooldown < 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown >= 0")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._entries: dict[str, _Entry] = {}

    def state(self, key: str, now: float) -> BreakerState:
        entry = self._entries.get(key)
        if entry is None or entry.open_until is None:
            return "closed"
        return "open" if now < entry.open_until else "half_open"

    def allow(self, key: str, now: float) -> bool:
        """Whether a call on `key` may go ahead now; in half-open, takes the one trial."""
        entry = self._entries.get(key)
        if entry is None or entry.open_until is None:
            return True
        if now < entry.open_until:
            return False
        if entry.trial_started is not None and now < entry.trial_started + self.cooldown:
            return False  # a trial is already in flight
        entry.trial_started = now
        return True

    def record_success(self, key: str) -> None:
        self._entries.pop(key, None)

    def record_failure(self, key: str, now: float, retry_after: float | None = None) -> None:
        entry = self._entries.setdefault(key, _Entry())
        entry.failures += 1
        half_open = entry.open_until is not None and now >= entry.open_until
        if half_open or retry_after is not None or entry.failures >= self.failure_threshold:
            entry.open_until = now + max(self.cooldown, retry_after or 0.0)
            entry.trial_started = None


class NoCandidateError(RuntimeError):
    """No candidate could be tried: the list was empty or every breaker was open."""

    retryable = True


C = TypeVar("C")
R = TypeVar("R")


def _default_key(candidate: object) -> str:
    key = getattr(candidate, "key", None)
    return key if isinstance(key, str) else str(candidate)


async def call_with_fallback(
    candidates: Iterable[C],
    attempt: Callable[[C], Awaitable[R]],
    breaker: CircuitBreaker,
    now: float,
    *,
    key_of: Callable[[C], str] = _default_key,
) -> tuple[R, C]:
    """Call `attempt` on each candidate in order whose breaker allows it; return (result, candidate).

    A retryable error (`.retryable` true; `.retry_after_seconds` or `.retry_after` honoured)
    records a failure and moves on; any other error is raised at once, without touching the
    breaker (a bad request is not the provider's fault). Open breakers are skipped, never
    waited on. When every tried candidate failed, the last error is raised; when none could
    be tried, NoCandidateError.
    """
    last_error: BaseException | None = None
    for candidate in candidates:
        key = key_of(candidate)
        if not breaker.allow(key, now):
            continue
        try:
            result = await attempt(candidate)
        except Exception as exc:
            if not getattr(exc, "retryable", False):
                raise
            retry_after = getattr(exc, "retry_after_seconds", None)
            if retry_after is None:
                retry_after = getattr(exc, "retry_after", None)
            breaker.record_failure(key, now, retry_after=retry_after)
            last_error = exc
            continue
        breaker.record_success(key)
        return result, candidate
    if last_error is not None:
        raise last_error
    raise NoCandidateError("no candidate available: none given or every circuit breaker is open")
