"""The gateway's one cost function and the catalogue loader.

`cost_usd` is the only place a bill is computed: every token class at its own
price (USD per 1M tokens), with the documented fallbacks: cached reads and cache
writes cost `input` when not priced apart, reasoning tokens cost `output`.
`Usage.output_tokens` includes reasoning tokens, so only the non-reasoning part is
billed at `output` and the reasoning part at `reasoning` (or `output`).

`load_catalogue` reads `catalogue.yaml` (a default operators are expected to
override) and merges overrides keyed "provider/model", e.g. from a settings JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from flowbus_llm_gateway.catalogue import ModelInfo, Prices
from flowbus_llm_gateway.model import Usage

DEFAULT_CATALOGUE = Path(__file__).with_name("catalogue.yaml")
PER_TOKENS = 1_000_000


class CatalogueError(ValueError):
    """The catalogue file or its overrides are malformed."""


def cost_usd(usage: Usage, prices: Prices) -> float:
    """USD cost of `usage` at `prices` (per 1M tokens); see the module docstring for the fallbacks."""
    # Output includes reasoning; an adapter reporting more reasoning than output still pays for it all.
    reasoning = usage.reasoning_tokens
    plain_output = max(usage.output_tokens - reasoning, 0)
    total = (
        usage.input_tokens * prices.input
        + usage.cached_input_tokens * _or(prices.cached_input, prices.input)
        + usage.cache_write_tokens * _or(prices.cache_write, prices.input)
        + plain_output * prices.output
        + reasoning * _or(prices.reasoning, prices.output)
    )
    return total / PER_TOKENS


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(name), Mapping):
            merged[name] = deep_merge(merged[name], value)
        else:
            merged[name] = value
    return merged


def _split_key(key: str) -> tuple[str, str]:
    provider, sep, model = key.partition("/")
    if not sep or not provider or not model:
        raise CatalogueError(f"override key {key!r} is not 'provider/model'")
    return provider, model


def catalogue_entries(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The raw entries of the catalogue file at `path` (default: the bundled `catalogue.yaml`),
    keyed "provider/model"."""
    source = Path(path) if path is not None else DEFAULT_CATALOGUE
    data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    raw = data.get("models") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise CatalogueError(f"{source}: expected a top-level 'models' list")
    entries: dict[str, dict[str, Any]] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise CatalogueError(f"{source}: every model must be a mapping, got {item!r}")
        key = f"{item.get('provider')}/{item.get('model')}"
        if key in entries:
            raise CatalogueError(f"{source}: duplicate model {key}")
        entries[key] = item
    return entries


def apply_overrides(
    entries: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Mapping[str, Any] | None] | None
) -> list[ModelInfo]:
    """`entries` with `overrides` merged, validated.

    `overrides` maps "provider/model" to a partial entry merged into the catalogue's
    (nested `prices` merge field by field, so {"prices": {"input": 2.5}} changes one price);
    a key the catalogue lacks adds a model (then the entry must be complete), and None
    removes one. A malformed entry raises CatalogueError.
    """
    merged: dict[str, dict[str, Any]] = {key: dict(entry) for key, entry in entries.items()}
    for key, change in (overrides or {}).items():
        provider, model = _split_key(key)
        if change is None:
            merged.pop(key, None)
            continue
        if not isinstance(change, Mapping):
            raise CatalogueError(f"override for {key} must be a mapping or null")
        base = merged.get(key, {"provider": provider, "model": model})
        merged[key] = deep_merge(base, {**change, "provider": provider, "model": model})

    models: list[ModelInfo] = []
    for key, entry in merged.items():
        try:
            models.append(ModelInfo.model_validate(entry))
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            raise CatalogueError(f"model {key}: {exc}") from exc
    return models


def load_catalogue(
    path: str | Path | None = None, overrides: Mapping[str, Mapping[str, Any] | None] | None = None
) -> list[ModelInfo]:
    """The models of the catalogue at `path` (default: the bundled `catalogue.yaml`), with overrides."""
    return apply_overrides(catalogue_entries(path), overrides)
