"""The knowledge tables (mirroring migration 0008; the executor owns them) and the text each
full-text index covers, spelled as the migration's PostgreSQL index expressions are."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

Moment = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Column limits, checked before writing so an oversized value is a clear invalid_config.
SUBJECT_MAX = 500
PREDICATE_MAX = 200
OBJECT_MAX = 500
SOURCE_MAX = 500

metadata = sa.MetaData()

knowledge_facts = sa.Table(
    "knowledge_facts",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("fact_id", sa.String(40), nullable=False, unique=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(SUBJECT_MAX), nullable=False),
    sa.Column("predicate", sa.String(PREDICATE_MAX), nullable=False),
    sa.Column("object", sa.String(OBJECT_MAX), nullable=False),
    sa.Column("subject_norm", sa.String(SUBJECT_MAX), nullable=False),
    sa.Column("predicate_norm", sa.String(PREDICATE_MAX), nullable=False),
    sa.Column("object_norm", sa.String(OBJECT_MAX), nullable=False),
    sa.Column("fact_key", sa.String(64), nullable=False),
    sa.Column("source", sa.String(SOURCE_MAX)),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("updated_at", Moment, nullable=False),
    sa.UniqueConstraint("tenant_id", "fact_key", name="uq_knowledge_facts_tenant_key"),
)

cached_records = sa.Table(
    "cached_records",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("source_system", sa.String(100), nullable=False),
    sa.Column("record_type", sa.String(100), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("body", Json, nullable=False),
    sa.Column("body_text", sa.Text, nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("updated_at", Moment, nullable=False),
    sa.UniqueConstraint(
        "tenant_id", "source_system", "record_type", "record_id", name="uq_cached_records_identity"
    ),
)

# PostgreSQL: the indexed documents (GIN expression indexes of migration 0008).
FACT_DOCUMENT = "subject || ' ' || predicate || ' ' || object"
RECORD_DOCUMENT = "title || ' ' || body_text"
# SQLite: the FTS5 tables (external content, rowid = the row's `id`).
FACTS_FTS = "knowledge_facts_fts"
RECORDS_FTS = "cached_records_fts"
