"""knowledge: facts (subject, predicate, object) and records cached from integrations, with
full-text indexes (PostgreSQL: GIN over to_tsvector('simple', ...); SQLite: FTS5 tables kept
in sync by triggers)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")
# An integer key: on SQLite it is the rowid the FTS5 tables point at (INTEGER PRIMARY KEY
# aliases the rowid, so VACUUM cannot renumber it).
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The executor's queries repeat these expressions word for word, so PostgreSQL uses the indexes.
FACT_DOCUMENT = "subject || ' ' || predicate || ' ' || object"
RECORD_DOCUMENT = "title || ' ' || body_text"

# SQLite: external-content FTS5 tables over the rows' text, and the triggers keeping them in step.
SQLITE_FTS = {
    "knowledge_facts": ("knowledge_facts_fts", ("subject", "predicate", "object")),
    "cached_records": ("cached_records_fts", ("title", "body_text")),
}


def _sqlite_fts_up(table: str, fts: str, columns: tuple[str, ...]) -> None:
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', content_rowid='id')")
    op.execute(
        f"CREATE TRIGGER {table}_fts_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_fts_delete AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_fts_update AFTER UPDATE OF {names} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END"
    )


def _sqlite_fts_down(table: str, fts: str) -> None:
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{event}")
    op.execute(f"DROP TABLE IF EXISTS {fts}")


def upgrade() -> None:
    op.create_table(
        "knowledge_facts",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("fact_id", sa.String(40), nullable=False, unique=True),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("predicate", sa.String(200), nullable=False),
        sa.Column("object", sa.String(500), nullable=False),
        # casefolded, whitespace-collapsed forms: graph nodes and conflict groups
        sa.Column("subject_norm", sa.String(500), nullable=False),
        sa.Column("predicate_norm", sa.String(200), nullable=False),
        sa.Column("object_norm", sa.String(500), nullable=False),
        sa.Column("fact_key", sa.String(64), nullable=False),  # sha256 of the normalised triple
        sa.Column("source", sa.String(500)),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.UniqueConstraint("tenant_id", "fact_key", name="uq_knowledge_facts_tenant_key"),
    )
    op.create_index("ix_knowledge_facts_tenant_subject", "knowledge_facts", ["tenant_id", "subject_norm"])
    op.create_index("ix_knowledge_facts_tenant_object", "knowledge_facts", ["tenant_id", "object_norm"])
    op.create_table(
        "cached_records",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("source_system", sa.String(100), nullable=False),
        sa.Column("record_type", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("body", Json, nullable=False),
        sa.Column("body_text", sa.Text, nullable=False),  # the body's values as text, for search
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.UniqueConstraint(
            "tenant_id", "source_system", "record_type", "record_id", name="uq_cached_records_identity"
        ),
    )
    if op.get_bind().dialect.name == "sqlite":
        for table, (fts, columns) in SQLITE_FTS.items():
            _sqlite_fts_up(table, fts, columns)
    else:
        op.execute(
            "CREATE INDEX ix_knowledge_facts_fts ON knowledge_facts "
            f"USING gin (to_tsvector('simple', {FACT_DOCUMENT}))"
        )
        op.execute(
            "CREATE INDEX ix_cached_records_fts ON cached_records "
            f"USING gin (to_tsvector('simple', {RECORD_DOCUMENT}))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, (fts, _columns) in SQLITE_FTS.items():
            _sqlite_fts_down(table, fts)
    else:
        op.execute("DROP INDEX IF EXISTS ix_cached_records_fts")
        op.execute("DROP INDEX IF EXISTS ix_knowledge_facts_fts")
    op.drop_table("cached_records")
    op.drop_index("ix_knowledge_facts_tenant_object", table_name="knowledge_facts")
    op.drop_index("ix_knowledge_facts_tenant_subject", table_name="knowledge_facts")
    op.drop_table("knowledge_facts")
