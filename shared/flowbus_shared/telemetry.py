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
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from flowbus_shared.execution_trace import RecordedIdGenerator

_configured: TracerProvider | None = None


_tracer: tuple[trace.TracerProvider, trace.Tracer] | None = None


def tracer() -> trace.Tracer:
    """flowbus's tracer from the current provider, made once per provider: the SDK builds a new
    tracer (and compares instrumentation scopes) on every get_tracer, ~5% of the orchestrator's CPU."""
    global _tracer
    provider = trace.get_tracer_provider()
    if _tracer is None or _tracer[0] is not provider:
        _tracer = (provider, provider.get_tracer("flowbus"))
    return _tracer[1]


def export_configured() -> bool:
    """Whether the OTEL_* variables ask for spans to be exported over OTLP."""
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _otlp_exporter() -> SpanExporter | None:
    if not export_configured():
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


def _sampler_chosen() -> bool:
    return bool(os.environ.get("OTEL_TRACES_SAMPLER"))


def configure_tracing(service_name: str, extra_processors: tuple[SpanProcessor, ...] = ()) -> TracerProvider:
    """Install the process's tracer provider once; later calls return it."""
    global _configured
    if _configured is not None:
        return _configured
    # Current (stable) HTTP conventions on client spans: url.full, http.request.method.
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    exporter = _otlp_exporter()
    # Nothing would receive the spans: sample none, so spans cost almost nothing (they still have
    # ids, which the logs show). An explicit OTEL_TRACES_SAMPLER is the operator's choice.
    sampler = ALWAYS_OFF if exporter is None and not extra_processors and not _sampler_chosen() else None
    # Derived ids for the spans of an execution that outlive a process (see execution_trace).
    provider = TracerProvider(resource=resource, id_generator=RecordedIdGenerator(), sampler=sampler)
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


# Every log line written inside a span names it, so logs and traces can be joined.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s%(trace_context)s: %(message)s"


class TraceContextFilter(logging.Filter):
    """Adds `trace_id` and `span_id` (W3C hex; empty outside a span) to every record it sees,
    and `trace_context` (` trace_id=... span_id=...`, or empty) for log formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        trace_id = span_id = shown = ""
        if context.is_valid:
            trace_id = trace.format_trace_id(context.trace_id)
            span_id = trace.format_span_id(context.span_id)
            shown = f" trace_id={trace_id} span_id={span_id}"
        record.trace_id, record.span_id, record.trace_context = trace_id, span_id, shown
        return True


def add_trace_context_to_logs(handlers: list[logging.Handler] | None = None) -> None:
    """Put a TraceContextFilter on `handlers` (default: the root logger's), where every
    propagated record passes, whichever logger wrote it."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(existing, TraceContextFilter) for existing in handler.filters):
            handler.addFilter(TraceContextFilter())
