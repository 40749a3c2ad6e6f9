"""The notification outbox: notices written with each decision, sent later (egress_review.notify).

Revision ID: 0003_notifications
Revises: 0002_file_decisions
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from egress_review.storage.models import UTCDateTime

revision = "0003_notifications"
down_revision = "0002_file_decisions"
branch_labels = None
depends_on = None

TABLE = "notification_outbox"


def upgrade() -> None:
    # Not append-only: a notice's status and attempts move on as the dispatcher sends it. What was sent,
    # and every failure, is in the audit log.
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_notification_outbox_due", TABLE, ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notification_outbox_due", TABLE)
    op.drop_table(TABLE)
