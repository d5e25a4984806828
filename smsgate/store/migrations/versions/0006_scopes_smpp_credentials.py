"""API key scopes and SMPP credentials of their own: api_keys.scopes, accounts.smpp_system_id and
accounts.smpp_password_hash

Existing keys keep every scope (NULL). Existing accounts get no SMPP credentials: their binds, made
with the web username and password until now, are refused until `smsgate account smpp` sets them.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# Plain ADD / DROP COLUMN, not batch mode: on SQLite batch mode copies the table and drops the old
# one, which the foreign keys of api_keys, sessions and messages to accounts forbid. SQLite has had
# both since 3.35 (2021); a nullable column without a default is all either backend needs.
_COLUMNS = (
    ("api_keys", sa.Column("scopes", sa.Text(), nullable=True)),
    ("accounts", sa.Column("smpp_system_id", sa.String(length=15), nullable=True)),
    ("accounts", sa.Column("smpp_password_hash", sa.String(length=200), nullable=True)),
)


def upgrade() -> None:
    for table, column in _COLUMNS:
        op.add_column(table, column)
    op.create_index("ix_accounts_smpp_system_id", "accounts", ["smpp_system_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_accounts_smpp_system_id", table_name="accounts")
    for table, column in reversed(_COLUMNS):
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column.name}"))
