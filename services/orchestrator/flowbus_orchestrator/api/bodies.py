"""Workflow definitions as request bodies: JSON, or YAML read safely (no Python objects, no
aliases, whose expansion could make a small body huge)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from flowbus_orchestrator.domain.validation import Fault
from flowbus_shared.http import ApiError

YAML_TYPES = frozenset({"application/yaml", "text/yaml", "application/x-yaml"})
JSON_TYPES = frozenset({"application/json"})

# How the OpenAPI document describes these bodies.
DEFINITION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a workflow definition, as JSON or YAML",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            **{media: {"schema": {"type": "string"}} for media in sorted(YAML_TYPES)},
        },
    }
}


@dataclass
class InvalidDefinition(Exception):
    """Answered as 422 with every fault."""

    faults: list[Fault]
    reason: str = "the definition is invalid"

    def __str__(self) -> str:
        return f"{self.reason}: " + "; ".join(str(fault) for fault in self.faults[:5])


class _NoAliases(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted", mark)
        return super().compose_node(parent, index)


def decode_definition(raw: bytes, content_type: str | None) -> Any:
    """The decoded body; 415 for another media type, 422 (InvalidDefinition) if unreadable."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if not raw.strip():
        raise InvalidDefinition([Fault("body", "the body is empty: send a workflow definition")])
    try:
        if media in YAML_TYPES:
            return yaml.load(raw.decode("utf-8"), Loader=_NoAliases)  # a SafeLoader
        if media in JSON_TYPES or media.endswith("+json"):
            return json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidDefinition([Fault("body", "the body is not UTF-8 text")]) from None
    except yaml.YAMLError as error:
        raise InvalidDefinition([Fault("body", f"not valid YAML: {_first_line(error)}")]) from None
    except (ValueError, RecursionError) as error:
        raise InvalidDefinition([Fault("body", f"not valid JSON: {_first_line(error)}")]) from None
    accepted = ", ".join(sorted(JSON_TYPES | YAML_TYPES))
    raise ApiError(415, f"send the definition as one of {accepted}, not {media!r}", code="unsupported_media")


def _first_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:300]
