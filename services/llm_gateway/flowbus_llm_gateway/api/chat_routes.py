"""POST /v1/chat/completions (whole or streamed) and GET /v1/models, OpenAI-compatible.

A streamed request waits for the first piece of the answer before it sends the response
head, so an error found before anything was written (no key, budget exceeded, every
provider down) still gets its proper HTTP status; an error after that ends the stream with
an `error` event, as OpenAI does. A client that disconnects cancels the provider call and
its budget reservation is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from flowbus_llm_gateway.api.errors import api_error_of
from flowbus_llm_gateway.api.openai_format import Completion, CompletionIn, model_choice, sse, to_chat_request
from flowbus_llm_gateway.catalogue import ModelInfo
from flowbus_llm_gateway.gateway import Answer, Charge, Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.model import StreamDelta
from flowbus_shared.auth import Principal
from flowbus_shared.http import ApiError, Authenticator
from flowbus_shared.http.problems import problem

AGENT_HEADER = "x-flowbus-agent-id"


def _headers(answer: Answer) -> dict[str, str]:
    return {"x-flowbus-provider": answer.model.provider, "x-flowbus-cost-usd": f"{answer.cost_usd:.8f}"}


def chat_router(gateway: Gateway, keys: ProviderKeys, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["openai-compatible"])
    operator, viewer = Depends(auth.require("operator")), Depends(auth.require("viewer"))

    @router.post("/chat/completions", response_model=None)
    async def chat_completions(
        body: CompletionIn, request: Request, principal: Principal = operator
    ) -> JSONResponse | StreamingResponse:
        chat = to_chat_request(body)
        provider, model = model_choice(body.model)
        charge = Charge(
            request_id=f"http:{uuid.uuid4().hex}", agent_id=request.headers.get(AGENT_HEADER) or None
        )
        completion = Completion()
        if not body.stream:
            try:
                answer = await gateway.complete(
                    principal.tenant_id, chat, provider=provider, model=model, charge=charge
                )
            except Exception as error:  # noqa: BLE001 - every failure becomes its HTTP problem
                raise api_error_of(error) from None
            return JSONResponse(completion.whole(answer), headers=_headers(answer))

        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        pieces: asyncio.Queue[StreamDelta | Answer | BaseException] = asyncio.Queue()

        async def run() -> None:
            try:
                answer = await gateway.complete(
                    principal.tenant_id,
                    chat,
                    provider=provider,
                    model=model,
                    charge=charge,
                    on_delta=pieces.put,
                )
            except BaseException as error:  # handed to the response, which reports it
                pieces.put_nowait(error)
                raise
            pieces.put_nowait(answer)

        task = asyncio.create_task(run())
        first = await pieces.get()
        if isinstance(first, BaseException):
            with contextlib.suppress(BaseException):
                await task
            raise api_error_of(first)

        async def events() -> AsyncIterator[bytes]:
            item: StreamDelta | Answer | BaseException = first
            model_name = body.model or "auto"
            try:
                yield completion.chunk(model_name, {"role": "assistant", "content": ""})
                while True:
                    if isinstance(item, StreamDelta):
                        yield completion.delta_chunk(model_name, item)
                    elif isinstance(item, Answer):
                        yield completion.closing_chunks(item, include_usage=include_usage)
                        return
                    else:
                        failure = api_error_of(item)
                        yield sse(problem(failure.status, failure.detail, code=failure.code))
                        return
                    item = await pieces.get()
            finally:
                if not task.done():  # the client went away: stop the provider call
                    task.cancel()
                with contextlib.suppress(BaseException):
                    await task

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )

    @router.get("/models")
    async def models(principal: Principal = viewer) -> dict[str, Any]:
        available = {row["provider"] for row in await keys.list(principal.tenant_id)}
        catalogue = await gateway.models(principal.tenant_id)
        return {"object": "list", "data": [_model_out(m, m.provider in available) for m in catalogue]}

    @router.get("/models/{provider}/{model:path}")
    async def one_model(provider: str, model: str, principal: Principal = viewer) -> dict[str, Any]:
        available = {row["provider"] for row in await keys.list(principal.tenant_id)}
        for info in await gateway.models(principal.tenant_id):
            if info.provider == provider and info.model == model:
                return _model_out(info, provider in available)
        raise ApiError(404, f"no model {provider}/{model} in the catalogue", code="model_not_found")

    return router


def _model_out(info: ModelInfo, available: bool) -> dict[str, Any]:
    return {
        "id": info.key,
        "object": "model",
        "created": 0,
        "owned_by": info.provider,
        "flowbus": {
            "available": available,  # the tenant has a key for its provider
            "context_window": info.context_window,
            "quality": info.quality,
            "prices_usd_per_million_tokens": info.prices.model_dump(exclude_none=True),
            "priced_on": info.priced_on.isoformat(),
        },
    }
