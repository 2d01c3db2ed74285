"""Kafka on Kubernetes matches the code: one KafkaTopic per catalogue topic, one KafkaUser per service
with ACLs on exactly what its code reads and writes, and KEDA scaling the step workers on lag."""

from __future__ import annotations

from typing import Any

import pytest

from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import ALL_TOPICS
from tests.deploy.code_topics import SERVICE_PACKAGES, topic_usage
from tests.deploy.rendering import OVERLAYS, Manifest, named, of_kind, render

DEFAULTS = FlowbusSettings.model_construct()
# Consumers that KEDA does not scale on lag, and why (the ScaledObjects' file says the same).
NOT_SCALED_ON_LAG = {
    "orchestrator": "its work follows executions, not queue depth; replicas are set per overlay",
    "governance": "permission checks are quick, so its lag stays near zero; replicas are set per overlay",
}


def settings_of(overlay: str) -> dict[str, str]:
    data: dict[str, str] = named(render(overlay), "ConfigMap", "flowbus-settings")["data"]
    return data


def acl_topics(user: Manifest, operation: str) -> set[str]:
    return {
        acl["resource"]["name"].removeprefix(f"{DEFAULTS.topic_prefix}.")
        for acl in user["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "topic" and operation in acl["operations"]
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_kafka_topic_for_every_catalogue_topic(overlay: str) -> None:
    settings = settings_of(overlay)
    topics = of_kind(render(overlay), "KafkaTopic")
    assert sorted(t["spec"]["topicName"] for t in topics) == sorted(
        DEFAULTS.topic(spec.suffix) for spec in ALL_TOPICS
    )
    for topic in topics:
        spec = topic["spec"]
        assert topic["metadata"]["name"] == spec["topicName"]
        # `flowbus topics create` (the migration Job) would create them exactly so.
        assert spec["partitions"] == int(settings["FLOWBUS_TOPIC_PARTITIONS"])
        assert spec["replicas"] == int(settings["FLOWBUS_TOPIC_REPLICATION_FACTOR"])
        min_insync = spec["config"]["min.insync.replicas"]
        assert min_insync == (2 if spec["replicas"] >= 3 else 1)


def test_the_base_partition_count_is_the_settings_default() -> None:
    assert int(settings_of("dev")["FLOWBUS_TOPIC_PARTITIONS"]) == DEFAULTS.topic_partitions


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", sorted(SERVICE_PACKAGES))
def test_each_service_user_may_use_exactly_what_its_code_uses(overlay: str, service: str) -> None:
    manifests = render(overlay)
    user = named(manifests, "KafkaUser", f"flowbus-{service}")
    usage = topic_usage(service)
    acls: list[dict[str, Any]] = user["spec"]["authorization"]["acls"]
    assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
    assert all(acl["resource"]["patternType"] == "literal" for acl in acls)
    assert {acl["resource"]["type"] for acl in acls} == {"topic", "group"}
    assert all(set(acl["operations"]) <= {"Read", "Write"} for acl in acls)
    assert acl_topics(user, "Read") == usage.reads
    assert acl_topics(user, "Write") == usage.writes
    groups = {
        acl["resource"]["name"]: acl["operations"] for acl in acls if acl["resource"]["type"] == "group"
    }
    assert groups == {group: ["Read"] for group in usage.groups}
    assert len(groups) == 1
    # The service signs in as this user; Strimzi keeps its password in a Secret of the same name.
    (container,) = named(manifests, "Deployment", f"flowbus-{service}")["spec"]["template"]["spec"][
        "containers"
    ]
    env = {variable["name"]: variable for variable in container["env"]}
    assert env["FLOWBUS_KAFKA_SASL_USERNAME"]["value"] == user["metadata"]["name"]
    password = env["FLOWBUS_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert password == {"name": user["metadata"]["name"], "key": "password"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_services_and_the_migration_have_users(overlay: str) -> None:
    users = {u["metadata"]["name"]: u for u in of_kind(render(overlay), "KafkaUser")}
    assert set(users) == {f"flowbus-{service}" for service in SERVICE_PACKAGES} | {"flowbus-migrate"}
    (migrate_acl,) = users["flowbus-migrate"]["spec"]["authorization"]["acls"]
    assert migrate_acl["resource"] == {
        "type": "topic",
        "name": f"{DEFAULTS.topic_prefix}.",
        "patternType": "prefix",
    }
    assert sorted(migrate_acl["operations"]) == ["Create", "Describe"]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", sorted(SERVICE_PACKAGES))
def test_every_consumer_scales_on_lag_or_says_why_not(overlay: str, service: str) -> None:
    manifests = render(overlay)
    usage = topic_usage(service)
    assert usage.reads, f"{service} consumes"
    scaled = [
        s
        for s in of_kind(manifests, "ScaledObject")
        if s["spec"]["scaleTargetRef"]["name"] == f"flowbus-{service}"
    ]
    if service in NOT_SCALED_ON_LAG:
        assert scaled == []
        return
    (scaled_object,) = scaled
    spec = scaled_object["spec"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "kafka"
    (topic,) = usage.reads
    (group,) = usage.groups
    assert trigger["metadata"]["topic"] == DEFAULTS.topic(topic)
    assert trigger["metadata"]["consumerGroup"] == group
    assert trigger["metadata"]["bootstrapServers"] == settings_of(overlay)["FLOWBUS_KAFKA_BOOTSTRAP_SERVERS"]
    partitions = int(settings_of(overlay)["FLOWBUS_TOPIC_PARTITIONS"])
    assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"] <= partitions
    scale_down = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    assert scale_down["stabilizationWindowSeconds"] >= 300
    # KEDA owns the replica count: the Deployment must not name one for `kubectl apply` to reset.
    assert "replicas" not in named(manifests, "Deployment", f"flowbus-{service}")["spec"]
    authentication = named(manifests, "TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]
    assert authentication["secretTargetRef"] == [
        {"parameter": "password", "name": f"flowbus-{service}", "key": "password"}
    ]
