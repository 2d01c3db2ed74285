"""Jaeger v2 on loopback for the end-to-end suite: one process as the trace store and query API
(in memory), one as the OpenTelemetry Collector running deploy/observability/otel-collector.yaml
(the configuration a deployment uses), exporting to the first. Built by `make jaeger`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.e2e_doubles import free_port

ROOT = Path(__file__).resolve().parents[2]
JAEGER = ROOT / ".local" / "bin" / "jaeger"
COLLECTOR_CONFIG = ROOT / "deploy" / "observability" / "otel-collector.yaml"

_STORE_CONFIG = """
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:{health}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{query}
    grpc:
      endpoint: 127.0.0.1:{query_grpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{otlp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


@dataclass
class Jaeger:
    query_url: str
    collector_grpc: str  # what services put in OTEL_EXPORTER_OTLP_ENDPOINT for OTLP/gRPC
    collector_http: str  # ... for OTLP/HTTP

    def exporting_env(self, protocol: str) -> dict[str, str]:
        """The standard OTEL_* variables that make a flowbus process export its spans here."""
        endpoint = self.collector_grpc if protocol == "grpc" else self.collector_http
        return {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # export soon after a span ends
        }

    async def trace(self, trace_id: str) -> dict[str, Any] | None:
        """The trace as Jaeger's query API returns it (`spans`, `processes`); None if unknown."""
        async with httpx.AsyncClient(base_url=self.query_url, timeout=10) as client:
            answer = await client.get(f"/api/traces/{trace_id}")
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        data = answer.json().get("data") or []
        return data[0] if data else None


def _start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(JAEGER), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            # Jaeger traces itself to localhost:4317 unless told not to.
            env={**os.environ, "OTEL_TRACES_EXPORTER": "none", **(env or {})},
        )


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def _healthy(port: int, process: subprocess.Popen[bytes], log: Path, within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"jaeger exited:\n{_tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/status")).status_code == 200:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"jaeger did not become healthy:\n{_tail(log)}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_jaeger(workdir: Path) -> AsyncIterator[Jaeger]:
    if not JAEGER.exists():
        raise AssertionError(f"{JAEGER} is missing: run `make jaeger` (make test does)")
    ports = {name: free_port() for name in ("health", "query", "query_grpc", "otlp")}
    config = workdir / "jaeger-store.yaml"
    config.write_text(_STORE_CONFIG.format(**ports))
    collector_ports = {name: free_port() for name in ("grpc", "http", "metrics", "health")}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        store_log = workdir / "jaeger-store.log"
        processes.append(_start([f"--config=file:{config}"], store_log))
        await _healthy(ports["health"], processes[-1], store_log)
        collector_log = workdir / "otel-collector.log"
        overrides = [
            f"--set=receivers.otlp.protocols.grpc.endpoint=127.0.0.1:{collector_ports['grpc']}",
            f"--set=receivers.otlp.protocols.http.endpoint=127.0.0.1:{collector_ports['http']}",
            f"--set=exporters.prometheus.endpoint=127.0.0.1:{collector_ports['metrics']}",
            f"--set=extensions.healthcheckv2.http.endpoint=127.0.0.1:{collector_ports['health']}",
            "--set=service.telemetry.metrics.level=none",
            "--set=processors.batch.timeout=200ms",
        ]
        processes.append(
            _start(
                [f"--config=file:{COLLECTOR_CONFIG}", *overrides],
                collector_log,
                env={"TRACES_OTLP_ENDPOINT": f"127.0.0.1:{ports['otlp']}"},
            )
        )
        await _healthy(collector_ports["health"], processes[-1], collector_log)
        yield Jaeger(
            query_url=f"http://127.0.0.1:{ports['query']}",
            collector_grpc=f"http://127.0.0.1:{collector_ports['grpc']}",
            collector_http=f"http://127.0.0.1:{collector_ports['http']}",
        )
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def span_tree_problems(trace: dict[str, Any]) -> Iterator[str]:
    """What breaks the one-connected-tree rule in a Jaeger trace: roots other than one, parents
    that are not in the trace."""
    ids = {span["spanID"] for span in trace["spans"]}
    roots = []
    for span in trace["spans"]:
        parents = [ref["spanID"] for ref in span.get("references", []) if ref["refType"] == "CHILD_OF"]
        if not parents:
            roots.append(span["operationName"])
        for parent in parents:
            if parent not in ids:
                yield f"{span['operationName']}: parent {parent} is not in the trace"
    if len(roots) != 1:
        yield f"{len(roots)} roots: {roots}"
