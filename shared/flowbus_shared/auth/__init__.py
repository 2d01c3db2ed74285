"""Who is calling: API keys (stored hashed, shown once) or JWTs, the principal they stand for,
and the tables of tenants, users and keys."""

from flowbus_shared.auth.api_keys import (
    PERSON_ROLES,
    ROLES,
    ApiKeys,
    IssuedKey,
    PersonRole,
    Principal,
    Role,
    role_allows,
)
from flowbus_shared.auth.errors import Conflict, Forbidden, IdentityError, NotFound
from flowbus_shared.auth.freshness import credentials_changed
from flowbus_shared.auth.jwt_tokens import JwtVerifier, TokenRefused, decode_claims, issue_token

__all__ = [
    "PERSON_ROLES",
    "ROLES",
    "ApiKeys",
    "Conflict",
    "Forbidden",
    "IdentityError",
    "IssuedKey",
    "JwtVerifier",
    "NotFound",
    "PersonRole",
    "Principal",
    "Role",
    "TokenRefused",
    "credentials_changed",
    "decode_claims",
    "issue_token",
    "role_allows",
]
