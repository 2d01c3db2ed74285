"""Who is calling: API keys (stored hashed, shown once) and the principal they stand for."""

from flowbus_shared.auth.api_keys import ROLES, ApiKeys, IssuedKey, Principal, Role, role_allows

__all__ = ["ROLES", "ApiKeys", "IssuedKey", "Principal", "Role", "role_allows"]
