"""Bring-your-own-key: each tenant's provider keys, sealed in the shared vault.

A key is a vault connection of service `llm` named `llm:<provider>` (apart from the
executor's connections, which share the vault), with
secrets `api_key` and, for self-hosted or proxied endpoints, `base_url`. Keys
are never returned after they are stored, only their fingerprint, and they
survive restarts (they live in the database, sealed by FLOWBUS_MASTER_KEYS).
"""

from __future__ import annotations

import time

from flowbus_llm_gateway.providers.base import Endpoint
from flowbus_shared.vault import ConnectionVault, VaultError

SERVICE = "llm"
PREFIX = "llm:"
DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
}


class ProviderKeys:
    """`endpoints` are cached per tenant for `cache_seconds` (each call would otherwise read and
    decrypt every key): a change made through this process is seen at once, one made through
    another replica within that time."""

    def __init__(self, vault: ConnectionVault, *, cache_seconds: float = 5.0) -> None:
        self._vault = vault
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[str, Endpoint]]] = {}

    async def put(self, tenant_id: str, provider: str, api_key: str, base_url: str | None = None) -> str:
        """Store a tenant's key for `provider`; returns its fingerprint (the key is never shown again)."""
        secrets = {"api_key": api_key, **({"base_url": base_url} if base_url else {})}
        self._cache.pop(tenant_id, None)
        return await self._vault.put(tenant_id, f"{PREFIX}{provider}", SERVICE, secrets)

    async def list(self, tenant_id: str) -> list[dict[str, str]]:
        """The tenant's providers with their key fingerprints (never the keys)."""
        return [
            {"provider": row["name"].removeprefix(PREFIX), "fingerprint": row["fingerprint"]}
            for row in await self._vault.list(tenant_id)
            if row["service"] == SERVICE and row["name"].startswith(PREFIX)
        ]

    async def delete(self, tenant_id: str, provider: str) -> bool:
        self._cache.pop(tenant_id, None)
        return await self._vault.delete(tenant_id, f"{PREFIX}{provider}")

    async def endpoints(self, tenant_id: str) -> dict[str, Endpoint]:
        """Every provider the tenant has a usable key for."""
        cached = self._cache.get(tenant_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        found = await self._read_endpoints(tenant_id)
        self._cache[tenant_id] = (time.monotonic() + self._cache_seconds, found)
        return found

    async def _read_endpoints(self, tenant_id: str) -> dict[str, Endpoint]:
        found: dict[str, Endpoint] = {}
        for row in await self.list(tenant_id):
            provider = row["provider"]
            try:
                connection = await self._vault.get(tenant_id, f"{PREFIX}{provider}")
            except VaultError:
                continue  # sealed with a key no longer configured: as if absent
            base_url = str(connection.secrets.get("base_url") or DEFAULT_BASE_URLS.get(provider, ""))
            found[provider] = Endpoint(base_url=base_url, api_key=str(connection.secrets.get("api_key", "")))
        return found
