"""The llm-gateway service on real Kafka and PostgreSQL: an llm_completion StepRequest in,
its text streamed to `flowbus.llm-tokens` keyed by request, the StepResult out."""

from __future__ import annotations

from pydantic import SecretStr

from flowbus_llm_gateway.app import GatewayService
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.settings import GatewaySettings
from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.runtime import Context, Runtime
from flowbus_shared.schemas import LlmTokenEvent, StepRequest, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import LLM_TOKENS, STEP_RESULTS, STEPS_LLM
from flowbus_shared.vault import ConnectionVault
from tests.support.executor_deps import TEST_MASTER_KEYS
from tests.support.http_double import http_double
from tests.support.llm_double import openai_answer
from tests.support.waiting import wait_until


async def test_a_completion_streams_tokens_and_answers_on_kafka(
    kafka_settings: FlowbusSettings, pg_url: str
) -> None:
    settings = kafka_settings.model_copy(
        update={"database_url": pg_url, "master_keys": SecretStr(TEST_MASTER_KEYS)}
    )
    await ensure_topics(settings)
    results: list[StepResult] = []
    tokens: list[tuple[str | None, LlmTokenEvent]] = []

    async def on_result(result: StepResult, _delivery: Delivery) -> None:
        results.append(result)

    async def on_token(event: LlmTokenEvent, delivery: Delivery) -> None:
        tokens.append((delivery.key, event))

    pieces = ["Your ", "order ", "ships ", "today."]
    with http_double(openai_answer(pieces)) as provider:

        def gateway_service(context: Context) -> GatewayService:
            return GatewayService(context, GatewaySettings(llm_http_port=0))

        runtime = Runtime(settings, [gateway_service], name="gateway-test")
        observer = KafkaBus(settings, client_name="observer")
        observer.subscribe(STEP_RESULTS, group="orchestrator", handler=on_result)
        observer.subscribe(LLM_TOKENS, group="viewer", handler=on_token)
        context: Context = await runtime.start()
        await observer.start()
        try:
            vault = ConnectionVault(context.store.engine, TEST_MASTER_KEYS)
            await ProviderKeys(vault).put("acme", "openai", "sk-test", base_url=f"{provider.url}/v1")
            request = StepRequest(
                execution_id="exec-7",
                workflow_id="wf",
                tenant_id="acme",
                step_id="reply",
                step_type="llm_completion",
                config={"prompt": "Tell the customer", "provider": "openai", "model": "gpt-4o-mini"},
            )
            await context.bus.publish(STEPS_LLM, request)
            await wait_until(lambda: len(results) == 1, message="the step result")
            await wait_until(lambda: any(e.finished for _, e in tokens), message="the final token event")
            result = results[0]
            assert result.status == "succeeded", result.error
            assert result.output["text"] == "Your order ships today."
            assert result.output["model"] == "gpt-4o-mini"
            ordered = sorted(tokens, key=lambda pair: pair[1].index)
            assert "".join(e.delta for _, e in ordered) == "Your order ships today."
            assert {key for key, _ in tokens} == {request.idempotency_key}
        finally:
            await observer.stop()
            await runtime.stop()
