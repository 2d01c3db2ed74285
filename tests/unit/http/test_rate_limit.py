"""The per-key token bucket, on a clock the test moves."""

from __future__ import annotations

import pytest

from flowbus_shared.http.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_key_may_use_its_burst_then_waits_for_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=2, burst=3, clock=clock)
    assert [limiter.retry_after("k") for _ in range(3)] == [None, None, None]
    assert limiter.retry_after("k") == pytest.approx(0.5)
    clock.now += 0.25
    assert limiter.retry_after("k") == pytest.approx(0.25)  # refused calls do not cost a token
    clock.now += 0.25
    assert limiter.retry_after("k") is None
    assert limiter.retry_after("k") == pytest.approx(0.5)


def test_an_idle_key_refills_up_to_its_burst_only() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=1, burst=2, clock=clock)
    assert limiter.retry_after("k") is None
    clock.now += 3600
    assert [limiter.retry_after("k") for _ in range(3)] == [None, None, pytest.approx(1.0)]


def test_keys_do_not_share_buckets() -> None:
    limiter = RateLimiter(per_second=1, burst=1, clock=Clock())
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") is not None
    assert limiter.retry_after("b") is None


def test_full_buckets_are_forgotten_when_there_are_many_keys() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=1, burst=1, clock=clock, max_keys=3)
    for key in ("a", "b", "c"):
        assert limiter.retry_after(key) is None
    clock.now += 0.5
    assert limiter.retry_after("d") is None  # a, b and c are half full: nothing to forget yet
    assert len(limiter) == 4
    clock.now += 0.5
    assert limiter.retry_after("e") is None  # a, b and c have refilled: forgotten
    assert len(limiter) == 2
    assert limiter.retry_after("d") is not None  # d, half full, was kept


@pytest.mark.parametrize(("per_second", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_a_limit_needs_a_positive_rate_and_burst(per_second: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        RateLimiter(per_second, burst)
