"""deploy/observability holds together: every dashboard query names only metrics flowbus exports,
and the collector configuration is YAML with its pipelines wired to components it defines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import flowbus_shared.http.metrics
import flowbus_shared.metrics
from tests.unit.metrics.promql import dashboards, exported_names, expressions, metric_names

OBSERVABILITY = Path(__file__).resolve().parents[3] / "deploy" / "observability"
EXPECTED_DASHBOARDS = {"overview.json", "workflow.json", "llm-spend.json", "governance.json"}


def flowbus_exports() -> set[str]:
    return {name for name in exported_names(REGISTRY.collect()) if name.startswith("flowbus_")}


def test_the_four_dashboards_are_there_with_unique_ids() -> None:
    boards = dashboards()
    assert set(boards) == EXPECTED_DASHBOARDS
    assert len({board["uid"] for board in boards.values()}) == len(boards)


@pytest.mark.parametrize("name", sorted(EXPECTED_DASHBOARDS))
def test_every_dashboard_query_names_only_exported_metrics(name: str) -> None:
    exported = flowbus_exports()
    assert flowbus_shared.http.metrics.REQUESTS._name + "_total" in exported
    queries = list(expressions(dashboards()[name]))
    assert queries
    for query in queries:
        used = metric_names(query)
        assert used, f"{name}: {query!r} reads no metric"
        assert used <= exported, f"{name}: {query!r} names {sorted(used - exported)}, not exported"


def test_the_workflow_dashboard_has_a_workflow_variable_that_filters_its_execution_panels() -> None:
    board = dashboards()["workflow.json"]
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert "flowbus_executions_started_total" in variables["workflow"]["query"]["query"]
    execution_queries = [query for query in expressions(board) if "flowbus_executions_" in query]
    assert execution_queries
    assert all('workflow="$workflow"' in query for query in execution_queries if "label_values" not in query)


def test_the_name_check_would_catch_a_metric_that_does_not_exist() -> None:
    assert metric_names('sum by (le) (rate(flowbus_made_up_seconds_bucket{step_type=~"$t"}[5m]))') == {
        "flowbus_made_up_seconds_bucket"
    }
    assert "flowbus_made_up_seconds_bucket" not in flowbus_exports()
    assert metric_names("label_values(flowbus_executions_started_total, workflow)") == {
        "flowbus_executions_started_total"
    }


def collector() -> dict[str, Any]:
    loaded = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_collector_pipelines_use_only_components_it_defines() -> None:
    config = collector()
    pipelines = config["service"]["pipelines"]
    connectors = set(config.get("connectors", {}))
    for name, pipeline in pipelines.items():
        assert pipeline["receivers"], name
        assert pipeline["exporters"], name
        for receiver in pipeline["receivers"]:
            assert receiver in config["receivers"] or receiver in connectors, (name, receiver)
        for processor in pipeline.get("processors", []):
            assert processor in config["processors"], (name, processor)
        for exporter in pipeline["exporters"]:
            assert exporter in config["exporters"] or exporter in connectors, (name, exporter)
    for extension in config["service"].get("extensions", []):
        assert extension in config["extensions"]


def test_collector_takes_otlp_over_grpc_and_http_batches_and_feeds_traces_and_span_metrics() -> None:
    config = collector()
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert "batch" in traces["processors"]
    assert any(exporter.startswith("otlp") for exporter in traces["exporters"])
    # spanmetrics is a connector: the traces pipeline exports into it, a metrics pipeline reads it.
    assert "spanmetrics" in traces["exporters"]
    readers = [
        name
        for name, pipeline in config["service"]["pipelines"].items()
        if name.split("/")[0] == "metrics" and "spanmetrics" in pipeline["receivers"]
    ]
    assert readers


def test_prometheus_scrapes_the_four_services_metrics_endpoints() -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    flowbus = next(job for job in config["scrape_configs"] if job["job_name"] == "flowbus")
    assert flowbus["metrics_path"] == "/metrics"
    services = {group["labels"]["flowbus_service"] for group in flowbus["static_configs"]}
    assert services == {"orchestrator", "executor", "governance", "llm-gateway"}


def test_grafana_provisioning_points_at_the_dashboards() -> None:
    provisioning = OBSERVABILITY / "grafana" / "provisioning"
    providers = yaml.safe_load((provisioning / "dashboards" / "dashboards.yaml").read_text())["providers"]
    assert providers[0]["type"] == "file"
    datasources = yaml.safe_load((provisioning / "datasources" / "datasources.yaml").read_text())[
        "datasources"
    ]
    assert {source["type"] for source in datasources} >= {"prometheus"}
