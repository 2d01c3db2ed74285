"""How long a checked credential is trusted without asking the database again.

Each cache entry remembers the process-wide generation it was made in; revoking a key or
user, or disabling a tenant, in this process starts a new generation, so the change holds
here at once. Other processes see it when their entries expire (`seconds`).
"""

from __future__ import annotations

import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_generation = [0]  # a list so the functions below can change it without `global`


def credentials_changed() -> None:
    """Forget every cached credential of this process (call after a revocation)."""
    _generation[0] += 1


class CredentialCache(Generic[K, V]):
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._entries: dict[K, tuple[float, int, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, generation, value = entry
        if expires <= time.monotonic() or generation != _generation[0]:
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        if self._seconds <= 0:
            return
        if len(self._entries) > 10_000:  # bounded: many distinct callers must not grow it forever
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._seconds, _generation[0], value)
