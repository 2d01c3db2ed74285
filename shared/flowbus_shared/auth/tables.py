"""Tables of who may call flowbus: tenants, their users and API keys (queries use these;
migrations 0006 and 0012 are their frozen history).

A tenant without a row in `tenants` still exists implicitly: tenants used to be only a name
on keys (made with `flowbus apikeys create`), and those keys keep working. A row records a
tenant's name and lets it be disabled, which stops its keys and tokens.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
Moment = sa.DateTime(timezone=True)

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("disabled_at", Moment),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("revoked_at", Moment),
    sa.UniqueConstraint("tenant_id", "email", name="uq_users_email"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("revoked_at", Moment),
    # The user the key belongs to (revoking the user revokes it); none for keys of a tenant.
    sa.Column("user_id", sa.String(200)),
    sa.ForeignKeyConstraint(
        ["tenant_id", "user_id"], ["users.tenant_id", "users.user_id"], name="fk_api_keys_user"
    ),
)
