"""The bus contract, run against every backend (in-process and Kafka)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowbus_shared.bus import Delivery, KafkaBus, MemoryBus, MessageBus, ensure_topics
from flowbus_shared.schemas import DeadLetterRecord, StepResult, TriggerEvent
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import DEAD_LETTER, STEP_RESULTS, TRIGGERS
from tests.support.waiting import wait_until

BusFactory = Callable[[], MessageBus]


@pytest.fixture(params=["memory", "kafka"])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    settings: FlowbusSettings = request.getfixturevalue(f"{request.param}_settings")
    if request.param == "kafka":
        await ensure_topics(settings)
    made: list[MessageBus] = []

    def factory() -> MessageBus:
        bus: MessageBus = (
            KafkaBus(settings, client_name="contract") if request.param == "kafka" else MemoryBus(settings)
        )
        made.append(bus)
        return bus

    yield factory
    for bus in made:
        await bus.stop()


class Recorder:
    def __init__(self, fail_first: int = 0, fail_types: tuple[str, ...] = ()) -> None:
        self.seen: list[tuple[TriggerEvent, Delivery]] = []
        self._fail_first = fail_first
        self._fail_types = fail_types

    async def __call__(self, message: TriggerEvent, delivery: Delivery) -> None:
        self.seen.append((message, delivery))
        if message.event_type in self._fail_types or delivery.attempt <= self._fail_first:
            raise RuntimeError(f"refusing {message.event_type} on delivery {delivery.attempt}")

    def types(self) -> list[str]:
        return [message.event_type for message, _ in self.seen]


class DeadLetters:
    def __init__(self) -> None:
        self.records: list[DeadLetterRecord] = []

    async def __call__(self, record: DeadLetterRecord, _delivery: Delivery) -> None:
        self.records.append(record)


class TestDelivery:
    async def test_a_message_arrives_once_with_its_trace_context(
        self, make_bus: BusFactory, spans: InMemorySpanExporter
    ) -> None:
        bus = make_bus()
        recorder = Recorder()
        bus.subscribe(TRIGGERS, group="g", handler=recorder)
        await bus.start()
        sent = TriggerEvent(event_type="order.created", payload={"total": 12.5})
        await bus.publish(TRIGGERS, sent)
        await wait_until(lambda: len(recorder.seen) >= 1, message="the message")
        received, delivery = recorder.seen[0]
        assert received == sent
        assert delivery.key == sent.partition_key()
        send_span = next(s for s in spans.get_finished_spans() if s.name.startswith("send "))
        assert send_span.context is not None
        trace_id = f"{send_span.context.trace_id:032x}"
        assert delivery.headers["traceparent"].split("-")[1] == trace_id
        await wait_until(
            lambda: any(s.name.startswith("process ") for s in spans.get_finished_spans()),
            message="the consumer span",
        )
        process_span = next(s for s in spans.get_finished_spans() if s.name.startswith("process "))
        assert process_span.parent is not None
        assert process_span.parent.span_id == send_span.context.span_id
        # Current messaging conventions (FastStream's own middleware, not installed, records the key
        # as bytes, the old `messaging.operation`, no consumer group, and parents every later hop to
        # the first span of the chain; flowbus's spans do this instead).
        topic = process_span.name.removeprefix("process ")
        assert send_span.name == f"send {topic}"
        sent_attributes, processed = dict(send_span.attributes or {}), dict(process_span.attributes or {})
        assert sent_attributes["messaging.operation.type"] == "send"
        assert processed["messaging.operation.type"] == "process"
        assert processed["messaging.consumer.group.name"].endswith("g")  # type: ignore[union-attr]
        assert sent_attributes["messaging.kafka.message.key"] == sent.partition_key()
        assert processed["messaging.kafka.message.key"] == sent.partition_key()
        assert "messaging.operation" not in {**sent_attributes, **processed}
        # once: a later message arrives, and the first was not handed over again
        await bus.publish(TRIGGERS, TriggerEvent(event_type="marker"))
        await wait_until(lambda: "marker" in recorder.types(), message="the marker")
        assert recorder.types() == ["order.created", "marker"]

    async def test_messages_of_one_key_arrive_in_order(self, make_bus: BusFactory) -> None:
        bus = make_bus()
        recorder = Recorder()
        bus.subscribe(TRIGGERS, group="g", handler=recorder)
        await bus.start()
        keys = ["exec-a", "exec-b", "exec-c"]
        for n in range(30):
            key = keys[n % 3]
            await bus.publish(TRIGGERS, TriggerEvent(event_type=f"{key}/{n}"), key=key)
        await wait_until(lambda: len(recorder.seen) >= 30, message="30 messages")
        for key in keys:
            numbers = [int(t.split("/")[1]) for t in recorder.types() if t.startswith(key + "/")]
            assert numbers == sorted(numbers)
            assert len(numbers) == 10

    async def test_one_consumer_reads_several_topics(self, make_bus: BusFactory) -> None:
        bus = make_bus()
        seen: list[tuple[str, str]] = []

        async def record(message: Any, delivery: Delivery) -> None:
            seen.append((delivery.topic.rsplit(".", 1)[1], type(message).__name__))

        bus.subscribe([TRIGGERS, STEP_RESULTS], group="g", handler=record)
        await bus.start()
        await bus.publish(TRIGGERS, TriggerEvent(event_type="t"))
        await bus.publish(
            STEP_RESULTS, StepResult(execution_id="e", step_id="s", status="succeeded", output={"x": 1})
        )
        await wait_until(lambda: len(seen) == 2, message="one message from each topic")
        assert sorted(seen) == [("step-results", "StepResult"), ("triggers", "TriggerEvent")]


class TestFailures:
    async def test_a_failing_handler_gets_the_message_again(self, make_bus: BusFactory) -> None:
        bus = make_bus()
        recorder = Recorder(fail_first=1)
        bus.subscribe(TRIGGERS, group="g", handler=recorder)
        await bus.start()
        await bus.publish(TRIGGERS, TriggerEvent(event_type="flaky"))
        await wait_until(lambda: len(recorder.seen) >= 2, message="a redelivery")
        (first, first_delivery), (second, second_delivery) = recorder.seen[:2]
        assert first == second
        assert (first_delivery.offset, first_delivery.partition) == (
            second_delivery.offset,
            second_delivery.partition,
        )
        assert (first_delivery.attempt, second_delivery.attempt) == (1, 2)

    async def test_undecodable_messages_are_dead_lettered_and_the_consumer_goes_on(
        self, make_bus: BusFactory, topic_prefix: str
    ) -> None:
        bus = make_bus()
        recorder, dead = Recorder(), DeadLetters()
        bus.subscribe(TRIGGERS, group="g", handler=recorder)
        bus.subscribe(DEAD_LETTER, group="ops", handler=dead)
        await bus.start()
        topic = f"{topic_prefix}.triggers"
        key = "same-partition"
        await bus.publish_raw(topic, b"{not json", key=key)
        await bus.publish_raw(topic, json.dumps({"type": "trigger", "event_type": ""}).encode(), key=key)
        await bus.publish_raw(topic, json.dumps({"type": "surprise"}).encode(), key=key)
        await bus.publish(TRIGGERS, TriggerEvent(event_type="after"), key=key)
        await wait_until(lambda: "after" in recorder.types(), message="the valid message after the bad ones")
        await wait_until(lambda: len(dead.records) >= 3, message="three dead letters")
        reasons = sorted(record.reason for record in dead.records)
        assert any("not valid JSON" in reason for reason in reasons)
        assert any("event_type" in reason for reason in reasons)
        assert any("unknown message type 'surprise'" in reason for reason in reasons)
        assert all(record.error_type == "undecodable" for record in dead.records)
        assert all(record.source_topic == topic and record.consumer_group == "g" for record in dead.records)
        assert base64.b64decode(dead.records[0].payload_base64) in {
            b"{not json",
            b'{"type": "trigger", "event_type": ""}',
            b'{"type": "surprise"}',
        }
        assert recorder.types() == ["after"]

    async def test_a_poison_message_is_dead_lettered_after_the_last_delivery(
        self, make_bus: BusFactory
    ) -> None:
        bus = make_bus()
        recorder, dead = Recorder(fail_types=("poison",)), DeadLetters()
        bus.subscribe(TRIGGERS, group="g", handler=recorder)
        bus.subscribe(DEAD_LETTER, group="ops", handler=dead)
        await bus.start()
        await bus.publish(TRIGGERS, TriggerEvent(event_type="poison"), key="k")
        await bus.publish(TRIGGERS, TriggerEvent(event_type="healthy"), key="k")
        await wait_until(lambda: "healthy" in recorder.types(), message="the message behind the poison")
        await wait_until(lambda: len(dead.records) == 1, message="the dead letter")
        assert recorder.types() == ["poison", "poison", "poison", "healthy"]  # max_deliveries = 3
        record = dead.records[0]
        assert record.error_type == "handler-failed"
        assert record.delivery_attempts == 3
        assert "RuntimeError: refusing poison on delivery 3" in record.reason
        decoded: dict[str, Any] = json.loads(base64.b64decode(record.payload_base64))
        assert decoded["event_type"] == "poison"


class BatchRecorder:
    """A subscription that takes batches: records each call, and can refuse every batch."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.single = Recorder()
        self.batches: list[list[str]] = []
        self._refuse = refuse

    async def __call__(self, messages: Sequence[TriggerEvent], deliveries: Sequence[Delivery]) -> None:
        self.batches.append([m.event_type for m in messages])
        assert len({d.key for d in deliveries}) == 1  # one key per batch
        assert [d.offset for d in deliveries] == sorted(d.offset for d in deliveries)
        if self._refuse:
            raise RuntimeError("not as a batch")

    def handled(self) -> list[str]:
        together = [] if self._refuse else [t for batch in self.batches for t in batch]
        return together + self.single.types()


class TestBatches:
    async def test_messages_of_one_key_waiting_together_go_to_the_batch_handler_in_order(
        self, make_bus: BusFactory
    ) -> None:
        bus = make_bus()
        recorder = BatchRecorder()
        bus.subscribe(TRIGGERS, group="g", handler=recorder.single, batch_handler=recorder)
        # Published before the consumer starts: all of them wait together.
        for n in range(6):
            await bus.publish(TRIGGERS, TriggerEvent(event_type=f"k/{n}"), key="k")
        await bus.publish(TRIGGERS, TriggerEvent(event_type="other/0"), key="other")
        await bus.start()
        await wait_until(lambda: len(recorder.handled()) >= 7, message="seven messages")
        assert sorted(recorder.handled()) == sorted([f"k/{n}" for n in range(6)] + ["other/0"])
        assert [t for t in recorder.handled() if t.startswith("k/")] == [f"k/{n}" for n in range(6)]
        assert any(len(batch) > 1 for batch in recorder.batches)  # they went together
        assert all(len({t.split("/")[0] for t in batch}) == 1 for batch in recorder.batches)

    async def test_a_refused_batch_is_delivered_one_by_one_with_the_usual_dead_lettering(
        self, make_bus: BusFactory
    ) -> None:
        bus = make_bus()
        recorder, dead = BatchRecorder(refuse=True), DeadLetters()
        recorder.single = Recorder(fail_types=("poison",))
        bus.subscribe(TRIGGERS, group="g", handler=recorder.single, batch_handler=recorder)
        bus.subscribe(DEAD_LETTER, group="ops", handler=dead)
        for event_type in ("first", "poison", "last"):
            await bus.publish(TRIGGERS, TriggerEvent(event_type=event_type), key="k")
        await bus.start()
        await wait_until(lambda: "last" in recorder.single.types(), message="the message behind the poison")
        await wait_until(lambda: len(dead.records) == 1, message="the dead letter")
        assert recorder.batches  # offered together first
        assert recorder.batches[0][0] == "first"
        assert recorder.single.types() == ["first", "poison", "poison", "poison", "last"]
        assert dead.records[0].error_type == "handler-failed"
