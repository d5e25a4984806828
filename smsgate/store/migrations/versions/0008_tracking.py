"""URL shortening and conversion tracking: short_links, link_clicks, tracked_messages (issue 15)

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def _pk() -> sa.Column:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


def upgrade() -> None:
    op.create_table(
        "short_links",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("bulk_id", sa.String(200)),
        sa.Column("destination", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("track_clicks", sa.Boolean(), nullable=False),
        sa.Column("tracking_url", sa.Text()),
        sa.Column("callback_data", sa.Text()),
        sa.Column("tracking_type", sa.String(100)),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_short_links_bulk", "short_links", ["account_id", "bulk_id"])
    op.create_index("ix_short_links_created", "short_links", ["created_at"])
    op.create_table(
        "link_clicks",
        _pk(),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("bulk_id", sa.String(200)),
        sa.Column("destination", sa.String(32), nullable=False),
        sa.Column("tracking_type", sa.String(100)),
        sa.Column("clicked_at", sa.BigInteger(), nullable=False),
        sa.Column("device_type", sa.String(16)),
        sa.Column("os", sa.String(64)),
        sa.Column("device_name", sa.String(100)),
        sa.Column("geo", sa.Text()),
    )
    op.create_index("ix_link_clicks_bulk", "link_clicks", ["account_id", "bulk_id"])
    op.create_index("ix_link_clicks_clicked", "link_clicks", ["clicked_at"])
    op.create_table(
        "tracked_messages",
        _pk(),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("bulk_id", sa.String(200)),
        sa.Column("destination", sa.String(32), nullable=False),
        sa.Column("process_key", sa.String(100), nullable=False),
        sa.Column("tracking_type", sa.String(100)),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("converted_at", sa.BigInteger()),
        sa.UniqueConstraint("account_id", "message_id", name="uq_tracked_account_message_id"),
    )
    op.create_index("ix_tracked_bulk", "tracked_messages", ["account_id", "bulk_id"])
    op.create_index("ix_tracked_created", "tracked_messages", ["created_at"])


def downgrade() -> None:
    op.drop_table("tracked_messages")
    op.drop_table("link_clicks")
    op.drop_table("short_links")
