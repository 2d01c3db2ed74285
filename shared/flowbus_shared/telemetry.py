"""OpenTelemetry set-up and the trace context that rides in message headers.

Exporters follow the standard OTEL_* variables: spans are exported over OTLP
only when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-specific one) is set and
OTEL_TRACES_EXPORTER is not `none`; OTEL_EXPORTER_OTLP_PROTOCOL picks grpc or
http/protobuf. Sampling is the SDK's, parent-based by default.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

_configured: TracerProvider | None = None


def tracer() -> trace.Tracer:
    return trace.get_tracer("flowbus")


def _otlp_exporter() -> SpanExporter | None:
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return None
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return None
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    )
    if protocol.startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcSpanExporter,
    )

    return GrpcSpanExporter()


def configure_tracing(service_name: str, extra_processors: tuple[SpanProcessor, ...] = ()) -> TracerProvider:
    """Install the process's tracer provider once; later calls return it."""
    global _configured
    if _configured is not None:
        return _configured
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    exporter = _otlp_exporter()
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    for processor in extra_processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _configured = provider
    logging.getLogger(__name__).debug("tracing configured for %s", service_name)
    return provider


def inject_context(headers: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write the current (or given) trace context into message headers (W3C traceparent)."""
    propagate.inject(headers, context=context)


def extract_context(headers: Mapping[str, str]) -> Context:
    return propagate.extract(headers)
