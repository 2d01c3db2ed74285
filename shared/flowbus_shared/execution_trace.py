"""One trace per execution, across processes and restarts.

A span cannot stay open across processes, so the ids of an execution's spans are derived from what
the event log already holds: the trace id and the root span id from the execution id and how many
times it was resumed (each resume starts a new trace linked to the previous one), a step attempt's
span id from (execution, step, attempt), attempt numbers being never reused. Whoever ends such a span
(the orchestrator for the root, the service that ran the attempt for the attempt) emits it with the
derived id; everything published in between already names it as parent through `traceparent`.

Sampling stays parent-based and consistent: the root's decision is the configured sampler's on the
derived trace id (always-on, always-off and ratio samplers decide the same way every time), and every
span below follows its parent's flag.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, TraceFlags

# The root span's context as a W3C traceparent, on every step request: the service that runs the
# attempt parents the attempt span to it (the message's own traceparent names the attempt span).
ROOT_HEADER = "flowbus-trace-root"

_forced_ids: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "flowbus_forced_span_ids", default=None
)


class RecordedIdGenerator(RandomIdGenerator):
    """Random ids, except while `recorded_span` starts a span whose ids were derived."""

    def generate_span_id(self) -> int:
        forced = _forced_ids.get()
        return forced[1] if forced is not None else super().generate_span_id()

    def generate_trace_id(self) -> int:
        forced = _forced_ids.get()
        return forced[0] if forced is not None else super().generate_trace_id()


def _digest(*parts: object, size: int) -> int:
    text = "\x1f".join(str(part) for part in parts)
    value = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=size).digest(), "big")
    return value or 1  # zero is the invalid id


def trace_id_of(execution_id: str, resumes: int = 0) -> int:
    return _digest("trace", execution_id, resumes, size=16)


def root_span_id_of(execution_id: str, resumes: int = 0) -> int:
    return _digest("root", execution_id, resumes, size=8)


def attempt_span_id_of(execution_id: str, step_id: str, attempt: int) -> int:
    return _digest("attempt", execution_id, step_id, attempt, size=8)


def _sampled(trace_id: int) -> bool:
    sampler = getattr(trace.get_tracer_provider(), "sampler", None)
    if sampler is None:  # tracing not configured in this process: record nothing
        return False
    return bool(sampler.should_sample(None, trace_id, "execution").decision.is_sampled())


def root_context(execution_id: str, resumes: int = 0) -> SpanContext:
    trace_id = trace_id_of(execution_id, resumes)
    flags = TraceFlags(TraceFlags.SAMPLED if _sampled(trace_id) else TraceFlags.DEFAULT)
    return SpanContext(trace_id, root_span_id_of(execution_id, resumes), is_remote=True, trace_flags=flags)


def attempt_context(root: SpanContext, execution_id: str, step_id: str, attempt: int) -> SpanContext:
    span_id = attempt_span_id_of(execution_id, step_id, attempt)
    return SpanContext(root.trace_id, span_id, is_remote=True, trace_flags=root.trace_flags)


def traceparent(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def parse_traceparent(value: str | None) -> SpanContext | None:
    """The context a W3C traceparent names; None when absent or malformed."""
    parts = (value or "").strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags & 0xFF))


def _nanoseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


@contextmanager
def recorded_span(
    name: str,
    context: SpanContext,
    *,
    parent: SpanContext | None,
    started: datetime | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: dict[str, str | int] | None = None,
    links: Sequence[SpanContext] = (),
) -> Iterator[Span]:
    """Start the span whose ids `context` holds (under `parent`, or as a root when None), current
    inside the block and ended after it. Only this span gets the derived ids: spans started inside
    the block get random ones as usual."""
    parent_context = trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent else None
    token = _forced_ids.set((context.trace_id, context.span_id))
    try:
        span = trace.get_tracer("flowbus").start_span(
            name,
            context=parent_context if parent_context is not None else Context(),  # empty: a new trace
            kind=kind,
            attributes=attributes,
            links=[Link(link) for link in links if link.is_valid],
            start_time=_nanoseconds(started) if started is not None else None,
        )
    finally:
        _forced_ids.reset(token)
    with trace.use_span(span, end_on_exit=True):
        yield span
