"""Exactly-once checks over execution logs and what the doubles received."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

from tests.support.e2e_doubles import Doubles, header
from tests.support.e2e_system import E2ESystem
from tests.support.http_double import HttpDouble


async def log_problems(system: E2ESystem, execution_ids: list[str]) -> list[str]:
    """Whatever breaks "once" in the logs: not exactly one completion, a step that succeeded twice,
    a step attempt scheduled twice."""
    problems = []
    for execution_id in execution_ids:
        events = await system.events(execution_id)
        kinds = Counter(kind for kind, _ in events)
        if kinds["execution.completed"] != 1 or kinds["execution.failed"] or kinds["execution.cancelled"]:
            problems.append(f"{execution_id}: ends {dict(kinds)}")
        succeeded = Counter(data["step_id"] for kind, data in events if kind == "step.succeeded")
        problems += [f"{execution_id}: {step} succeeded {n} times" for step, n in succeeded.items() if n > 1]
        scheduled = Counter((d["step_id"], d["attempt"]) for kind, d in events if kind == "step.scheduled")
        problems += [f"{execution_id}: {key} scheduled {n} times" for key, n in scheduled.items() if n > 1]
    return problems


def idempotent_creations(doubles: Doubles, path_prefix: str, execution_ids: list[str]) -> dict[str, int]:
    """Per execution, how many resources the key-honouring `/slow` API created (1 = exactly once)."""
    created = Counter(key.split(":")[0] for key in list(doubles.apis_state.created))
    calls = [r for r in list(doubles.apis.requests) if urlsplit(r.path).path.startswith(path_prefix)]
    keys = {header(r, "idempotency-key") for r in calls}
    assert None not in keys, "an api_call went out without its idempotency key"
    return {execution_id: created[execution_id] for execution_id in execution_ids}


def duplicated(counts: Counter[str], expected: list[str]) -> dict[str, int]:
    """Of `expected` (each should appear once), those seen more than once, and how often."""
    return {item: counts[item] for item in expected if counts[item] > 1}


def llm_calls_per_marker(llm: HttpDouble, markers: list[str]) -> Counter[str]:
    texts = [str(r.body) for r in list(llm.requests)]
    return Counter({marker: sum(marker in text for text in texts) for marker in markers})
