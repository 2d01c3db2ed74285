"""What the gateway knows of each (provider, model): context window, quality and prices.

Prices are USD per 1M tokens per token class, with the date they were taken;
`priced_on` tells users how fresh they are. The catalogue is data
(`catalogue.yaml`), overridable by settings.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Prices(BaseModel):
    """USD per 1M tokens. A class a provider does not bill separately costs what `input` does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    reasoning: float | None = Field(default=None, ge=0)  # None: billed as output


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str  # openai, anthropic, gemini, deepseek, or a configured OpenAI-compatible name
    model: str
    context_window: int = Field(ge=1)
    quality: float = Field(ge=0, le=100)  # the monolith's 0-100 quality table
    prices: Prices
    priced_on: date

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"
