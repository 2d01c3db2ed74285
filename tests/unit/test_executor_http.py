"""How responses become results or classified failures, and secrets never leak."""

from __future__ import annotations

import httpx
import pytest

from flowbus_executor.executors.data import transform
from flowbus_executor.http import failure_for, redact, retry_after_seconds
from flowbus_shared.step_worker import StepFailure


def response(status: int, body: str = "", **headers: str) -> httpx.Response:
    return httpx.Response(status, text=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (429, "rate_limit", True),
        (500, "server_error", True),
        (503, "server_error", True),
        (400, "bad_request", False),
        (401, "unauthorized", False),
        (403, "forbidden", False),
        (404, "not_found", False),
        (409, "conflict", False),
        (422, "bad_request", False),
    ],
)
def test_statuses_are_classified(status: int, kind: str, retryable: bool) -> None:
    failure = failure_for(response(status, "nope"), service="acme")
    assert (failure.error_type, failure.retryable) == (kind, retryable)
    assert f"acme answered {status}" in failure.message or "rate-limited" in failure.message


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds(response(429, **{"retry-after": "7"})) == 7
    assert retry_after_seconds(response(429)) is None
    dated = retry_after_seconds(response(503, **{"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert dated == 0  # in the past: retry at once
    assert failure_for(response(429, **{"retry-after": "3"}), service="s").retry_after_seconds == 3


def test_secrets_are_scrubbed_from_error_text() -> None:
    failure = failure_for(
        response(401, 'bad token "sk-live-123456"'), service="s", secrets=["sk-live-123456"]
    )
    assert "sk-live-123456" not in failure.message
    assert "[redacted]" in failure.message
    assert redact("abc", ["ab"]) == "abc"  # too short to scrub safely


class TestDataTransformation:
    def test_jmespath_rename_defaults_cast_and_output(self) -> None:
        data = {"orders": [{"id": 1, "total": "10.5"}, {"id": 2, "total": "4"}], "customer": {"name": "Ada"}}
        result = transform(
            {
                "data": data,
                "pick": ["customer"],
                "expressions": {"ids": "orders[].id", "first_total": "orders[0].total"},
                "rename": {"customer": "buyer"},
                "defaults": {"currency": "EUR", "first_total": "0"},
                "cast": {"first_total": "float"},
                "output": {"source": "shop"},
            }
        )
        assert result == {
            "buyer": {"name": "Ada"},
            "ids": [1, 2],
            "first_total": 10.5,
            "currency": "EUR",
            "source": "shop",
        }

    @pytest.mark.parametrize(
        ("config", "kind"),
        [
            ({"data": {}, "expressions": {"x": "orders[?"}}, "invalid_config"),
            ({"data": {"a": 1}, "pick": ["b"]}, "invalid_input"),
            ({"data": {"n": "ten"}, "cast": {"n": "int"}}, "invalid_input"),
            ({"data": {}, "cast": {"n": "decimal"}}, "invalid_config"),
            ({"rename": ["a"]}, "invalid_config"),
        ],
    )
    def test_bad_configs_fail_permanently_with_a_reason(self, config: dict[str, object], kind: str) -> None:
        with pytest.raises(StepFailure) as raised:
            transform(config)
        assert raised.value.error_type == kind
        assert not raised.value.retryable
