"""The span of one provider attempt, after the OpenTelemetry GenAI conventions: `chat <model>`
with the provider, the model, the token usage and flowbus's price of the answer. A fallback to
another candidate is another span beside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from flowbus_llm_gateway.catalogue import ModelInfo
from flowbus_llm_gateway.model import ChatRequest, ChatResponse
from flowbus_llm_gateway.providers.base import ProviderError
from flowbus_shared.telemetry import tracer


@contextmanager
def chat_span(candidate: ModelInfo, request: ChatRequest, *, streamed: bool) -> Iterator[Span]:
    attributes: dict[str, str | int | bool] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": candidate.provider,
        "gen_ai.system": candidate.provider,  # the older name, still read by many back ends
        "gen_ai.request.model": candidate.model,
        "flowbus.llm.streamed": streamed,
    }
    if request.max_tokens is not None:
        attributes["gen_ai.request.max_tokens"] = request.max_tokens
    with tracer().start_as_current_span(
        f"chat {candidate.model}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except ProviderError as error:
            span.set_attribute("error.type", error.kind)
            span.set_status(Status(StatusCode.ERROR, error.kind))
            raise
        except BaseException as error:
            span.set_attribute("error.type", type(error).__qualname__)
            span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
            raise


def record_answer(span: Span, response: ChatResponse, cost_usd: float) -> None:
    usage = response.usage
    # GenAI input tokens count cached ones too; flowbus's Usage keeps them apart.
    span.set_attributes(
        {
            "gen_ai.response.model": response.model,
            "gen_ai.response.finish_reasons": [response.finish_reason],
            "gen_ai.usage.input_tokens": usage.input_tokens
            + usage.cached_input_tokens
            + usage.cache_write_tokens,
            "gen_ai.usage.output_tokens": usage.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": usage.cached_input_tokens,
            "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
            "flowbus.llm.cost_usd": cost_usd,
        }
    )
    if response.id:
        span.set_attribute("gen_ai.response.id", response.id)
