"""A server span per API request: named by its route template, a child of the caller's
`traceparent`, with the status; probes and scrapes make none."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.integration.http_platform.conftest import Served

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


async def test_a_request_is_a_server_span_under_the_callers_trace(
    served: Served, spans: InMemorySpanExporter
) -> None:
    traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    async with served.client(headers={"traceparent": traceparent}) as client:
        assert (await client.get("/v1/things/t-42")).status_code == 200
        assert (await client.get("/healthz")).status_code == 200
    server = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [s.name for s in server] == ["GET /v1/things/{thing_id}"]
    (span,) = server
    assert f"{span.context.trace_id:032x}" == CALLER_TRACE
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == CALLER_SPAN
    attributes = span.attributes or {}
    assert attributes["http.route"] == "/v1/things/{thing_id}"
    assert attributes["http.response.status_code"] == 200
    assert "authorization" not in str(attributes).lower()
