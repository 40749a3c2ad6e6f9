"""TOTP secrets sealed: a table of sealed secrets (enclave/state/totp_secrets.py), and every plain secret in
users_info.otp_secret sealed into it with the installation's key, then emptied.

The key is not in the database: `enclave db upgrade` passes the function that seals with it
(schema.upgrade's seal_totp, enclave/atrest/totp_seal.py). Without it, a database holding plain secrets is refused.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import context, op

from enclave.state.schema import SchemaNotCurrent

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sealed = op.create_table(
        "totp_secrets",
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    accounts = sa.table(
        "users_info", sa.column("username", sa.String), sa.column("has_2fa", sa.Boolean), sa.column("otp_secret")
    )
    connection = op.get_bind()
    enrolled = connection.execute(
        sa.select(accounts.c.username, accounts.c.otp_secret).where(
            accounts.c.has_2fa.is_(True), accounts.c.otp_secret.is_not(None)
        )
    ).all()
    seal = context.config.attributes.get("seal_totp")
    if enrolled and seal is None:
        raise SchemaNotCurrent(
            "The state database holds TOTP secrets in plain text, which this revision seals with the installation's "
            "key: upgrade it with 'enclave db upgrade', which reads the key."
        )
    if enrolled:
        op.bulk_insert(sealed, [{"username": name, "sealed": seal(secret)} for name, secret in enrolled])
    # A secret of an account without a second factor is dead (NativeAuthenticator fills the column anyway).
    connection.execute(sa.update(accounts).values(otp_secret=None))


def downgrade() -> None:
    op.drop_table("totp_secrets")  # the sealed secrets are not written back in plain text: enrol again
