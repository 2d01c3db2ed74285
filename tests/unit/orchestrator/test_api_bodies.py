"""Reading definitions from request bodies, and page cursors."""

from __future__ import annotations

import pytest

from flowbus_orchestrator.api.bodies import InvalidDefinition, decode_definition
from flowbus_orchestrator.api.cursors import decode_cursor, encode_cursor
from flowbus_shared.http import ApiError


def test_json_and_every_yaml_media_type_are_read() -> None:
    assert decode_definition(b'{"id": "a"}', "application/json; charset=utf-8") == {"id": "a"}
    assert decode_definition(b'{"id": "a"}', None) == {"id": "a"}
    for media in ("application/yaml", "text/yaml", "application/x-yaml"):
        assert decode_definition(b"id: a\nsteps: {s: {type: delay}}\n", media) == {
            "id": "a",
            "steps": {"s": {"type": "delay"}},
        }


@pytest.mark.parametrize(
    ("raw", "media", "reason"),
    [
        (b"", "application/json", "empty"),
        (b"{nope", "application/json", "not valid JSON"),
        (b"a: [1", "application/yaml", "not valid YAML"),
        (b"a: &x [1]\nb: *x\n", "application/yaml", "aliases"),
        (b"!!python/object/apply:os.system ['true']", "application/yaml", "not valid YAML"),
        (b"id: \xff\xfe", "application/yaml", "UTF-8"),
        (b"[" * 100_000, "application/json", "not valid JSON"),
    ],
)
def test_unreadable_bodies_are_faults(raw: bytes, media: str, reason: str) -> None:
    with pytest.raises(InvalidDefinition) as raised:
        decode_definition(raw, media)
    [fault] = raised.value.faults
    assert fault.path == "body"
    assert reason in fault.message


def test_other_media_types_are_refused() -> None:
    with pytest.raises(ApiError) as raised:
        decode_definition(b"<a/>", "application/xml")
    assert raised.value.status == 415


def test_cursors_round_trip_and_refuse_anything_else() -> None:
    cursor = encode_cursor("executions", ["2026-01-01T00:00:00+00:00", "abc"])
    assert decode_cursor("executions", cursor, 2) == ["2026-01-01T00:00:00+00:00", "abc"]
    for bad in ("", "%%%", encode_cursor("workflows", ["x"]), encode_cursor("executions", ["only one"])):
        with pytest.raises(ApiError) as raised:
            decode_cursor("executions", bad, 2)
        assert raised.value.status == 422
