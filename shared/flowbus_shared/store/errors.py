"""Errors the event store raises."""

from __future__ import annotations


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream first; reload and decide again."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None) -> None:
        found = "unknown" if actual_version is None else str(actual_version)
        super().__init__(f"stream {stream_id!r} is at version {found}, expected {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class AlreadyProcessed(Exception):
    """The message that caused this append was already handled by this consumer."""

    def __init__(self, consumer: str, message_id: str) -> None:
        super().__init__(f"message {message_id!r} was already processed by {consumer!r}")
        self.consumer = consumer
        self.message_id = message_id
