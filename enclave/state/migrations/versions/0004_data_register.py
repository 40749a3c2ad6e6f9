"""The data register's record of each dataset version: description, provider, the data owner's contact,
when it was received, when the agreement ends, and who approved receiving it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("provider", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("owner_contact", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("received_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(length=200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        for column in ("approved_by", "expires_on", "received_on", "owner_contact", "provider", "description"):
            batch.drop_column(column)
