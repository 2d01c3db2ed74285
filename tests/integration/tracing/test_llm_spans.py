"""Each provider attempt of the llm-gateway is a `chat <model>` span (GenAI conventions) with
usage and cost; a fallback shows as a sibling; the provider receives the trace context."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from flowbus_llm_gateway.catalogue import ModelInfo, Prices
from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.model import ChatMessage, ChatRequest
from flowbus_shared.http_tracing import traced_http_client
from flowbus_shared.store import open_store
from flowbus_shared.telemetry import tracer
from flowbus_shared.vault import ConnectionVault
from tests.support.executor_deps import TEST_MASTER_KEYS
from tests.support.http_double import chat_completion, http_double


def _model(provider: str, name: str, price: float) -> ModelInfo:
    return ModelInfo(
        provider=provider,
        model=name,
        context_window=128_000,
        quality=95,
        prices=Prices(input=price, output=price * 4),
        priced_on=date(2026, 11, 1),
    )


async def test_a_fallback_is_a_sibling_chat_span_with_usage_and_cost(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'llm.db'}")
    keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
    try:
        with (
            http_double(lambda _r: (503, {"error": {"message": "overloaded"}})) as down,
            http_double(lambda _r: (200, chat_completion("hello"))) as backup,
        ):
            await keys.put("acme", "openai", "sk-openai", base_url=f"{down.url}/v1")
            await keys.put("acme", "deepseek", "sk-deepseek", base_url=f"{backup.url}/v1")
            async with traced_http_client(httpx.AsyncClient()) as client:
                gateway = Gateway(
                    client, keys, [_model("openai", "cheap-1", 0.1), _model("deepseek", "backup-1", 0.3)]
                )
                request = ChatRequest(
                    model="", messages=[ChatMessage(role="user", content="Hi")], max_tokens=50
                )
                with tracer().start_as_current_span("step llm_completion") as step:
                    answer = await gateway.complete("acme", request)
    finally:
        await store.close()

    assert answer.model.provider == "deepseek"
    finished = spans.get_finished_spans()
    chats = sorted((s for s in finished if s.name.startswith("chat ")), key=lambda s: s.start_time or 0)
    assert [s.name for s in chats] == ["chat cheap-1", "chat backup-1"]
    failed, answered = chats
    assert all(s.parent is not None and s.parent.span_id == step.get_span_context().span_id for s in chats)
    assert all(s.kind is SpanKind.CLIENT for s in chats)

    assert failed.attributes is not None
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "server_error"
    assert failed.attributes["gen_ai.provider.name"] == "openai"
    assert "gen_ai.usage.output_tokens" not in failed.attributes

    assert answered.attributes is not None
    assert answered.status.status_code is not StatusCode.ERROR
    assert answered.attributes["gen_ai.operation.name"] == "chat"
    assert answered.attributes["gen_ai.provider.name"] == "deepseek"
    assert answered.attributes["gen_ai.system"] == "deepseek"
    assert answered.attributes["gen_ai.request.model"] == "backup-1"
    assert answered.attributes["gen_ai.request.max_tokens"] == 50
    assert answered.attributes["gen_ai.usage.input_tokens"] == 10
    assert answered.attributes["gen_ai.usage.output_tokens"] == 20
    assert answered.attributes["flowbus.llm.cost_usd"] == answer.cost_usd
    assert answer.cost_usd > 0

    # The provider's HTTP call is a client span under its chat span, and the provider sees it.
    http = [s for s in finished if s.name == "POST"]
    assert {s.parent.span_id for s in http if s.parent} == {c.context.span_id for c in chats}
    (call,) = backup.requests
    _, trace_id, parent_id, _ = call.headers["traceparent"].split("-")
    assert int(trace_id, 16) == step.get_span_context().trace_id
    answered_http = next(s for s in http if s.parent and s.parent.span_id == answered.context.span_id)
    assert int(parent_id, 16) == answered_http.context.span_id
    assert "sk-deepseek" not in str(answered_http.attributes)
