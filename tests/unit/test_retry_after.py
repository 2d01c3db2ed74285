"""Retry-After, read one way for every executor and provider adapter."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from flowbus_executor.http import failure_for
from flowbus_shared.retry_after import retry_after_seconds


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "soon"}, None),  # malformed: no advice, and no exception
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past: now
        ({}, None),
    ],
)
def test_forms(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_a_date_in_the_future() -> None:
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    waited = retry_after_seconds({"retry-after": later})
    assert waited is not None
    assert 55 <= waited <= 60


def test_a_malformed_header_still_gives_a_classified_failure() -> None:
    failure = failure_for(httpx.Response(429, headers={"retry-after": "soon"}), service="acme")
    assert (failure.error_type, failure.retryable, failure.retry_after_seconds) == ("rate_limit", True, None)
