"""The orchestrator and step workers running in-process (memory bus, SQLite) run a workflow with a
retried step, and the orchestrator's GET /metrics, scraped over HTTP, shows the execution, the
step attempts and the retry; every metric the dashboards read is in that exposition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from flowbus_shared.schemas import StartExecution, StepRequest, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from flowbus_shared.topics import COMMANDS
from tests.support.system import TestSteps, running_system
from tests.unit.metrics.promql import dashboards, exported_names, expressions, metric_names

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(autouse=True)
def _orchestrator_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBUS_ORCHESTRATOR_HTTP_ENABLED", "true")
    monkeypatch.setenv("FLOWBUS_ORCHESTRATOR_HTTP_PORT", "0")
    monkeypatch.setenv("FLOWBUS_API_RATE_LIMIT_PER_SECOND", "0")


async def scrape(url: str) -> tuple[Samples, set[str]]:
    """Every sample of GET /metrics by (name, labels), and the sample names its families export."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    families = list(text_string_to_metric_families(answer.text))
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families
        for sample in family.samples
    }
    return samples, exported_names(families)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def flaky_api(request: StepRequest) -> dict[str, Any]:
    if request.attempt == 1:
        raise StepFailure("connection", "upstream reset the connection", retryable=True)
    return {"ok": True}


async def test_a_workflow_run_shows_in_the_scraped_metrics(
    memory_settings: FlowbusSettings, tmp_path: Path, topic_prefix: str
) -> None:
    settings = memory_settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'flowbus.db'}"}
    )
    workflow_id = f"metrics-{topic_prefix}"
    steps = TestSteps({"api_call": flaky_api})
    async with running_system(settings, steps, ["api_call", "slack_notification"]) as system:
        server = system.orchestrator.server
        assert server is not None, "the orchestrator serves no HTTP API"
        url = f"http://127.0.0.1:{server.port}"
        await system.register(
            {
                "id": workflow_id,
                "name": "metrics",
                "start_step_id": "notify",
                "steps": [
                    {"id": "notify", "type": "slack_notification", "config": {}, "next_steps": ["call"]},
                    {
                        "id": "call",
                        "type": "api_call",
                        "config": {},
                        "retry_policy": {"max_retries": 2, "initial_delay_seconds": 0},
                    },
                ],
            }
        )
        before, _ = await scrape(url)
        execution_id = new_id()
        await system.context.bus.publish(
            COMMANDS, StartExecution(execution_id=execution_id, workflow_id=workflow_id, input={})
        )
        await system.wait_for_status(execution_id, "completed")
        after, exported = await scrape(url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "flowbus_executions_started_total", workflow=workflow_id) == 1
    assert value(after, "flowbus_executions_completed_total", workflow=workflow_id) == 1
    assert value(after, "flowbus_executions_failed_total", workflow=workflow_id) == 0
    attempts = "flowbus_step_attempt_duration_seconds_count"
    assert delta(attempts, step_type="slack_notification", outcome="succeeded") == 1
    assert delta(attempts, step_type="api_call", outcome="failed") == 1
    assert delta(attempts, step_type="api_call", outcome="succeeded") == 1
    assert delta("flowbus_step_retries_scheduled_total", step_type="api_call") == 1
    # The histogram has its buckets; the +Inf one counts every attempt.
    inf = "flowbus_step_attempt_duration_seconds_bucket"
    assert delta(inf, step_type="api_call", outcome="succeeded", le="+Inf") == 1
    # The HTTP metrics of the same process are in the same exposition.
    assert any(name == "flowbus_http_requests_total" for name, _ in after)

    for board, data in dashboards().items():
        for query in expressions(data):
            missing = metric_names(query) - exported
            assert not missing, f"{board}: {query!r} reads {sorted(missing)}, not served at /metrics"
