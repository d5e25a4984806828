"""Upstream connectors: messages.cost_per_message, what the connector that took a message charges us
per part (its cost price list, ``[[connectors.prices]]``), beside what the customer was charged
(price_per_message); inbound_messages.upstream_id, the connector and upstream messageId of a message an
upstream forwarded (unique: a repeated forward is taken once). Existing rows have NULL in both.

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
    op.add_column("inbound_messages", sa.Column("upstream_id", sa.String(200), nullable=True))
    # a unique index, not a constraint: SQLite cannot ADD CONSTRAINT; NULLs never collide
    op.create_index("uq_inbound_upstream_id", "inbound_messages", ["upstream_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_inbound_upstream_id", "inbound_messages")
    op.execute(sa.text("ALTER TABLE inbound_messages DROP COLUMN upstream_id"))
    op.execute(sa.text("ALTER TABLE messages DROP COLUMN cost_per_message"))
