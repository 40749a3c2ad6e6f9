"""Per-file decisions: each reviewer approves, rejects or asks for changes file by file (append-only).

Revision ID: 0002_file_decisions
Revises: 0001_initial
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from egress_review.storage.models import UTCDateTime

revision = "0002_file_decisions"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TABLE = "file_decisions"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("staged_file_id", sa.Integer, sa.ForeignKey("staged_files.id"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("staged_file_id", "reviewer", name="uq_file_decisions_file_reviewer"),
    )
    op.create_index("ix_file_decisions_request_id", TABLE, ["request_id"])
    op.create_index("ix_file_decisions_staged_file_id", TABLE, ["staged_file_id"])
    # append-only, like every fact table (the function egress_refuse_change comes from 0001)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION egress_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION egress_refuse_change()"
        )
    else:
        raise RuntimeError(f"egress_review supports SQLite and PostgreSQL, not {dialect}")


def downgrade() -> None:
    raise RuntimeError("Decisions are facts of the audit trail; this migration is never downgraded.")
