"""Table definitions shared by the queries and the migrations.

events are append-only with a unique (stream_id, version): that constraint is
the optimistic concurrency check. The other tables live in the same database
so one transaction can record events, the id of the message that caused them,
the messages they owe (outbox) and the timers they set.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

# JSONB on PostgreSQL, JSON text on SQLite.
Json = sa.JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

events = sa.Table(
    "events",
    metadata,
    sa.Column("position", BigId, primary_key=True, autoincrement=True),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("causation_id", sa.String(200)),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("stream_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", Json, nullable=False),
    sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
)

processed_messages = sa.Table(
    "processed_messages",
    metadata,
    sa.Column("consumer", sa.String(200), primary_key=True),
    sa.Column("message_id", sa.String(200), primary_key=True),
    sa.Column("stream_id", sa.String(200)),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
)

timers = sa.Table(
    "timers",
    metadata,
    sa.Column("timer_id", sa.String(400), primary_key=True),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", Json, nullable=False),
    # A claim is a lease: a poller that dies lets the timer fire again after it.
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_timers_fire_at", "fire_at"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("topic", sa.String(300), nullable=False),
    sa.Column("message_key", sa.String(400)),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("headers", Json, nullable=False),
    sa.Column("stream_id", sa.String(200)),
    # Rows are deleted once published, so the table holds only what is still owed.
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
