"""Wire schemas: round-trips, versioning, and rejection of anything malformed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowbus_shared.schemas import (
    Codec,
    DecodeError,
    Message,
    StartExecution,
    StepError,
    StepRequest,
    StepResult,
    TriggerEvent,
    encode,
    register_upcaster,
)
from flowbus_shared.topics import ALL_TOPICS, COMMANDS, STEP_RESULTS, STEPS_EXECUTOR, TRIGGERS

names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.dictionaries(st.text(max_size=10), json_values, max_size=5)

triggers = st.builds(
    TriggerEvent,
    event_type=names,
    tenant_id=names,
    payload=payloads,
    idempotency_key=st.none() | names,
)
requests = st.builds(
    StepRequest,
    execution_id=names,
    workflow_id=names,
    step_id=names,
    step_type=names,
    attempt=st.integers(1, 50),
    config=payloads,
    timeout_seconds=st.floats(0.001, 3600),
)
errors = st.builds(StepError, error_type=names, message=st.text(max_size=100), retryable=st.booleans())
results = st.one_of(
    st.builds(
        StepResult,
        execution_id=names,
        step_id=names,
        status=st.just("succeeded"),
        output=payloads,
        confidence=st.none() | st.floats(0, 1),
    ),
    st.builds(StepResult, execution_id=names, step_id=names, status=st.just("failed"), error=errors),
)


def decode_or_reason(codec: Codec[Any], raw: bytes) -> tuple[Message | None, str]:
    """Exactly one of: a whole message, or a non-empty reason (never another exception)."""
    try:
        return codec.decode(raw), ""
    except DecodeError as error:
        return None, error.reason


@given(
    st.one_of(
        triggers.map(lambda m: (TRIGGERS, m)),
        requests.map(lambda m: (STEPS_EXECUTOR, m)),
        results.map(lambda m: (STEP_RESULTS, m)),
    )
)
def test_every_message_round_trips(case: tuple[Any, Message]) -> None:
    spec, message = case
    assert spec.codec.decode(encode(message)) == message


@given(payloads)
def test_arbitrary_objects_decode_whole_or_not_at_all(data: dict[str, Any]) -> None:
    raw = json.dumps(data).encode()
    for spec in ALL_TOPICS:
        decoded, reason = decode_or_reason(spec.codec, raw)
        assert isinstance(decoded, Message) or reason.strip()


@settings(max_examples=200)
@given(
    requests,
    st.sampled_from(["execution_id", "attempt", "config", "timeout_seconds", "step_id"]),
    json_values,
)
def test_a_field_of_the_wrong_shape_is_rejected_with_its_name(
    request: StepRequest, field: str, value: Any
) -> None:
    data = json.loads(encode(request))
    data[field] = value
    decoded, reason = decode_or_reason(STEPS_EXECUTOR.codec, json.dumps(data).encode())
    if decoded is None:
        assert field in reason
    else:  # the value happened to be valid for the field
        assert getattr(decoded, field) is not None


def test_unknown_fields_are_refused_not_dropped() -> None:
    data = json.loads(encode(TriggerEvent(event_type="x")))
    data["surprise"] = 1
    with pytest.raises(DecodeError, match="surprise"):
        TRIGGERS.codec.decode(json.dumps(data))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"type": "command.explode", "execution_id": "e"}', "unknown message type 'command.explode'"),
        (b'{"type": "command.start", "execution_id": "e"}', "workflow_id"),
        (
            b'{"type": "command.start", "execution_id": "e", "workflow_id": "w", "schema_version": "1"}',
            "schema_version must be a positive integer",
        ),
    ],
)
def test_malformed_commands_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        COMMANDS.codec.decode(raw)


def test_a_plain_producer_may_omit_type_on_a_single_type_topic() -> None:
    decoded = TRIGGERS.codec.decode(b'{"event_type": "order.created", "payload": {"id": 7}}')
    assert isinstance(decoded, TriggerEvent)
    assert decoded.payload == {"id": 7}


def test_a_newer_schema_version_is_refused_with_advice() -> None:
    data = json.loads(encode(StartExecution(execution_id="e", workflow_id="w")))
    data["schema_version"] = 2
    with pytest.raises(DecodeError, match="newer than this service reads"):
        COMMANDS.codec.decode(json.dumps(data))


def test_older_layouts_are_upcast() -> None:
    class Greeting(Message):
        SCHEMA_VERSION = 2
        type: str = "test.greeting"
        text: str

    @register_upcaster("test.greeting", 1)
    def rename(data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        data["text"] = data.pop("message")
        return data

    codec = Codec([Greeting])
    decoded = codec.decode(b'{"type": "test.greeting", "schema_version": 1, "message": "hi"}')
    assert decoded.text == "hi"
    assert decoded.schema_version == 2


def test_a_failed_result_must_carry_an_error() -> None:
    with pytest.raises(DecodeError, match="needs an error"):
        STEP_RESULTS.codec.decode(b'{"execution_id": "e", "step_id": "s", "status": "failed"}')


def test_idempotency_key_names_execution_step_and_attempt() -> None:
    request = StepRequest(
        execution_id="e1", workflow_id="w", step_id="send", step_type="email_send", attempt=3
    )
    assert request.idempotency_key == "e1:send:3"
