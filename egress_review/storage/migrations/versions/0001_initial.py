"""Initial schema: requests, staging records, checks, votes, releases, audit log,
and the triggers that make fact tables append-only.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from egress_review.storage.models import UTCDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

IMMUTABLE_TABLES = (
    "staged_files",
    "check_results",
    "block_overrides",
    "votes",
    "comments",
    "releases",
    "revocations",
    "audit_log",
)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("submitted_at", UTCDateTime, nullable=True),
        sa.Column("decided_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_requests_project", "requests", ["project"])
    op.create_index("ix_requests_author", "requests", ["author"])
    op.create_index("ix_requests_state", "requests", ["state"])

    op.create_table(
        "file_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("controls", sa.Text, nullable=False),
        sa.UniqueConstraint("request_id", "name", name="uq_file_groups_request_name"),
    )
    op.create_index("ix_file_groups_request_id", "file_groups", ["request_id"])

    op.create_table(
        "request_files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("file_groups.id"), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("request_id", "path", name="uq_request_files_request_path"),
    )
    op.create_index("ix_request_files_request_id", "request_files", ["request_id"])
    op.create_index("ix_request_files_group_id", "request_files", ["group_id"])

    op.create_table(
        "staged_files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("group_name", sa.String(200), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("staged_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("request_id", "round", "path", name="uq_staged_files_request_round_path"),
    )
    op.create_index("ix_staged_files_request_id", "staged_files", ["request_id"])
    op.create_index("ix_staged_files_sha256", "staged_files", ["sha256"])

    op.create_table(
        "check_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("staged_file_id", sa.Integer, sa.ForeignKey("staged_files.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_index("ix_check_results_staged_file_id", "check_results", ["staged_file_id"])

    op.create_table(
        "block_overrides",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("staged_file_id", sa.Integer, sa.ForeignKey("staged_files.id"), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_block_overrides_staged_file_id", "block_overrides", ["staged_file_id"])

    op.create_table(
        "votes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("request_id", "round", "reviewer", name="uq_votes_request_round_reviewer"),
    )
    op.create_index("ix_votes_request_id", "votes", ["request_id"])

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("staged_file_id", sa.Integer, sa.ForeignKey("staged_files.id"), nullable=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_comments_request_id", "comments", ["request_id"])

    op.create_table(
        "releases",
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), primary_key=True),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("released_at", UTCDateTime, nullable=False),
    )

    op.create_table(
        "revocations",
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), primary_key=True),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_log_request_id", "audit_log", ["request_id"])

    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in IMMUTABLE_TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION egress_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$
            """
        )
        for table in IMMUTABLE_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION egress_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION egress_refuse_change()"
            )
    else:
        raise RuntimeError(f"egress_review supports SQLite and PostgreSQL, not {dialect}")


def downgrade() -> None:
    raise RuntimeError("The airlock's initial schema holds the audit log; it is never downgraded.")
