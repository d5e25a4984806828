"""Connector cost: messages.cost_per_message, what the connector that took a message charges us
(its cost price list, ``[[connectors.prices]]``), beside what the customer was charged
(price_per_message). Existing messages have no known cost (NULL).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN, as in 0006/0009: batch mode would copy a table other tables reference
    op.add_column("messages", sa.Column("cost_per_message", sa.Float(), nullable=True))


def downgrade() -> None:
    op.execute(sa.text("ALTER TABLE messages DROP COLUMN cost_per_message"))
