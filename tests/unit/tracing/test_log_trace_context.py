"""Log records written inside a span carry its trace and span ids; the CLI's log lines show them."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

from flowbus_shared.telemetry import LOG_FORMAT, TraceContextFilter, tracer


def test_records_inside_a_span_carry_its_ids(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(TraceContextFilter())
    caplog.set_level(logging.INFO, logger="flowbus.test")
    log = logging.getLogger("flowbus.test")
    with tracer().start_as_current_span("step api_call") as span:
        log.info("inside")
    log.info("outside")

    inside, outside = caplog.records
    context = span.get_span_context()
    trace_id, span_id = inside.__dict__["trace_id"], inside.__dict__["span_id"]
    assert trace_id == f"{context.trace_id:032x}"
    assert span_id == f"{context.span_id:016x}"
    assert [outside.__dict__[name] for name in ("trace_id", "span_id", "trace_context")] == ["", "", ""]

    formatter = logging.Formatter(LOG_FORMAT)
    assert f"flowbus.test trace_id={trace_id} span_id={span_id}: inside" in formatter.format(inside)
    assert formatter.format(outside).endswith("INFO flowbus.test: outside")


def test_the_cli_log_format_prints_the_ids_when_present() -> None:
    script = textwrap.dedent(
        """
        import logging
        from flowbus_cli.main import _configure_logging
        from flowbus_shared.settings import FlowbusSettings
        from flowbus_shared.telemetry import configure_tracing, tracer

        configure_tracing("cli-log-test")
        _configure_logging(FlowbusSettings(log_level="info"))
        log = logging.getLogger("flowbus.cli-test")
        with tracer().start_as_current_span("work") as span:
            ids = span.get_span_context()
            print(f"{ids.trace_id:032x} {ids.span_id:016x}", flush=True)
            log.info("inside")
        log.info("outside")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"OTEL_TRACES_EXPORTER": "none", "PATH": ""},
    )
    trace_id, span_id = done.stdout.split()
    lines = done.stderr.strip().splitlines()
    assert lines[-2].endswith(f"INFO flowbus.cli-test trace_id={trace_id} span_id={span_id}: inside")
    assert lines[-1].endswith("INFO flowbus.cli-test: outside")
