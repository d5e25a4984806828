"""API key scopes and SMPP credentials of their own: api_keys.scopes, accounts.smpp_system_id and
accounts.smpp_password_hash

Existing keys keep every scope (NULL). Existing accounts get no SMPP credentials: their binds, made
with the web username and password until now, are refused until `smsgate account smpp` sets them.

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.Text(), nullable=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("smpp_system_id", sa.String(length=15), nullable=True))
        batch_op.add_column(sa.Column("smpp_password_hash", sa.String(length=200), nullable=True))
    op.create_index("ix_accounts_smpp_system_id", "accounts", ["smpp_system_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_accounts_smpp_system_id", table_name="accounts")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("smpp_password_hash")
        batch_op.drop_column("smpp_system_id")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("scopes")
