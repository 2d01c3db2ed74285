"""Workflow definitions per tenant, on SQLite and PostgreSQL: built-ins seen by every tenant, a
tenant's own workflow shadowing a built-in for that tenant only, per-tenant versions, the
trigger index and the listing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_shared.store import SqlEventStore, open_store


@pytest.fixture
async def repository(database_url: str) -> AsyncIterator[DefinitionRepository]:
    store: SqlEventStore = await open_store(database_url)
    yield DefinitionRepository(store.engine)
    await store.close()


def workflow(workflow_id: str, note: str, triggers: list[str]) -> Any:
    return parse_definition(
        {
            "id": workflow_id,
            "name": note,
            "triggers": triggers,
            "start_step_id": "s",
            "steps": [{"id": "s", "type": "delay", "config": {"delay_seconds": 1}}],
        }
    )


async def test_tenants_see_their_own_workflows_and_unshadowed_builtins(
    repository: DefinitionRepository,
) -> None:
    run = uuid.uuid4().hex[:8]
    shared, private = f"shared_{run}", f"private_{run}"
    a, b = f"a-{run}", f"b-{run}"
    event, other_event = f"placed_{run}", f"other_{run}"

    await repository.register(workflow(shared, "built-in v1", [event]))
    await repository.register(workflow(shared, "built-in v2", [event]))
    stored, created = await repository.store(workflow(shared, "b's own", [other_event]), tenant_id=b)
    assert (created, stored.builtin, stored.definition.version) == (True, False, 1)
    await repository.register(workflow(private, "a's private", [event]), tenant_id=a)
    # Registering what the tenant already sees stores nothing.
    again, created_again = await repository.store(workflow(shared, "built-in v2", [event]), tenant_id=a)
    assert (created_again, again.builtin, again.definition.version) == (False, True, 2)

    seen_by_a = await repository.find(shared, tenant_id=a)
    seen_by_b = await repository.find(shared, tenant_id=b)
    assert seen_by_a is not None
    assert seen_by_b is not None
    assert (seen_by_a.definition.name, seen_by_a.builtin) == ("built-in v2", True)
    assert (seen_by_b.definition.name, seen_by_b.builtin) == ("b's own", False)
    assert await repository.versions(shared, tenant_id=a) == [1, 2]
    assert await repository.versions(shared, tenant_id=b) == [1]
    # B's own versions hide the built-in's, even one B lacks.
    assert await repository.get(shared, 2, tenant_id=b) is None
    assert (await repository.get(shared, 1, tenant_id=a)).name == "built-in v1"  # type: ignore[union-attr]
    assert await repository.get(private, tenant_id=b) is None
    assert await repository.get(private) is None  # not a built-in

    assert await repository.listening_to(event, tenant_id=a) == sorted([private, shared])
    assert await repository.listening_to(event, tenant_id=b) == []  # shadowed
    assert await repository.listening_to(other_event, tenant_id=b) == [shared]
    assert await repository.listening_to(other_event, tenant_id=a) == []

    listed_a = {s.definition.id: s for s in await repository.latest_page(tenant_id=a, limit=10_000)}
    listed_b = {s.definition.id: s for s in await repository.latest_page(tenant_id=b, limit=10_000)}
    assert {private, shared} <= set(listed_a)
    assert listed_a[shared].builtin
    assert not listed_a[private].builtin
    assert private not in listed_b
    assert not listed_b[shared].builtin
    page = await repository.latest_page(tenant_id=a, after=private, limit=1)
    assert [s.definition.id for s in page] == [min(i for i in listed_a if i > private)]
