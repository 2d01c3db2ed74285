"""The API documents published in docs/ are exactly what the code generates now, and they are
well-formed: the AsyncAPI document has a channel for every topic and a schema for every message,
and each OpenAPI document validates against the OpenAPI 3.1 schema with every reference resolving.

When the first test fails, regenerate with `flowbus docs write` (from the repository root)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from schemathesis.specs.openapi.definitions import OPENAPI_31
from typer.testing import CliRunner

from flowbus_cli.docs import (
    ASYNCAPI,
    OPENAPI,
    REGENERATE,
    app,
    asyncapi_text,
    default_settings,
    openapi_text,
    published_documents,
    stale_documents,
)
from flowbus_cli.services import SERVICE_MODULES
from flowbus_shared.topics import ALL_TOPICS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref}: only references inside the document are published"
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref} does not resolve"
        assert key in node, f"{ref} does not resolve"
        node = node[key]
    return node


def test_the_committed_documents_are_current() -> None:
    stale = stale_documents(DOCS, published_documents())
    assert not stale, (
        f"docs/ is stale ({', '.join(stale)}): run `{REGENERATE}` from the repository root and commit "
        "the result"
    )


def test_every_topic_has_a_channel_and_every_message_a_schema() -> None:
    document = yaml.safe_load(asyncapi_text())
    assert document["asyncapi"].startswith("3.")
    settings = default_settings()
    channels = {channel["address"]: channel for channel in document["channels"].values()}
    assert set(channels) == {settings.topic(spec.suffix) for spec in ALL_TOPICS}
    for spec in ALL_TOPICS:
        channel = channels[settings.topic(spec.suffix)]
        carried = {resolve(document, message["$ref"])["name"] for message in channel["messages"].values()}
        assert carried == {spec.codec.model(type_name).__name__ for type_name in spec.codec.types}, (
            spec.suffix
        )
    for name, message in document["components"]["messages"].items():
        schema = resolve(document, message["payload"]["$ref"])
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object", name
        assert {"type", "schema_version"} <= set(schema["properties"]), name
    for operation in document["operations"].values():
        assert operation["action"] in {"send", "receive"}
    for ref in refs(document):
        resolve(document, ref)


@pytest.mark.parametrize("service", list(SERVICE_MODULES))
def test_each_openapi_document_is_valid_openapi_3_1(service: str) -> None:
    document = json.loads(openapi_text(service))
    faults = [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in Draft202012Validator(OPENAPI_31).iter_errors(document)
    ]
    assert not faults, "\n".join(faults)
    assert document["info"]["title"] == f"flowbus {service}"
    for schema in document.get("components", {}).get("schemas", {}).values():
        Draft202012Validator.check_schema(schema)  # raises naming the fault
    for ref in refs(document):
        resolve(document, ref)
    operation_ids = [
        operation["operationId"] for path in document["paths"].values() for operation in path.values()
    ]
    assert len(operation_ids) == len(set(operation_ids)), "operation ids are not unique"
    assert any(path.startswith("/v1/") for path in document["paths"]), "no /v1 route published"


def test_the_check_names_stale_and_obsolete_files_and_write_mends_them(tmp_path: Path) -> None:
    runner = CliRunner()
    written = runner.invoke(app, ["write", "--directory", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert runner.invoke(app, ["write", "--check", "--directory", str(tmp_path)]).exit_code == 0

    (tmp_path / OPENAPI / "executor.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / OPENAPI / "retired.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / ASYNCAPI).unlink()
    checked = runner.invoke(app, ["write", "--check", "--directory", str(tmp_path)])
    assert checked.exit_code == 1
    for name in (f"{OPENAPI}/executor.json", f"{OPENAPI}/retired.json", ASYNCAPI):
        assert f"stale: {tmp_path / name}" in checked.output
    assert REGENERATE in checked.output

    mended = runner.invoke(app, ["write", "--directory", str(tmp_path)])
    assert mended.exit_code == 0, mended.output
    assert not (tmp_path / OPENAPI / "retired.json").exists()
    assert stale_documents(tmp_path) == []
