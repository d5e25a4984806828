"""The legacy AddOn/SMSService API: accounts.legacy_report_url (its delivery report URL) and the
TON/NPI a message's client chose (messages.source_ton, source_npi, dest_ton, dest_npi)

Existing accounts have no legacy report URL (their legacy reports are pulled); existing messages
have no TON/NPI of their own (NULL: the connector decides, as before).

Revision ID: 0009
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


# Plain ADD / DROP COLUMN, as in 0006: batch mode would copy tables other tables reference.
_COLUMNS = (
    ("accounts", sa.Column("legacy_report_url", sa.Text(), nullable=True)),
    ("messages", sa.Column("source_ton", sa.SmallInteger(), nullable=True)),
    ("messages", sa.Column("source_npi", sa.SmallInteger(), nullable=True)),
    ("messages", sa.Column("dest_ton", sa.SmallInteger(), nullable=True)),
    ("messages", sa.Column("dest_npi", sa.SmallInteger(), nullable=True)),
)


def upgrade() -> None:
    for table, column in _COLUMNS:
        op.add_column(table, column)


def downgrade() -> None:
    for table, column in reversed(_COLUMNS):
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column.name}"))
