"""push_attempts: each report push of a message with its answer and next retry (the console's
timeline of a message). Existing messages have none: their earlier pushes were not recorded.

Revision ID: 0012
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_attempts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column(
            "message_pk", sa.BigInteger(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("next_retry_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_push_attempts_message", "push_attempts", ["message_pk"])
    op.create_index("ix_push_attempts_at", "push_attempts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_push_attempts_at", "push_attempts")
    op.drop_index("ix_push_attempts_message", "push_attempts")
    op.drop_table("push_attempts")
