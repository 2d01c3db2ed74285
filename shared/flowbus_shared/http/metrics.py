"""Prometheus metrics of the HTTP APIs: requests and their duration per service, method,
route template and status.

The metrics are created once per process, at import (`flowbus dev` runs every service in
one process, and a metric registered twice is an error); each service's series carry its
name. Labels are bounded: a route is its template, never the raw path, and unknown
methods are counted as `OTHER`.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

_LABELS = ("service", "method", "route", "status")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# LLM completions and streams last seconds to minutes, health checks a millisecond.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

REQUESTS = Counter("flowbus_http_requests", "HTTP requests answered", _LABELS)
DURATION = Histogram(
    "flowbus_http_request_duration_seconds",
    "Time from a request's arrival to the last byte of its response",
    _LABELS,
    buckets=_BUCKETS,
)

# Looking a labelled child up in prometheus_client costs a lock and label checks; the
# combinations are few (templates x methods x statuses), so keep them.
_children: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}


def observe(service: str, method: str, route: str, status: int, seconds: float) -> None:
    key = (service, method if method in _METHODS else "OTHER", route, status)
    children = _children.get(key)
    if children is None:
        labels = (key[0], key[1], key[2], str(status))
        children = _children[key] = (REQUESTS.labels(*labels), DURATION.labels(*labels))
    children[0].inc()
    children[1].observe(seconds)


def exposition() -> tuple[bytes, str]:
    """Every metric of this process in Prometheus' text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
