"""Which topics and consumer groups each service's code uses, read from its source (AST).

A topic constant imported from `flowbus_shared.topics` is *read* where it is subscribed to
(`bus.subscribe(X, ...)`, or `StepWorker(queue=X)`) and *written* wherever else it is named
(`bus.publish(X, ...)`, an outbox's `settings.topic(X.suffix)`). Code shared by every service
adds what it does for them: a step worker writes step results, and every consumer may write
dead letters. Consumer groups are the `settings.group("<name>")` calls.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from flowbus_shared import topics
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import TopicSpec

REPO = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES: dict[str, Path] = {
    "orchestrator": REPO / "services/orchestrator/flowbus_orchestrator",
    "executor": REPO / "services/executor/flowbus_executor",
    "governance": REPO / "services/governance/flowbus_governance",
    "llm-gateway": REPO / "services/llm_gateway/flowbus_llm_gateway",
}


@dataclass
class TopicUsage:
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)


def _specs_named(name: str) -> list[TopicSpec]:
    """The catalogue specs a name of flowbus_shared.topics stands for (STEP_QUEUES: every queue)."""
    value = getattr(topics, name, None)
    if isinstance(value, TopicSpec):
        return [value]
    if isinstance(value, dict):
        return [spec for spec in value.values() if isinstance(spec, TopicSpec)]
    return []


def _imported_topic_names(tree: ast.Module) -> set[str]:
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "flowbus_shared.topics"
        for alias in node.names
    }


def _subscribed_expressions(tree: ast.Module) -> list[ast.expr]:
    """First arguments of `subscribe(...)` calls and values of `queue=` keywords."""
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "subscribe" and node.args:
            found.append(node.args[0])
        found.extend(keyword.value for keyword in node.keywords if keyword.arg == "queue")
    return found


def _names_settings(node: ast.expr) -> bool:
    """`settings`, `context.settings`, `self._settings`: the object whose group() names a consumer group."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name.lstrip("_") == "settings"


def _group_names(tree: ast.Module) -> set[str]:
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "group"
        and _names_settings(node.func.value)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def _suffixes(names: list[ast.Name], imported: set[str]) -> set[str]:
    return {spec.suffix for name in names if name.id in imported for spec in _specs_named(name.id)}


def topic_usage(service: str, settings: FlowbusSettings | None = None) -> TopicUsage:
    settings = settings or FlowbusSettings.model_construct()  # the defaults, not this shell's env
    usage = TopicUsage()
    runs_step_worker = False
    for path in sorted(SERVICE_PACKAGES[service].rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _imported_topic_names(tree)
        subscribed = _subscribed_expressions(tree)
        read_names = [node for expr in subscribed for node in ast.walk(expr) if isinstance(node, ast.Name)]
        read_ids = {id(node) for node in read_names}
        other_names = [
            node for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in read_ids
        ]
        usage.reads |= _suffixes(read_names, imported)
        usage.writes |= _suffixes(other_names, imported)
        runs_step_worker |= any(
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "StepWorker"
            for node in ast.walk(tree)
        )
        usage.groups |= {settings.group(name) for name in _group_names(tree)}
    if runs_step_worker:
        usage.writes.add(topics.STEP_RESULTS.suffix)  # flowbus_shared.step_worker publishes the outcome
    if usage.reads:
        usage.writes.add(topics.DEAD_LETTER.suffix)  # the bus dead-letters what a consumer cannot handle
    return usage
