"""Recorded openai_compatible wire responses and helpers shared by its test files."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from flowbus_llm_gateway.model import ChatMessage, ChatRequest, StreamDelta
from flowbus_llm_gateway.providers.base import Endpoint, ProviderError
from flowbus_llm_gateway.providers.openai_compatible import OpenAICompatible
from tests.support.http_double import Recorded

KEY = "sk-proj-TESTKEY0123456789abcdefSECRET"
SSE = {"content-type": "text/event-stream"}


def header(recorded: Recorded, name: str) -> str | None:
    return next((v for k, v in recorded.headers.items() if k.lower() == name.lower()), None)


def request(**extra: Any) -> ChatRequest:
    return ChatRequest(model="gpt-4o-mini", messages=[ChatMessage(role="user", content="Hello!")], **extra)


async def collect(
    provider: OpenAICompatible, url: str, req: ChatRequest, key: str = KEY
) -> list[StreamDelta]:
    async with httpx.AsyncClient() as client:
        return [d async for d in provider.stream(client, Endpoint(url, key), req)]


async def complete_error(provider: OpenAICompatible, url: str, key: str = KEY) -> ProviderError:
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(client, Endpoint(url, key), request())
    return caught.value


async def stream_error(provider: OpenAICompatible, url: str) -> tuple[list[StreamDelta], ProviderError]:
    """The deltas seen before the stream failed, and its failure."""
    seen: list[StreamDelta] = []
    async with httpx.AsyncClient() as client:
        try:
            async for delta in provider.stream(client, Endpoint(url, KEY), request()):
                seen.append(delta)
        except ProviderError as failure:
            return seen, failure
    raise AssertionError(f"the stream did not fail: {seen}")


# --- complete ----------------------------------------------------------------------------------
