"""The gateway's use case: pick candidates (explicit, or ranked by complexity and price among
the providers the tenant has keys for), call them with fallback behind circuit breakers,
and price the answer with the one cost function."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import httpx

from flowbus_llm_gateway.catalogue import ModelInfo, Prices
from flowbus_llm_gateway.complexity import Complexity, score_query
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.ledger import Ledger
from flowbus_llm_gateway.model import ChatRequest, ChatResponse, StreamDelta, ToolCall, Usage
from flowbus_llm_gateway.price_book import PriceBook
from flowbus_llm_gateway.pricing import cost_usd
from flowbus_llm_gateway.providers.anthropic import Anthropic
from flowbus_llm_gateway.providers.base import Endpoint, Provider, ProviderError
from flowbus_llm_gateway.providers.gemini import Gemini
from flowbus_llm_gateway.providers.openai_compatible import OpenAICompatible
from flowbus_llm_gateway.routing import CircuitBreaker, call_with_fallback, explicit, rank
from flowbus_llm_gateway.tokens import estimate_request_tokens
from flowbus_llm_gateway.tracing import chat_span, record_answer
from flowbus_shared import metrics


def default_providers() -> dict[str, Provider]:
    return {
        "openai": OpenAICompatible("openai"),
        "deepseek": OpenAICompatible("deepseek", max_tokens_field="max_tokens"),
        "anthropic": Anthropic(),
        "gemini": Gemini(),
    }


BUILT_IN = frozenset(default_providers())
DeltaSink = Callable[[StreamDelta], Awaitable[None]]

# Output tokens assumed for a budget reservation when the request sets no max_tokens.
DEFAULT_OUTPUT_ESTIMATE = 1024


@dataclass(frozen=True)
class Charge:
    """Who pays for a call: the ledger's request id (idempotent), and what it is for."""

    request_id: str
    execution_id: str | None = None
    step_id: str | None = None
    agent_id: str | None = None


class NoProvider(Exception):
    """No configured provider can answer: no key, or nothing in the catalogue fits."""


@dataclass(frozen=True)
class Answer:
    response: ChatResponse
    model: ModelInfo
    cost_usd: float
    complexity: Complexity


class Gateway:
    def __init__(
        self,
        http: httpx.AsyncClient,
        keys: ProviderKeys,
        catalogue: list[ModelInfo] | PriceBook,
        *,
        providers: dict[str, Provider] | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.monotonic,
        ledger: Ledger | None = None,
    ) -> None:
        self._ledger = ledger
        self._http = http
        self._keys = keys
        self._catalogue = catalogue
        self._providers = providers or default_providers()
        self._breaker = breaker or CircuitBreaker()
        self._clock = clock

    async def models(self, tenant_id: str) -> list[ModelInfo]:
        """The catalogue as the tenant sees it (with its own price overrides)."""
        if isinstance(self._catalogue, PriceBook):
            return await self._catalogue.models(tenant_id)
        return self._catalogue

    def _adapter(self, provider: str) -> Provider:
        # A provider name the gateway has no adapter for is an OpenAI-compatible server
        # (Ollama, vLLM, a proxy) at the base URL stored with its key.
        adapter = self._providers.get(provider)
        if adapter is None:
            adapter = self._providers[provider] = OpenAICompatible(provider, max_tokens_field="max_tokens")
        return adapter

    def _self_hosted(self, usable: set[str], provider: str | None, model: str | None) -> list[ModelInfo]:
        """An explicitly named model of a self-hosted OpenAI-compatible provider the catalogue does
        not list: served at no price (add it with PUT /v1/llm/prices to give it one)."""
        if model and "/" in model and not provider:
            provider, model = model.split("/", 1)
        if not provider or not model or provider in BUILT_IN or provider not in usable:
            return []
        free = Prices(input=0, output=0)
        return [
            ModelInfo(
                provider=provider,
                model=model,
                context_window=1_000_000,
                quality=0,
                prices=free,
                priced_on=date.today(),
            )
        ]

    async def complete(
        self,
        tenant_id: str,
        request: ChatRequest,
        *,
        provider: str | None = None,
        model: str | None = None,
        task_type: str | None = None,
        charge: Charge | None = None,
        on_delta: DeltaSink | None = None,
    ) -> Answer:
        """Answer `request` from the best candidate that works. With a ledger and a `charge`,
        the worst-case cost over the candidates is reserved against the tenant's (and agent's)
        budget first, and settled with the provider-reported usage after (BudgetExceeded when
        it does not fit: no provider is called).

        With `on_delta` the answer is streamed: each piece of text goes to `on_delta` as it
        arrives. Fallback to the next candidate happens only while nothing has been passed on;
        a stream that breaks after that raises a ProviderError marked `partial`."""
        endpoints = await self._keys.endpoints(tenant_id)
        usable = {
            name for name, endpoint in endpoints.items() if name in self._providers or endpoint.base_url
        }
        if not usable:
            raise NoProvider(
                f"tenant {tenant_id!r} has no LLM provider key "
                "(add one with `flowbus llm keys put PROVIDER` or PUT /v1/llm/keys/PROVIDER)"
            )
        text = "\n".join(message.content for message in request.messages if message.role != "assistant")
        _, complexity = score_query(text, task_type)
        prompt_tokens = estimate_request_tokens(request.messages)
        catalogue = await self.models(tenant_id)
        if provider or model:
            candidates = [c for c in explicit(catalogue, provider, model) if c.provider in usable]
            if not candidates:
                candidates = self._self_hosted(usable, provider, model)
        else:
            needed = prompt_tokens + (request.max_tokens or 0)
            candidates = rank(catalogue, complexity, needed_tokens=needed, available=usable)
        if not candidates:
            wanted = f"{provider or ''}/{model or ''}".strip("/") or f"a {complexity} query"
            raise NoProvider(f"no configured model can serve {wanted}")

        def breaker_key(candidate: ModelInfo) -> str:
            return f"{tenant_id}/{candidate.key}"

        async def attempt(candidate: ModelInfo) -> ChatResponse:
            with chat_span(candidate, request, streamed=on_delta is not None) as span:
                response = await answer_from(candidate)
                record_answer(span, response, cost_usd(response.usage, candidate.prices))
                return response

        async def answer_from(candidate: ModelInfo) -> ChatResponse:
            adapter = self._adapter(candidate.provider)
            endpoint: Endpoint = endpoints[candidate.provider]
            asked = request.model_copy(update={"model": candidate.model})
            if on_delta is None:
                return await adapter.complete(self._http, endpoint, asked)
            try:
                return await _streamed(adapter, self._http, endpoint, asked, candidate, on_delta)
            except ProviderError as error:
                if error.partial:  # not retried elsewhere, but still the provider's failure
                    self._breaker.record_failure(breaker_key(candidate), self._clock())
                raise

        reservation = None
        if self._ledger is not None and charge is not None:
            worst = Usage(
                input_tokens=prompt_tokens, output_tokens=request.max_tokens or DEFAULT_OUTPUT_ESTIMATE
            )
            estimate = max(Decimal(str(cost_usd(worst, c.prices))) for c in candidates)
            reservation = await self._ledger.reserve(
                tenant_id, estimate, agent_id=charge.agent_id, request_id=charge.request_id
            )
        try:
            response, chosen = await call_with_fallback(
                candidates, attempt, self._breaker, self._clock(), key_of=breaker_key
            )
        except BaseException:
            if reservation is not None and self._ledger is not None and charge is not None:
                await self._ledger.release(reservation)  # the call failed: give the estimate back
            raise
        cost = cost_usd(response.usage, chosen.prices)
        metrics.llm_usage(chosen.provider, chosen.model, tenant_id, response.usage.model_dump(), cost)
        if reservation is not None and self._ledger is not None and charge is not None:
            await self._ledger.settle(
                reservation,
                response.usage,
                chosen.prices,
                provider=chosen.provider,
                model=chosen.model,
                execution_id=charge.execution_id,
                step_id=charge.step_id,
                agent_id=charge.agent_id,
                complexity=str(complexity),
            )
        return Answer(response, chosen, cost, complexity)


async def _streamed(
    adapter: Provider,
    http: httpx.AsyncClient,
    endpoint: Endpoint,
    request: ChatRequest,
    candidate: ModelInfo,
    on_delta: DeltaSink,
) -> ChatResponse:
    """One candidate's streamed answer, passed on piece by piece and assembled whole."""
    content: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    passed_on = False
    try:
        async for delta in adapter.stream(http, endpoint, request):
            calls.extend(delta.tool_calls)
            if delta.done:
                return ChatResponse(
                    id=delta.response_id or "",
                    provider=candidate.provider,
                    model=candidate.model,
                    content="".join(content),
                    reasoning="".join(reasoning),
                    tool_calls=calls,
                    finish_reason=delta.finish_reason or "stop",
                    usage=delta.usage or Usage(),
                )
            content.append(delta.content)
            reasoning.append(delta.reasoning)
            if delta.content or delta.reasoning or delta.tool_calls:
                passed_on = True
                await on_delta(delta)
    except ProviderError as error:
        if passed_on:  # the caller has seen part of this answer: another model must not continue it
            error.partial = True
            error.retryable = False
        raise
    raise ProviderError(
        candidate.provider, "broken_stream", "the stream ended without a final chunk", retryable=True
    )


__all__ = ["Answer", "Charge", "Gateway", "NoProvider", "ProviderError", "default_providers"]
