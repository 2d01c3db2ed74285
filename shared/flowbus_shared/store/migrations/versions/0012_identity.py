"""identity: tenants, their users, and API keys that may belong to a user

Tenants without a row keep working (they were only a name on keys before this revision).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("disabled_at", Moment),
    )
    op.create_table(
        "users",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),  # stored lower-case
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("revoked_at", Moment),
        sa.UniqueConstraint("tenant_id", "email", name="uq_users_email"),
    )
    # SQLite cannot add a foreign key in place: batch mode copies the table there.
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("user_id", sa.String(200)))
        batch.create_foreign_key(
            "fk_api_keys_user", "users", ["tenant_id", "user_id"], ["tenant_id", "user_id"]
        )
    op.create_index("ix_api_keys_user", "api_keys", ["tenant_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_user", table_name="api_keys")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("fk_api_keys_user", type_="foreignkey")
        batch.drop_column("user_id")
    op.drop_table("users")
    op.drop_table("tenants")
