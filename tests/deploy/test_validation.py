"""Every overlay renders with kustomize and validates offline: built-in kinds against the Kubernetes
schemas (strict: unknown fields fail), the operators' kinds against tests/deploy/schemas/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.deploy.rendering import OVERLAYS, Manifest, render

# The oldest Kubernetes the manifests target (native preStop sleep is there from 1.30 on).
KUBERNETES_VERSION = "1.30.0"
SCHEMAS = Path(__file__).parent / "schemas"
OPERATOR_GROUPS = ("kafka.strimzi.io/", "postgresql.cnpg.io/", "keda.sh/")


@cache
def operator_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        properties = schema["properties"]
        schemas[(properties["apiVersion"]["const"], properties["kind"]["const"])] = schema
    return schemas


def operator_errors(manifest: Manifest) -> list[str]:
    schema = operator_schemas()[(manifest["apiVersion"], manifest["kind"])]
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_built_in_kinds_match_the_strict_kubernetes_schemas(overlay: str) -> None:
    built_in = [m for m in render(overlay) if not m["apiVersion"].startswith(OPERATOR_GROUPS)]
    assert {m["kind"] for m in built_in} >= {
        "Deployment",
        "Service",
        "ServiceAccount",
        "Job",
        "NetworkPolicy",
    }
    for manifest in built_in:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_operator_kinds_match_their_schemas(overlay: str) -> None:
    custom = [m for m in render(overlay) if m["apiVersion"].startswith(OPERATOR_GROUPS)]
    kinds = {(m["apiVersion"], m["kind"]) for m in custom}
    assert kinds == set(operator_schemas()), "every operator kind has a schema, every schema is used"
    failures = {f"{m['kind']}/{m['metadata']['name']}": operator_errors(m) for m in custom}
    assert {name: errors for name, errors in failures.items() if errors} == {}


def test_the_schemas_reject_what_the_operators_reject() -> None:
    # The schemas are strict enough to matter: a v1beta2-style ACL (`operation`), a string lag
    # threshold written as a number, and an unknown field all fail.
    user = next(m for m in render("dev") if m["kind"] == "KafkaUser")
    acl = user["spec"]["authorization"]["acls"][0]
    old_style = {
        **user,
        "spec": {
            **user["spec"],
            "authorization": {"type": "simple", "acls": [{"resource": acl["resource"], "operation": "Read"}]},
        },
    }
    assert operator_errors(old_style)
    scaled = next(m for m in render("dev") if m["kind"] == "ScaledObject")
    trigger = scaled["spec"]["triggers"][0]
    numeric = {
        **scaled,
        "spec": {
            **scaled["spec"],
            "triggers": [{**trigger, "metadata": {**trigger["metadata"], "lagThreshold": 20}}],
        },
    }
    assert operator_errors(numeric)
    cluster = next(m for m in render("dev") if m["kind"] == "Cluster")
    assert operator_errors({**cluster, "spec": {**cluster["spec"], "instance": 1}})
