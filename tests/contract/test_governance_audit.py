"""The governance audit log on every database: one linear hash chain per tenant that commits with
the change it records, reproduces its hashes from what is stored, and exposes any tampering."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from flowbus_governance.adapters.audit import GENESIS_HASH, AuditLog, canonicalise, entry_hash
from flowbus_governance.adapters.tables import audit_heads, audit_records
from flowbus_shared.store import SqlEventStore


@pytest.fixture
def audit(store: SqlEventStore) -> AuditLog:
    return AuditLog(store.engine)


async def test_records_form_a_chain(audit: AuditLog, tenant: str) -> None:
    first = await audit.record(tenant, "decision", {"agent_id": "a1", "verdict": "allow"})
    second = await audit.record(tenant, "agent.registered", {"agent_id": "a2"})
    third = await audit.record(tenant, "decision", {"verdict": "deny"})
    assert [entry.seq for entry in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert (second.prev_hash, third.prev_hash) == (first.hash, second.hash)
    assert len({first.hash, second.hash, third.hash}) == 3
    assert first.recorded_at.tzinfo is not None
    stored = await audit.query(tenant)
    assert stored == [third, second, first]  # newest first, exactly as appended
    verification = await audit.verify(tenant)
    assert (verification.ok, verification.checked, verification.problems) == (True, 3, [])


async def test_each_tenant_has_a_chain_of_its_own(audit: AuditLog, tenant: str) -> None:
    other = f"{tenant}-other"
    await audit.record(tenant, "decision", {"n": 1})
    theirs = await audit.record(other, "decision", {"n": 1})
    mine = await audit.record(tenant, "decision", {"n": 2})
    assert (theirs.seq, theirs.prev_hash) == (1, GENESIS_HASH)
    assert mine.seq == 2
    assert (await audit.verify(tenant)).checked == 2
    assert (await audit.verify(other)).checked == 1
    empty = await audit.verify(f"{tenant}-none")
    assert (empty.ok, empty.checked) == (True, 0)


async def test_an_append_commits_or_rolls_back_with_the_callers_transaction(
    audit: AuditLog, store: SqlEventStore, tenant: str
) -> None:
    await audit.record(tenant, "decision", {"n": 1})

    async def failing_change() -> None:
        async with store.engine.begin() as conn:
            await audit.append(conn, tenant, "decision", {"n": 2})
            raise RuntimeError("change failed")

    with pytest.raises(RuntimeError, match="change failed"):
        await failing_change()
    assert [entry.seq for entry in await audit.query(tenant)] == [1]
    async with store.engine.begin() as conn:
        kept = await audit.append(conn, tenant, "decision", {"n": 3})
    assert kept.seq == 2  # the rolled-back append did not take a seq
    assert (await audit.verify(tenant)).ok


async def test_stored_records_reproduce_their_hashes(audit: AuditLog, tenant: str) -> None:
    moment = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
    record = {
        "agent_id": "a1",
        "when": moment,
        "cost": Decimal("0.12500000"),
        "ratio": 0.1,
        "whole": 1.0,
        "huge": 1e20,
        "tiny": 1.5e-10,
        "text": 'ünïcödé ✓ "quoted"',
        "items": ("x", 2, None, True),
        "nested": {"z": 1, "a": [{"b": 2.5}]},
    }
    entry = await audit.record(tenant, "decision", record)
    assert entry.record == canonicalise(record)
    assert entry.record["when"] == str(moment)
    assert entry.record["cost"] == "0.12500000"
    assert (entry.record["whole"], entry.record["huge"]) == (1, 10**20)
    [stored] = await audit.query(tenant)
    assert stored == entry
    rehashed = entry_hash(
        tenant, stored.seq, stored.kind, stored.record, stored.recorded_at, stored.prev_hash
    )
    assert rehashed == stored.hash
    assert (await audit.verify(tenant)).ok
    with pytest.raises(TypeError, match="JSON object"):
        await audit.record(tenant, "decision", ["not", "an", "object"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JSON"):
        await audit.record(tenant, "decision", {"bad": float("nan")})


async def test_concurrent_appends_keep_the_chain_linear(audit: AuditLog, tenant: str) -> None:
    entries = await asyncio.gather(*(audit.record(tenant, "decision", {"n": n}) for n in range(30)))
    assert sorted(entry.seq for entry in entries) == list(range(1, 31))
    verification = await audit.verify(tenant)
    assert (verification.ok, verification.checked) == (True, 30)


async def test_query_filters_by_kind_agent_and_time(audit: AuditLog, tenant: str) -> None:
    await audit.record(tenant, "decision", {"agent_id": "a1"})
    await audit.record(tenant, "agent.registered", {"agent_id": "a2"})
    await audit.record(tenant, "decision", {"agent_id": "a2"})
    await audit.record(tenant, "decision", {"agent_id": 7})  # not a string: no agent column
    assert [e.seq for e in await audit.query(tenant, kind="decision")] == [4, 3, 1]
    assert [e.seq for e in await audit.query(tenant, agent_id="a2")] == [3, 2]
    assert [e.seq for e in await audit.query(tenant, kind="decision", agent_id="a2")] == [3]
    assert [e.seq for e in await audit.query(tenant, limit=2)] == [4, 3]
    future = datetime.now(UTC) + timedelta(minutes=1)
    assert await audit.query(tenant, since=future) == []
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)  # naive counts as UTC
    assert len(await audit.query(tenant, since=past)) == 4
    assert await audit.query(f"{tenant}-none") == []


async def five_records(audit: AuditLog, tenant: str) -> list[str]:
    """Five records of the tenant; their hashes by seq - 1."""
    return [(await audit.record(tenant, "decision", {"agent_id": "a1", "n": n})).hash for n in range(5)]


async def test_an_altered_record_is_found(audit: AuditLog, store: SqlEventStore, tenant: str) -> None:
    await five_records(audit, tenant)
    async with store.engine.begin() as conn:
        await conn.execute(
            audit_records.update()
            .where(audit_records.c.tenant_id == tenant, audit_records.c.seq == 3)
            .values(record={"agent_id": "a1", "n": 99})
        )
    verification = await audit.verify(tenant)
    assert (verification.ok, verification.checked) == (False, 5)
    assert verification.problems == ["seq 3: hash does not match the record's content"]


async def test_a_changed_hash_is_found(audit: AuditLog, store: SqlEventStore, tenant: str) -> None:
    await five_records(audit, tenant)
    async with store.engine.begin() as conn:
        await conn.execute(
            audit_records.update()
            .where(audit_records.c.tenant_id == tenant, audit_records.c.seq == 2)
            .values(hash="f" * 64)
        )
    verification = await audit.verify(tenant)
    assert not verification.ok
    assert verification.problems == [
        "seq 2: hash does not match the record's content",
        "seq 3: prev_hash does not match the hash of seq 2",
    ]


async def test_a_changed_time_or_kind_is_found(audit: AuditLog, store: SqlEventStore, tenant: str) -> None:
    await five_records(audit, tenant)
    where = [audit_records.c.tenant_id == tenant]
    async with store.engine.begin() as conn:
        moved = datetime.now(UTC) - timedelta(days=1)
        await conn.execute(
            audit_records.update().where(*where, audit_records.c.seq == 1).values(recorded_at=moved)
        )
        await conn.execute(
            audit_records.update().where(*where, audit_records.c.seq == 4).values(kind="other")
        )
    problems = (await audit.verify(tenant)).problems
    assert problems == [
        "seq 1: hash does not match the record's content",
        "seq 4: hash does not match the record's content",
    ]


async def test_a_deleted_middle_record_is_found(audit: AuditLog, store: SqlEventStore, tenant: str) -> None:
    await five_records(audit, tenant)
    async with store.engine.begin() as conn:
        await conn.execute(
            audit_records.delete().where(audit_records.c.tenant_id == tenant, audit_records.c.seq == 3)
        )
    verification = await audit.verify(tenant)
    assert (verification.ok, verification.checked) == (False, 4)
    assert verification.problems == [
        "seq 3: missing (the log jumps to seq 4)",
        "seq 4: prev_hash does not match the hash of seq 2",
    ]


async def test_a_deleted_first_record_is_found(audit: AuditLog, store: SqlEventStore, tenant: str) -> None:
    await five_records(audit, tenant)
    async with store.engine.begin() as conn:
        await conn.execute(
            audit_records.delete().where(audit_records.c.tenant_id == tenant, audit_records.c.seq == 1)
        )
    assert (await audit.verify(tenant)).problems == [
        "seq 1: missing (the log jumps to seq 2)",
        "seq 2: prev_hash does not match the hash of the chain's start",
    ]


async def test_deleted_last_records_are_found(audit: AuditLog, store: SqlEventStore, tenant: str) -> None:
    await five_records(audit, tenant)
    async with store.engine.begin() as conn:
        await conn.execute(
            audit_records.delete().where(audit_records.c.tenant_id == tenant, audit_records.c.seq == 5)
        )
    verification = await audit.verify(tenant)
    assert (verification.ok, verification.checked) == (False, 4)
    assert verification.problems == ["seq 5: missing at the end (the head is at seq 5)"]
    async with store.engine.begin() as conn:
        await conn.execute(
            audit_records.delete().where(audit_records.c.tenant_id == tenant, audit_records.c.seq >= 3)
        )
    assert (await audit.verify(tenant)).problems == ["seq 3-5: missing at the end (the head is at seq 5)"]


async def test_a_rewritten_tail_is_found_by_the_head(
    audit: AuditLog, store: SqlEventStore, tenant: str
) -> None:
    """Replacing the last record by one with a consistent hash still differs from the head."""
    hashes = await five_records(audit, tenant)
    last = (await audit.query(tenant, limit=1))[0]
    forged = {"agent_id": "a1", "n": "forged"}
    forged_hash = entry_hash(tenant, 5, last.kind, forged, last.recorded_at, hashes[3])
    async with store.engine.begin() as conn:
        await conn.execute(
            audit_records.update()
            .where(audit_records.c.tenant_id == tenant, audit_records.c.seq == 5)
            .values(record=forged, hash=forged_hash)
        )
    assert (await audit.verify(tenant)).problems == ["seq 5: hash differs from the head's hash"]


async def test_a_record_beyond_the_head_or_a_missing_head_is_found(
    audit: AuditLog, store: SqlEventStore, tenant: str
) -> None:
    await five_records(audit, tenant)
    async with store.engine.begin() as conn:
        await conn.execute(audit_heads.update().where(audit_heads.c.tenant_id == tenant).values(seq=4))
    assert (await audit.verify(tenant)).problems == ["seq 5: beyond the head (seq 4)"]
    async with store.engine.begin() as conn:
        await conn.execute(audit_heads.delete().where(audit_heads.c.tenant_id == tenant))
    assert (await audit.verify(tenant)).problems == ["head: missing, but the log has records up to seq 5"]
