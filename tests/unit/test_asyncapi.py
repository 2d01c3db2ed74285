"""The AsyncAPI document covers every topic and message, and its references resolve."""

from __future__ import annotations

import json
from typing import Any

from flowbus_shared.asyncapi import asyncapi_document
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import ALL_TOPICS


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_topic_and_message_is_documented_and_every_reference_resolves() -> None:
    document = asyncapi_document(FlowbusSettings(topic_prefix="acme"))
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {f"acme.{spec.suffix}" for spec in ALL_TOPICS}
    for spec in ALL_TOPICS:
        for type_name in spec.codec.types:
            assert spec.codec.model(type_name).__name__ in document["components"]["messages"]
    for ref in refs(document):
        assert resolve(document, ref) is not None, ref
    json.dumps(document)  # plain data throughout
    trigger = document["components"]["schemas"]["TriggerEvent"]
    assert "event_type" in trigger["required"]
