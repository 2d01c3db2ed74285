"""Ranking, explicit requests, the circuit breaker and fallback calls."""

from __future__ import annotations

from datetime import date

import pytest

from flowbus_llm_gateway.catalogue import ModelInfo, Prices
from flowbus_llm_gateway.complexity import Complexity
from flowbus_llm_gateway.pricing import load_catalogue
from flowbus_llm_gateway.routing import (
    MIN_CONTEXT,
    MIN_QUALITY,
    CircuitBreaker,
    NoCandidateError,
    call_with_fallback,
    explicit,
    rank,
)


def mk(
    provider: str, model: str, quality: float, price_in: float, price_out: float, ctx: int = 200_000
) -> ModelInfo:
    return ModelInfo(
        provider=provider,
        model=model,
        context_window=ctx,
        quality=quality,
        prices=Prices(input=price_in, output=price_out),
        priced_on=date(2025, 1, 1),
    )


SMALL = mk("a", "small", 70, 0.1, 0.3, ctx=8_000)  # mean 0.2
MID = mk("b", "mid", 89, 1, 3, ctx=20_000)  # mean 2
BIG = mk("c", "big", 96, 3, 15)  # mean 9
CHEAP_GOOD = mk("d", "cheap-good", 95, 0.5, 1.5)  # mean 1
MODELS = [SMALL, MID, BIG, CHEAP_GOOD]


def keys(models: list[ModelInfo]) -> list[str]:
    return [m.key for m in models]


def test_minimums() -> None:
    assert MIN_CONTEXT == {"simple": 4_000, "moderate": 8_000, "complex": 16_000, "advanced": 32_000}
    assert MIN_QUALITY == {"simple": 0, "moderate": 80, "complex": 88, "advanced": 94}


def test_simple_takes_all_by_value() -> None:
    # quality^2 / mean price: small 24500, cheap-good 9025, mid 3960.5, big 1024
    assert keys(rank(MODELS, Complexity.SIMPLE)) == ["a/small", "d/cheap-good", "b/mid", "c/big"]


def test_quality_and_context_per_complexity() -> None:
    assert keys(rank(MODELS, "moderate")) == ["d/cheap-good", "b/mid", "c/big"]  # small: quality 70
    assert keys(rank(MODELS, "complex")) == ["d/cheap-good", "b/mid", "c/big"]
    assert keys(rank(MODELS, "advanced")) == ["d/cheap-good", "c/big"]  # mid: quality 89, 20k context


def test_context_minimum_excludes_small_windows() -> None:
    small_but_good = mk("e", "tiny-window", 99, 0.1, 0.1, ctx=10_000)
    assert "e/tiny-window" in keys(rank([small_but_good], "moderate"))
    assert "e/tiny-window" not in keys(rank([small_but_good, BIG], "complex"))


def test_needed_tokens_raise_the_context_bar() -> None:
    assert keys(rank(MODELS, "simple", needed_tokens=10_000)) == ["d/cheap-good", "b/mid", "c/big"]
    assert keys(rank(MODELS, "simple", needed_tokens=100_000)) == ["d/cheap-good", "c/big"]


def test_only_providers_with_keys() -> None:
    assert keys(rank(MODELS, "moderate", available={"b", "c"})) == ["b/mid", "c/big"]
    assert rank(MODELS, "moderate", available=set()) == []


def test_free_models_first_by_quality_then_ties_by_key() -> None:
    free_low = mk("z", "free-low", 85, 0, 0)
    free_high = mk("y", "free-high", 90, 0, 0)
    twin_b = mk("b", "twin", 90, 1, 1)
    twin_a = mk("a", "twin", 90, 1, 1)
    ranked = rank([twin_b, free_low, twin_a, free_high, BIG], "moderate")
    assert keys(ranked) == ["y/free-high", "z/free-low", "a/twin", "b/twin", "c/big"]


def test_fallback_when_nothing_qualifies() -> None:
    # advanced needs quality 94; only small/mid models available -> best by quality that fit 32k.
    weak = [SMALL, MID, mk("f", "ok", 80, 5, 5, ctx=64_000), mk("g", "meh", 75, 0.1, 0.1, ctx=64_000)]
    assert keys(rank(weak, "advanced")) == ["f/ok", "g/meh"]
    assert rank([SMALL], "advanced") == []  # nothing fits the context at all


def test_default_catalogue_ranks() -> None:
    catalogue = load_catalogue()
    advanced = rank(catalogue, Complexity.ADVANCED, available={"anthropic", "openai"})
    assert advanced
    assert all(m.quality >= 94 and m.provider in {"anthropic", "openai"} for m in advanced)
    assert rank(catalogue, "simple")[0].quality < 94  # simple queries go to cheap models


def test_explicit() -> None:
    both = [*MODELS, mk("x", "mid", 50, 1, 1)]
    assert keys(explicit(both, provider="c")) == ["c/big"]
    assert keys(explicit(both, model="mid")) == ["b/mid", "x/mid"]
    assert keys(explicit(both, model="x/mid")) == ["x/mid"]
    assert keys(explicit(both, provider="b", model="mid")) == ["b/mid"]
    assert explicit(both, provider="b", model="x/mid") == []
    assert explicit(both, model="unknown") == []
    assert explicit(both) == both


# --- circuit breaker ---------------------------------------------------------------------------


def test_breaker_opens_after_three_failures() -> None:
    b = CircuitBreaker()
    for t in (0, 1):
        b.record_failure("k", t)
        assert b.allow("k", t)
    b.record_failure("k", 2)
    assert b.state("k", 2) == "open"
    assert not b.allow("k", 2)
    assert not b.allow("k", 31.9)
    assert b.allow("other", 2)  # per key


def test_success_resets_the_count() -> None:
    b = CircuitBreaker()
    b.record_failure("k", 0)
    b.record_failure("k", 1)
    b.record_success("k")
    b.record_failure("k", 2)
    assert b.allow("k", 2)


def test_retry_after_opens_at_once_for_longer() -> None:
    b = CircuitBreaker()
    b.record_failure("k", 0, retry_after=120)
    assert not b.allow("k", 100)
    assert b.allow("k", 120)
    c = CircuitBreaker()
    c.record_failure("k", 0, retry_after=5)  # shorter than the cooldown: cooldown wins
    assert not c.allow("k", 29)
    assert c.allow("k", 30)


def test_half_open_allows_one_trial() -> None:
    b = CircuitBreaker(failure_threshold=1, cooldown=10)
    b.record_failure("k", 0)
    assert b.state("k", 10) == "half_open"
    assert b.allow("k", 10)
    assert not b.allow("k", 11)  # trial in flight
    b.record_success("k")
    assert b.state("k", 11) == "closed"
    assert b.allow("k", 11)
    assert b.allow("k", 11)


def test_failed_trial_reopens() -> None:
    b = CircuitBreaker(failure_threshold=3, cooldown=10)
    for _ in range(3):
        b.record_failure("k", 0)
    assert b.allow("k", 10)
    b.record_failure("k", 10)  # one failure in half-open is enough
    assert not b.allow("k", 19)
    assert b.allow("k", 20)


def test_unreported_trial_is_given_up() -> None:
    b = CircuitBreaker(failure_threshold=1, cooldown=10)
    b.record_failure("k", 0)
    assert b.allow("k", 10)
    assert not b.allow("k", 15)
    assert b.allow("k", 20)


def test_breaker_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)


# --- call_with_fallback ------------------------------------------------------------------------


class FakeError(Exception):
    def __init__(self, retryable: bool, retry_after_seconds: float | None = None) -> None:
        super().__init__("retryable" if retryable else "permanent")
        self.retryable = retryable
        self.retry_after_seconds = retry_after_seconds


class Script:
    """An attempt function: candidate key -> result or error to raise; records the calls."""

    def __init__(self, outcomes: dict[str, object]) -> None:
        self.outcomes = outcomes
        self.calls: list[str] = []

    async def __call__(self, candidate: ModelInfo) -> object:
        self.calls.append(candidate.key)
        outcome = self.outcomes[candidate.key]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


async def test_first_success_is_returned() -> None:
    attempt = Script({"a/small": "A", "b/mid": "B"})
    assert await call_with_fallback([SMALL, MID], attempt, CircuitBreaker(), 0) == ("A", SMALL)
    assert attempt.calls == ["a/small"]


async def test_falls_through_retryable_errors() -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    attempt = Script({"a/small": FakeError(True), "b/mid": FakeError(True), "c/big": "C"})
    result, used = await call_with_fallback([SMALL, MID, BIG], attempt, breaker, 0)
    assert (result, used) == ("C", BIG)
    assert attempt.calls == ["a/small", "b/mid", "c/big"]
    assert breaker.state("a/small", 0) == "open"
    assert breaker.state("c/big", 0) == "closed"


async def test_permanent_error_stops_at_once() -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    attempt = Script({"a/small": FakeError(False), "b/mid": "B"})
    with pytest.raises(FakeError, match="permanent"):
        await call_with_fallback([SMALL, MID], attempt, breaker, 0)
    assert attempt.calls == ["a/small"]
    assert breaker.state("a/small", 0) == "closed"  # not the provider's fault


async def test_plain_exceptions_are_permanent() -> None:
    attempt = Script({"a/small": KeyError("bug"), "b/mid": "B"})
    with pytest.raises(KeyError):
        await call_with_fallback([SMALL, MID], attempt, CircuitBreaker(), 0)


async def test_skips_open_breakers() -> None:
    breaker = CircuitBreaker()
    breaker.record_failure("a/small", 0, retry_after=60)
    attempt = Script({"a/small": "A", "b/mid": "B"})
    assert await call_with_fallback([SMALL, MID], attempt, breaker, 1) == ("B", MID)
    assert attempt.calls == ["b/mid"]


async def test_all_fail_raises_the_last_error() -> None:
    last = FakeError(True)
    attempt = Script({"a/small": FakeError(True), "b/mid": last})
    with pytest.raises(FakeError) as info:
        await call_with_fallback([SMALL, MID], attempt, CircuitBreaker(), 0)
    assert info.value is last


async def test_retry_after_from_error_opens_breaker() -> None:
    breaker = CircuitBreaker()
    attempt = Script({"a/small": FakeError(True, retry_after_seconds=90), "b/mid": "B"})
    await call_with_fallback([SMALL, MID], attempt, breaker, 0)
    assert not breaker.allow("a/small", 89)
    assert breaker.allow("a/small", 90)


async def test_nothing_to_try() -> None:
    breaker = CircuitBreaker()
    breaker.record_failure("a/small", 0, retry_after=60)
    with pytest.raises(NoCandidateError):
        await call_with_fallback([SMALL], Script({}), breaker, 1)
    with pytest.raises(NoCandidateError):
        await call_with_fallback([], Script({}), breaker, 1)


async def test_custom_breaker_key() -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    attempt = Script({"a/small": FakeError(True), "b/mid": "B"})
    await call_with_fallback([SMALL, MID], attempt, breaker, 0, key_of=lambda m: f"{m.key}/fp123")
    assert breaker.state("a/small/fp123", 0) == "open"
    assert breaker.state("a/small", 0) == "closed"
