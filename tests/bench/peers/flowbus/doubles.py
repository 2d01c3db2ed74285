"""The loopback HTTP API the benchmark's `api_call` steps call, where a workload needs the step
itself to count, sleep, tell the time or fail: a real server (tests.support.http_double) in the
runner's process, which survives every SIGKILL of flowbus's processes.

Every call is counted under its `Idempotency-Key` header (`execution_id:step_id:attempt`, which the
executor sends with each api_call), so duplicates are read per attempt and per (execution, step).

Routes (POST): `/noop` answers `{n, at}` (a serial number: copied outputs are told apart from
re-run ones; `at`: wall-clock seconds when the step ran); `/sleep` the same after `sleep_seconds`;
`/flaky` the same, or 400 (a permanent error) while `failing` is set."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.support.e2e_doubles import Reply, header
from tests.support.http_double import HttpDouble, Recorded, http_double


@dataclass
class StepCounter:
    sleep_seconds: float = 0.0
    failing: bool = False
    calls: Counter[str] = field(default_factory=Counter)  # idempotency key -> calls received
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def respond(self, recorded: Recorded) -> Reply:
        path = urlsplit(recorded.path).path
        key = header(recorded, "idempotency-key") or "(none)"
        with self._lock:
            self.calls[key] += 1
            serial = next(self._serial)
        if path == "/sleep":
            time.sleep(self.sleep_seconds)  # the step's work (a thread per request: calls overlap)
        elif path == "/flaky" and self.failing:
            return 400, {"error": "failing on purpose (first run)"}
        elif path not in ("/noop", "/sleep", "/flaky"):
            return 404, {"error": f"no route {path}"}
        return 200, {"n": serial, "at": time.time()}

    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def per_step(self) -> Counter[tuple[str, str]]:
        """Calls per (execution, step), whatever the attempt."""
        counted: Counter[tuple[str, str]] = Counter()
        with self._lock:
            for key, calls in self.calls.items():
                execution_id, step_id, _attempt = [*key.split(":"), "", ""][:3]
                counted[(execution_id, step_id)] += calls
        return counted

    def steps_of(self, execution_id: str) -> dict[str, int]:
        return {
            step: calls for (execution, step), calls in self.per_step().items() if execution == execution_id
        }

    def duplicates(self) -> dict[str, int]:
        """Calls beyond one per idempotency key, and beyond one per (execution, step)."""
        with self._lock:
            per_key = sum(calls - 1 for calls in self.calls.values())
        per_step = sum(calls - 1 for calls in self.per_step().values())
        return {"per_idempotency_key": per_key, "per_execution_step": per_step}

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


@contextmanager
def step_counter() -> Iterator[tuple[HttpDouble, StepCounter]]:
    counter = StepCounter()
    with http_double(counter.respond) as double:
        yield double, counter


def output_at(output: dict[str, Any]) -> float:
    """The wall-clock time an api_call step to this double ran, from the step's output."""
    body = output.get("body") or {}
    return float(body["at"])
