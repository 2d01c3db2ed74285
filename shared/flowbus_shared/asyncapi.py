"""An AsyncAPI 3.0 document of every topic and message, built from the catalogue and the
pydantic schemas themselves, so it cannot drift from what the services accept."""

from __future__ import annotations

from typing import Any

from flowbus_shared import __version__
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import ALL_TOPICS


def _message_name(model: type[Any]) -> str:
    return str(model.__name__)


def asyncapi_document(settings: FlowbusSettings) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for spec in ALL_TOPICS:
        channel_id = spec.suffix.replace(".", "_").replace("-", "_")
        channel_messages: dict[str, Any] = {}
        for type_name in spec.codec.types:
            model = spec.codec.model(type_name)
            name = _message_name(model)
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for nested_name, nested in schema.pop("$defs", {}).items():
                schemas[nested_name] = nested
            schemas[name] = schema
            messages[name] = {
                "name": name,
                "title": type_name,
                "contentType": "application/json",
                "summary": (model.__doc__ or "").strip().split("\n")[0],
                "payload": {"$ref": f"#/components/schemas/{name}"},
                "bindings": {"kafka": {"key": {"type": "string", "description": spec.key}}},
            }
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channels[channel_id] = {
            "address": settings.topic(spec.suffix),
            "description": f"{spec.description} Produced by {', '.join(spec.producers)}; "
            f"consumed by {', '.join(spec.consumers)}.",
            "messages": channel_messages,
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
        }
        operations[f"consume_{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "flowbus",
            "version": __version__,
            "description": "Kafka topics of flowbus. Every message is JSON, keyed by execution id (step "
            "requests by execution and step, LLM tokens by request), and carries "
            "`type` and `schema_version`; unknown fields are refused.",
        },
        "servers": {
            "kafka": {
                "host": settings.kafka_bootstrap_servers,
                "protocol": "kafka",
                "description": "the brokers",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
