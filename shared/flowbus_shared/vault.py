"""Per-tenant connection credentials, encrypted at rest with AES-GCM.

Each row is sealed with the current master key and bound to its tenant, name
and service (associated data), so a ciphertext moved to another row does not
open. Keys are `id:base64` pairs: the first encrypts, every listed one
decrypts, and `rotate` re-seals all rows with the first. Secrets never leave
this module except to the executor that uses them; listings show a
fingerprint only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncEngine

connections = sa.Table(
    "connections",
    sa.MetaData(),
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("key_id", sa.String(100), nullable=False),
    sa.Column("nonce", sa.LargeBinary, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


class VaultError(Exception):
    """A connection is missing, or cannot be opened with the configured keys."""


@dataclass
class Rotation:
    resealed: int = 0
    unreadable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Connection:
    name: str
    service: str
    secrets: dict[str, Any]

    def __repr__(self) -> str:  # never print the secrets
        return (
            f"Connection(name={self.name!r}, service={self.service!r}, secrets=<{len(self.secrets)} hidden>)"
        )

    def secret_values(self) -> list[str]:
        return [str(value) for value in self.secrets.values() if isinstance(value, str | int) and str(value)]


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    keys = []
    for part in (item.strip() for item in spec.split(",") if item.strip()):
        key_id, _, encoded = part.partition(":")
        key = base64.b64decode(encoded)
        if not key_id or len(key) != 32:
            raise VaultError("each master key is `id:base64` of 32 bytes")
        keys.append((key_id, key))
    if not keys:
        raise VaultError("no master key configured (FLOWBUS_MASTER_KEYS)")
    return keys


def _associated(tenant_id: str, name: str, service: str) -> bytes:
    return f"{tenant_id}\x00{name}\x00{service}".encode()


class ConnectionVault:
    def __init__(self, engine: AsyncEngine, master_keys: str | None) -> None:
        self._engine = engine
        self._keys = parse_keys(master_keys) if master_keys else []

    def _seal(self, tenant_id: str, name: str, service: str, secrets: dict[str, Any]) -> dict[str, Any]:
        if not self._keys:
            raise VaultError("no master key configured (FLOWBUS_MASTER_KEYS): connections cannot be stored")
        key_id, key = self._keys[0]
        nonce = os.urandom(12)
        plaintext = json.dumps(secrets, sort_keys=True).encode()
        return {
            "key_id": key_id,
            "nonce": nonce,
            "ciphertext": AESGCM(key).encrypt(nonce, plaintext, _associated(tenant_id, name, service)),
            "fingerprint": hashlib.sha256(plaintext).hexdigest()[:16],
        }

    def _open(self, row: Any) -> dict[str, Any]:
        keys = dict(self._keys)
        if row.key_id not in keys:
            raise VaultError(
                f"connection {row.name!r} is sealed with key {row.key_id!r}, which is not configured"
            )
        try:
            plaintext = AESGCM(keys[row.key_id]).decrypt(
                bytes(row.nonce), bytes(row.ciphertext), _associated(row.tenant_id, row.name, row.service)
            )
        except InvalidTag:
            raise VaultError(f"connection {row.name!r} does not open with key {row.key_id!r}") from None
        secrets: dict[str, Any] = json.loads(plaintext)
        return secrets

    async def put(self, tenant_id: str, name: str, service: str, secrets: dict[str, Any]) -> str:
        """Store (or replace) a connection; returns its fingerprint."""
        sealed = self._seal(tenant_id, name, service, secrets)
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            await conn.execute(
                connections.delete().where(connections.c.tenant_id == tenant_id, connections.c.name == name)
            )
            await conn.execute(
                connections.insert().values(
                    tenant_id=tenant_id, name=name, service=service, updated_at=now, **sealed
                )
            )
        return str(sealed["fingerprint"])

    async def get(self, tenant_id: str, name: str) -> Connection:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(connections).where(
                        connections.c.tenant_id == tenant_id, connections.c.name == name
                    )
                )
            ).first()
        if row is None:
            raise VaultError(f"no connection {name!r} for tenant {tenant_id!r}")
        return Connection(name=row.name, service=row.service, secrets=self._open(row))

    async def list(self, tenant_id: str) -> list[dict[str, str]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(
                    connections.c.name, connections.c.service, connections.c.fingerprint, connections.c.key_id
                )
                .where(connections.c.tenant_id == tenant_id)
                .order_by(connections.c.name)
            )
            return [dict(row._mapping) for row in rows]

    async def delete(self, tenant_id: str, name: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                connections.delete().where(connections.c.tenant_id == tenant_id, connections.c.name == name)
            )
        return bool(result.rowcount)

    async def rotate(self) -> Rotation:
        """Re-seal every connection not sealed with the current key. A row that does not open
        (tampered, or its key is gone) is reported and left as it is; the rest still rotate."""
        current = self._keys[0][0] if self._keys else None
        report = Rotation()
        async with self._engine.begin() as conn:
            rows = (await conn.execute(sa.select(connections).where(connections.c.key_id != current))).all()
            for row in rows:
                try:
                    secrets = self._open(row)
                except VaultError:
                    report.unreadable.append(f"{row.tenant_id}/{row.name}")
                    continue
                sealed = self._seal(row.tenant_id, row.name, row.service, secrets)
                await conn.execute(
                    connections.update()
                    .where(connections.c.tenant_id == row.tenant_id, connections.c.name == row.name)
                    .values(**sealed, updated_at=datetime.now(UTC))
                )
                report.resealed += 1
        return report
