"""The rules every workload follows: probes, resources, a disruption budget, a locked-down security
context, graceful shutdown, static membership, pinned images, no committed secrets, closed network."""

from __future__ import annotations

from typing import Any

import pytest

from flowbus_shared.settings import FlowbusSettings
from tests.deploy.code_topics import SERVICE_PACKAGES
from tests.deploy.rendering import K8S, OVERLAYS, Manifest, named, of_kind, render

# README "Configuration": each service's HTTP port and the setting that opens it beyond loopback.
HTTP = {
    "orchestrator": (8300, "FLOWBUS_ORCHESTRATOR_HTTP_HOST"),
    "executor": (8600, "FLOWBUS_EXECUTOR_HTTP_HOST"),
    "governance": (8500, "FLOWBUS_GOVERNANCE_HTTP_HOST"),
    "llm-gateway": (8400, "FLOWBUS_LLM_HTTP_HOST"),
}
# The longest an in-flight message may take to finish after SIGTERM (the drain): a provider call
# (FLOWBUS_REQUEST_TIMEOUT_SECONDS, 120 s), an outbound HTTP call (FLOWBUS_HTTP_TIMEOUT_SECONDS, 30 s).
DRAIN_SECONDS = {"orchestrator": 30, "executor": 30, "governance": 30, "llm-gateway": 120}
INTERNET = {"executor", "llm-gateway"}  # integrations and model providers


def deployment(overlay: str, service: str) -> Manifest:
    return named(render(overlay), "Deployment", f"flowbus-{service}")


def pod_specs(manifests: tuple[Manifest, ...]) -> list[dict[str, Any]]:
    return [m["spec"]["template"]["spec"] for m in manifests if m["kind"] in ("Deployment", "Job")]


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels", "matchExpressions"}
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_deployment_per_service_running_it(overlay: str) -> None:
    assert {m["metadata"]["name"] for m in of_kind(render(overlay), "Deployment")} == {
        f"flowbus-{service}" for service in SERVICE_PACKAGES
    }
    for service in SERVICE_PACKAGES:
        (container,) = deployment(overlay, service)["spec"]["template"]["spec"]["containers"]
        assert container["args"] == [service]
        assert "command" not in container


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", sorted(SERVICE_PACKAGES))
def test_probes_resources_and_port(overlay: str, service: str) -> None:
    manifests = render(overlay)
    (container,) = deployment(overlay, service)["spec"]["template"]["spec"]["containers"]
    port, host_setting = HTTP[service]
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    settings = named(manifests, "ConfigMap", "flowbus-settings")["data"]
    assert settings[host_setting] == "0.0.0.0"
    service_ports = named(manifests, "Service", f"flowbus-{service}")["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in service_ports] == [(port, "http")]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", sorted(SERVICE_PACKAGES))
def test_a_disruption_budget_covers_every_deployment(overlay: str, service: str) -> None:
    labels = deployment(overlay, service)["spec"]["template"]["metadata"]["labels"]
    budgets = [
        p for p in of_kind(render(overlay), "PodDisruptionBudget") if matches(p["spec"]["selector"], labels)
    ]
    assert len(budgets) == 1
    assert budgets[0]["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_as_non_root_with_a_read_only_root_and_no_capabilities(overlay: str) -> None:
    for spec in pod_specs(render(overlay)):
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec["automountServiceAccountToken"] is False
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }


@pytest.mark.parametrize("service", sorted(SERVICE_PACKAGES))
def test_shutdown_outlasts_the_drain_and_membership_is_static(service: str) -> None:
    spec = deployment("prod", service)["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] > DRAIN_SECONDS[service] + 5  # + the preStop pause
    (container,) = spec["containers"]
    env = {variable["name"]: variable for variable in container["env"]}
    assert env["FLOWBUS_KAFKA_INSTANCE_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_bare_names_with_a_pinned_tag(overlay: str) -> None:
    for spec in pod_specs(render(overlay)):
        for container in spec.get("initContainers", []) + spec["containers"]:
            name, _, tag = container["image"].partition(":")
            assert name == "flowbus", "no registry host: the operator's overlay names its registry"
            assert tag
            assert tag != "latest"
    for path in [*K8S.rglob("*.yaml"), K8S.parents[1] / "Dockerfile"]:
        text = path.read_text(encoding="utf-8")
        for forbidden in (":latest", "docker.io", "quay.io", "ghcr.io", "gcr.io"):
            assert forbidden not in text, f"{path}: {forbidden}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_values_are_committed(overlay: str) -> None:
    manifests = render(overlay)
    assert of_kind(manifests, "Secret") == []
    allowed = {"flowbus-secrets", "flowbus-db-app"} | {
        u["metadata"]["name"] for u in of_kind(manifests, "KafkaUser")
    }
    for spec in pod_specs(manifests):
        for container in spec.get("initContainers", []) + spec["containers"]:
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                assert reference is None or reference["name"] in allowed
                secret_like = any(word in variable["name"] for word in ("PASSWORD", "SECRET", "KEY"))
                assert not (secret_like and "value" in variable), variable["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_settings_match_the_catalogue_defaults(overlay: str) -> None:
    settings = named(render(overlay), "ConfigMap", "flowbus-settings")["data"]
    defaults = FlowbusSettings.model_construct()
    assert settings["FLOWBUS_TOPIC_PREFIX"] == defaults.topic_prefix
    assert settings["FLOWBUS_CONSUMER_GROUP_PREFIX"] == defaults.consumer_group_prefix
    assert settings["FLOWBUS_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert ":" not in settings["FLOWBUS_DATABASE_URL"].split("//")[1].split("@")[0], "no password in the URL"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_upgrades_the_database_then_creates_topics(overlay: str) -> None:
    job = named(render(overlay), "Job", "flowbus-migrate")["spec"]["template"]["spec"]
    (upgrade,) = job["initContainers"]
    (topics,) = job["containers"]
    assert (upgrade["command"], upgrade["args"]) == (["flowbus"], ["db", "upgrade"])
    assert (topics["command"], topics["args"]) == (["flowbus"], ["topics", "create"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_is_denied_by_default_and_opened_only_where_needed(overlay: str) -> None:
    manifests = render(overlay)
    policies = of_kind(manifests, "NetworkPolicy")
    deny = named(manifests, "NetworkPolicy", "flowbus-default-deny")["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny
    for spec_owner in [*of_kind(manifests, "Deployment"), *of_kind(manifests, "Job")]:
        labels = spec_owner["spec"]["template"]["metadata"]["labels"]
        applying = [p["metadata"]["name"] for p in policies if matches(p["spec"]["podSelector"], labels)]
        assert "flowbus-default-deny" in applying
        assert "flowbus-egress-dns" in applying
        assert {"flowbus-egress-kafka", "flowbus-egress-database", "flowbus-egress-traces"} <= set(applying)
        service = spec_owner["metadata"]["name"].removeprefix("flowbus-")
        assert ("flowbus-egress-internet" in applying) == (service in INTERNET), service


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_exports_traces_to_the_collector_it_may_reach(overlay: str) -> None:
    manifests = render(overlay)
    settings = named(manifests, "ConfigMap", "flowbus-settings")["data"]
    endpoint = settings["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint.startswith("http://otel-collector.observability")
    assert endpoint.endswith(":4317")
    assert settings["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert settings["OTEL_TRACES_SAMPLER"].startswith("parentbased_")
    traces = named(manifests, "NetworkPolicy", "flowbus-egress-traces")["spec"]["egress"]
    assert {port["port"] for rule in traces for port in rule["ports"]} == {4317, 4318}
