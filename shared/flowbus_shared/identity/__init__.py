"""Tenants, their users and API keys, managed over HTTP (`identity_router`) and the CLI;
bearer JWTs verified with the configured secret (`jwt_verifier`)."""

from flowbus_shared.identity.records import Tenant, User
from flowbus_shared.identity.routes import identity_router
from flowbus_shared.identity.settings import IdentitySettings, jwt_verifier
from flowbus_shared.identity.tenants import Tenants
from flowbus_shared.identity.users import Users

__all__ = ["IdentitySettings", "Tenant", "Tenants", "User", "Users", "identity_router", "jwt_verifier"]
