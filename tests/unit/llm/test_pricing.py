"""The one cost function and the catalogue loader."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flowbus_llm_gateway.catalogue import ModelInfo, Prices
from flowbus_llm_gateway.model import Usage
from flowbus_llm_gateway.pricing import DEFAULT_CATALOGUE, CatalogueError, cost_usd, load_catalogue

M = 1_000_000
FULL = Prices(input=3, output=15, cached_input=0.3, cache_write=3.75, reasoning=20)
BARE = Prices(input=2, output=8)


def test_anthropic_style_numbers() -> None:
    assert cost_usd(Usage(input_tokens=M, output_tokens=M), Prices(input=3, output=15)) == pytest.approx(18)


@pytest.mark.parametrize(
    ("usage", "full", "bare"),
    [
        (Usage(input_tokens=M), 3, 2),
        (Usage(cached_input_tokens=M), 0.3, 2),  # None: billed as input
        (Usage(cache_write_tokens=M), 3.75, 2),  # None: billed as input
        (Usage(output_tokens=M), 15, 8),
        (Usage(output_tokens=M, reasoning_tokens=M), 20, 8),  # None: billed as output
    ],
)
def test_each_token_class(usage: Usage, full: float, bare: float) -> None:
    assert cost_usd(usage, FULL) == pytest.approx(full)
    assert cost_usd(usage, BARE) == pytest.approx(bare)


def test_reasoning_is_part_of_output() -> None:
    usage = Usage(output_tokens=1000, reasoning_tokens=600)
    assert cost_usd(usage, FULL) == pytest.approx((400 * 15 + 600 * 20) / M)
    assert cost_usd(usage, BARE) == pytest.approx(1000 * 8 / M)  # not double-billed


def test_all_classes_together() -> None:
    usage = Usage(
        input_tokens=1200,
        cached_input_tokens=5000,
        cache_write_tokens=800,
        output_tokens=900,
        reasoning_tokens=300,
    )
    expected = (1200 * 3 + 5000 * 0.3 + 800 * 3.75 + 600 * 15 + 300 * 20) / M
    assert cost_usd(usage, FULL) == pytest.approx(expected)


def test_reasoning_beyond_output_is_still_billed() -> None:
    assert cost_usd(Usage(output_tokens=0, reasoning_tokens=M), BARE) == pytest.approx(8)


def test_zero_usage_and_free_model() -> None:
    assert cost_usd(Usage(), FULL) == 0
    assert cost_usd(Usage(input_tokens=M, output_tokens=M), Prices(input=0, output=0)) == 0


# --- catalogue --------------------------------------------------------------------------------


def test_default_catalogue_loads_and_validates() -> None:
    models = load_catalogue()
    assert len(models) >= 12
    assert {m.provider for m in models} >= {"openai", "anthropic", "gemini", "deepseek"}
    keys = [m.key for m in models]
    assert len(keys) == len(set(keys))
    for m in models:
        assert isinstance(m, ModelInfo)
        assert m.context_window >= 32_000
        assert 0 < m.quality <= 100
        assert m.prices.output >= m.prices.input > 0
        assert m.prices.cached_input is None or m.prices.cached_input <= m.prices.input
        assert date(2024, 1, 1) <= m.priced_on <= date.today()


def test_default_catalogue_is_marked_as_default() -> None:
    text = DEFAULT_CATALOGUE.read_text()
    assert "DEFAULT" in text.splitlines()[0]


def test_override_replaces_one_price() -> None:
    base = {m.key: m for m in load_catalogue()}
    models = {
        m.key: m
        for m in load_catalogue(
            overrides={"openai/gpt-4.1": {"prices": {"input": 1.5}, "priced_on": "2026-01-01"}}
        )
    }
    changed = models["openai/gpt-4.1"]
    assert changed.prices.input == 1.5
    assert changed.prices.output == base["openai/gpt-4.1"].prices.output  # merged, not replaced
    assert changed.prices.cached_input == base["openai/gpt-4.1"].prices.cached_input
    assert changed.priced_on == date(2026, 1, 1)
    assert models["openai/gpt-4.1-mini"] == base["openai/gpt-4.1-mini"]


def test_override_adds_and_removes_models() -> None:
    new = {
        "context_window": 32_000,
        "quality": 70,
        "prices": {"input": 0.1, "output": 0.2},
        "priced_on": "2025-10-01",
    }
    models = {
        m.key: m
        for m in load_catalogue(overrides={"moonshot/kimi-k2": new, "deepseek/deepseek-reasoner": None})
    }
    assert models["moonshot/kimi-k2"].provider == "moonshot"
    assert "deepseek/deepseek-reasoner" not in models


@pytest.mark.parametrize(
    "overrides",
    [
        {"openai/gpt-4.1": {"prices": {"input": -1}}},
        {"openai/gpt-4.1": {"colour": "blue"}},
        {"acme/new-model": {"quality": 50}},  # new model, incomplete
        {"no-slash": {"quality": 50}},
        {"openai/gpt-4.1": {"quality": 101}},
    ],
)
def test_bad_overrides_raise(overrides: dict[str, Any]) -> None:
    with pytest.raises(CatalogueError):
        load_catalogue(overrides=overrides)


def test_custom_file(tmp_path: Path) -> None:
    path = tmp_path / "cat.yaml"
    path.write_text(
        "models:\n  - {provider: p, model: m, context_window: 8000, quality: 50,"
        " prices: {input: 1, output: 2}, priced_on: 2025-01-01}\n"
    )
    assert [m.key for m in load_catalogue(path)] == ["p/m"]
    path.write_text(path.read_text() + path.read_text().split("\n", 1)[1])
    with pytest.raises(CatalogueError, match="duplicate"):
        load_catalogue(path)
    path.write_text("nothing: here\n")
    with pytest.raises(CatalogueError):
        load_catalogue(path)
