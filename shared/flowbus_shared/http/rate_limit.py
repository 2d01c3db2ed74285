"""Per-key rate limits: a token bucket per API key (or token subject), in this process.

Each key may make `burst` requests at once, then `per_second` on average. The buckets live
in the process, so each replica (and each service) counts on its own. Buckets that have
refilled are forgotten when there are many, so memory stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class RateLimiter:
    def __init__(
        self, per_second: float, burst: int, *, clock: Clock = time.monotonic, max_keys: int = 10_000
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def __len__(self) -> int:
        """How many keys have a bucket."""
        return len(self._buckets)

    def retry_after(self, key: str) -> float | None:
        """Take one request from `key`'s bucket: None if allowed, else seconds until it would be."""
        now = self._clock()
        tokens, then = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
        if tokens >= 1.0:
            if key not in self._buckets and len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.per_second

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: a fresh bucket would be the same."""
        self._buckets = {
            key: (tokens, then)
            for key, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self.per_second < self.burst
        }
