"""Crash points for the exactly-once tests: a process SIGKILLs itself at a named point.

Off unless FLOWBUS_FAULT_INJECTION is set (`<point>:<n>`: the n-th time the
point is reached). SIGKILL, not an exception: nothing gets to clean up, as in
a real crash.
"""

from __future__ import annotations

import logging
import os
import signal


class FaultInjector:
    def __init__(self, spec: str | None) -> None:
        self._point: str | None = None
        self._remaining = 0
        if spec:
            point, _, count = spec.partition(":")
            self._point, self._remaining = point, int(count or "1")

    def armed(self, point: str) -> bool:
        return point == self._point and self._remaining > 0

    def reached(self, point: str) -> None:
        if point != self._point:
            return
        self._remaining -= 1
        if self._remaining == 0:
            logging.getLogger("flowbus.faults").warning("fault injection: SIGKILL at %s", point)
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)
