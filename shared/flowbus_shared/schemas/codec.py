"""Encoding and strict decoding of wire messages.

A payload is accepted only whole: valid JSON, an object, a `type` this topic
carries, a `schema_version` this code understands (older layouts are
upcast), and every field valid. Anything else raises DecodeError with a
reason a person can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import pydantic_core
from pydantic import ValidationError

from flowbus_shared.schemas.base import Message

M = TypeVar("M", bound=Message)

# (type, from_version) -> function turning that layout into from_version + 1.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def register_upcaster(message_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def decorate(function: Upcaster) -> Upcaster:
        _UPCASTERS[(message_type, from_version)] = function
        return function

    return decorate


class DecodeError(ValueError):
    """A payload that is not a valid message; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(message: Message) -> bytes:
    return message.model_dump_json().encode()


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False)[:10]:
        location = ".".join(str(p) for p in item["loc"]) or "(message)"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts)


class Codec(Generic[M]):
    """Decodes the message types one topic carries."""

    def __init__(self, models: Iterable[type[M]]) -> None:
        self._models: dict[str, type[M]] = {}
        for model in models:
            type_name = model.model_fields["type"].default
            self._models[str(type_name)] = model
        if not self._models:
            raise ValueError("a codec needs at least one message type")

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self._models)

    def model(self, message_type: str) -> type[M]:
        return self._models[message_type]

    def decode(self, raw: bytes | str) -> M:
        try:
            data = pydantic_core.from_json(raw)
        except ValueError as error:
            raise DecodeError(f"payload is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise DecodeError(f"payload must be a JSON object, got {type(data).__name__}")
        return self.from_dict(data)

    def from_dict(self, data: dict[str, Any]) -> M:
        message_type = data.get("type")
        if message_type is None and len(self._models) == 1:
            # A topic with one message type lets plain producers omit it.
            message_type = next(iter(self._models))
            data = {**data, "type": message_type}
        if not isinstance(message_type, str) or message_type not in self._models:
            raise DecodeError(
                f"unknown message type {message_type!r}; this topic carries {', '.join(self._models)}"
            )
        model = self._models[message_type]
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise DecodeError(f"schema_version must be a positive integer, got {version!r}")
        if version > model.SCHEMA_VERSION:
            raise DecodeError(
                f"{message_type} schema_version {version} is newer than this service reads "
                f"(up to {model.SCHEMA_VERSION}); upgrade the consumer"
            )
        while version < model.SCHEMA_VERSION:
            upcast = _UPCASTERS.get((message_type, version))
            if upcast is None:
                raise DecodeError(f"{message_type} schema_version {version} can no longer be read")
            data = {**upcast(data), "schema_version": version + 1}
            version += 1
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise DecodeError(f"invalid {message_type}: {_describe(error)}") from None
