"""event store: events, snapshots, processed messages, timers, outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", BigId, primary_key=True, autoincrement=True),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("causation_id", sa.String(200)),
        sa.Column("recorded_at", Moment, nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    )
    op.create_table(
        "snapshots",
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", Json, nullable=False),
        sa.Column("taken_at", Moment, nullable=False),
    )
    op.create_table(
        "processed_messages",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("message_id", sa.String(200), primary_key=True),
        sa.Column("stream_id", sa.String(200)),
        sa.Column("processed_at", Moment, nullable=False),
    )
    op.create_table(
        "timers",
        sa.Column("timer_id", sa.String(400), primary_key=True),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("fire_at", Moment, nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("claimed_until", Moment),
        sa.Column("created_at", Moment, nullable=False),
    )
    op.create_index("ix_timers_fire_at", "timers", ["fire_at"])
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(300), nullable=False),
        sa.Column("message_key", sa.String(400)),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", Json, nullable=False),
        sa.Column("stream_id", sa.String(200)),
        sa.Column("created_at", Moment, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_index("ix_timers_fire_at", table_name="timers")
    op.drop_table("timers")
    op.drop_table("processed_messages")
    op.drop_table("snapshots")
    op.drop_table("events")
