"""The append-only, tamper-evident audit log: one hash chain per tenant.

Each record's hash is the SHA-256 of the canonical JSON of {tenant_id, seq, kind, record, recorded_at,
prev_hash}; `prev_hash` is the previous record's hash (64 zeros for the first). An append bumps the
tenant's `audit_heads` row with `UPDATE ... RETURNING` first, so concurrent appends of one tenant queue
on that row's lock (PostgreSQL) or on `BEGIN IMMEDIATE` (SQLite) and the chain stays linear; the head
also remembers the last (seq, hash), so removing the newest records is detectable too.

What is hashed must be reproducible from what is stored: the record is canonicalised before it is
stored (through JSON, integral floats as ints, because JSONB hands `1e20` back as an int), and
`recorded_at` is hashed as the ISO string of the stored UTC time.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowbus_governance.adapters.tables import audit_heads, audit_records

GENESIS_HASH = "0" * 64
_PAGE = 500


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; SQLite hands datetimes back naive, and every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _normalise(value: Any) -> Any:
    """Integral floats become ints (JSONB may return them so); NaN and infinities are refused."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be stored in JSON")
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value


def canonicalise(value: Any) -> Any:
    """`value` as it comes back from either database's JSON column: plain JSON types, string keys,
    datetimes, Decimals and other objects as their `str`, tuples as lists."""
    return _normalise(json.loads(json.dumps(value, default=str, allow_nan=False)))


def canonical_json(value: Any) -> str:
    """The one text of `value` that hashes are taken over: sorted keys, no spaces, unescaped unicode."""
    return json.dumps(
        canonicalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def entry_hash(
    tenant_id: str, seq: int, kind: str, record: dict[str, Any], recorded_at: datetime, prev_hash: str
) -> str:
    """The hash of one audit record, chained to its predecessor through `prev_hash`."""
    content = {
        "tenant_id": tenant_id,
        "seq": seq,
        "kind": kind,
        "record": record,
        "recorded_at": utc(recorded_at).isoformat(),
        "prev_hash": prev_hash,
    }
    return sha256_hex(content)


@dataclass(frozen=True)
class AuditEntry:
    tenant_id: str
    seq: int
    kind: str
    record: dict[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditVerification:
    """The result of re-checking a tenant's chain; each problem names the seq it concerns."""

    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        tenant_id=row.tenant_id,
        seq=int(row.seq),
        kind=row.kind,
        record=row.record if isinstance(row.record, dict) else {"": row.record},  # tampered: not an object
        recorded_at=utc(row.recorded_at),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class AuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"  # else SQLite

    async def append(
        self, conn: AsyncConnection, tenant_id: str, kind: str, record: dict[str, Any]
    ) -> AuditEntry:
        """Chain `record` onto the tenant's log inside the caller's transaction, so it commits (or rolls
        back) with the change it describes. The head row stays locked until that transaction ends."""
        stored = canonicalise(record)
        if not isinstance(stored, dict):
            raise TypeError("an audit record must be a JSON object")
        head = await self._advance(conn, tenant_id)
        if head is None:
            insert = (pg_insert if self._postgres else sqlite_insert)(audit_heads)
            await conn.execute(
                insert.values(tenant_id=tenant_id, seq=0, hash=GENESIS_HASH).on_conflict_do_nothing(
                    index_elements=[audit_heads.c.tenant_id]
                )
            )
            head = await self._advance(conn, tenant_id)
            if head is None:  # pragma: no cover - the row was inserted (or found) just above
                raise RuntimeError(f"no audit head for tenant {tenant_id!r}")
        seq, prev_hash = head
        recorded_at = datetime.now(UTC)
        digest = entry_hash(tenant_id, seq, kind, stored, recorded_at, prev_hash)
        agent_id = stored.get("agent_id")
        await conn.execute(
            audit_records.insert().values(
                tenant_id=tenant_id,
                seq=seq,
                kind=kind,
                agent_id=agent_id if isinstance(agent_id, str) else None,
                record=stored,
                recorded_at=recorded_at,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        await conn.execute(
            audit_heads.update().where(audit_heads.c.tenant_id == tenant_id).values(hash=digest)
        )
        return AuditEntry(tenant_id, seq, kind, stored, recorded_at, prev_hash, digest)

    async def _advance(self, conn: AsyncConnection, tenant_id: str) -> tuple[int, str] | None:
        """Take the next seq of the tenant (locking its head row); returns (seq, previous hash)."""
        h = audit_heads.c
        result = await conn.execute(
            audit_heads.update()
            .where(h.tenant_id == tenant_id)
            .values(seq=h.seq + 1)
            .returning(h.seq, h.hash)
        )
        row = result.first()
        return None if row is None else (int(row.seq), row.hash)

    async def record(self, tenant_id: str, kind: str, record: dict[str, Any]) -> AuditEntry:
        """Append in a transaction of its own (for facts with no other change to commit with)."""
        async with self._engine.begin() as conn:
            return await self.append(conn, tenant_id, kind, record)

    async def query(
        self,
        tenant_id: str,
        *,
        kind: str | None = None,
        agent_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The tenant's records, newest first, optionally of one kind, agent, or from `since` on."""
        a = audit_records.c
        query = sa.select(audit_records).where(a.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(a.kind == kind)
        if agent_id is not None:
            query = query.where(a.agent_id == agent_id)
        if since is not None:
            query = query.where(a.recorded_at >= utc(since))
        async with self._engine.connect() as conn:
            rows = await conn.execute(query.order_by(a.seq.desc()).limit(limit))
            return [_entry(row) for row in rows]

    async def verify(self, tenant_id: str) -> AuditVerification:
        """Recompute every hash of the tenant's chain and check the links, the seq numbering and the
        head, all in one snapshot (REPEATABLE READ on PostgreSQL; SQLite's transaction is one)."""
        async with self._engine.connect() as conn:
            if self._postgres:
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                head_row = (
                    await conn.execute(sa.select(audit_heads).where(audit_heads.c.tenant_id == tenant_id))
                ).first()
                problems: list[str] = []
                checked, last_seq, last_hash = 0, 0, GENESIS_HASH
                while True:
                    page = await self._page(conn, tenant_id, last_seq)
                    for entry in page:
                        problems.extend(_check(entry, last_seq, last_hash))
                        checked, last_seq, last_hash = checked + 1, entry.seq, entry.hash
                    if len(page) < _PAGE:
                        break
        if head_row is None:
            if checked:
                problems.append(f"head: missing, but the log has records up to seq {last_seq}")
        elif int(head_row.seq) != last_seq:
            if int(head_row.seq) > last_seq:
                missing = _span(last_seq + 1, int(head_row.seq))
                problems.append(f"seq {missing}: missing at the end (the head is at seq {head_row.seq})")
            else:
                problems.append(f"seq {last_seq}: beyond the head (seq {head_row.seq})")
        elif head_row.hash != last_hash:
            problems.append(f"seq {last_seq}: hash differs from the head's hash")
        return AuditVerification(ok=not problems, checked=checked, problems=problems)

    async def _page(self, conn: AsyncConnection, tenant_id: str, after_seq: int) -> list[AuditEntry]:
        a = audit_records.c
        query = (
            sa.select(audit_records)
            .where(a.tenant_id == tenant_id, a.seq > after_seq)
            .order_by(a.seq)
            .limit(_PAGE)
        )
        return [_entry(row) for row in await conn.execute(query)]


def _check(entry: AuditEntry, last_seq: int, last_hash: str) -> list[str]:
    """What is wrong with one record, given the record before it (seq 0 and 64 zeros for none)."""
    problems = []
    if entry.seq != last_seq + 1:
        problems.append(
            f"seq {_span(last_seq + 1, entry.seq - 1)}: missing (the log jumps to seq {entry.seq})"
        )
    if entry.prev_hash != last_hash:
        before = f"seq {last_seq}" if last_seq else "the chain's start"
        problems.append(f"seq {entry.seq}: prev_hash does not match the hash of {before}")
    expected = entry_hash(
        entry.tenant_id, entry.seq, entry.kind, entry.record, entry.recorded_at, entry.prev_hash
    )
    if entry.hash != expected:
        problems.append(f"seq {entry.seq}: hash does not match the record's content")
    return problems


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"
