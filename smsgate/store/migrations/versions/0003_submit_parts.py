"""submits recorded as they are answered: message parts, unmatched receipts, sending mark

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_parts",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("part_id", sa.String(length=64), nullable=False),
        sa.Column("message_pk", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["message_pk"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connector", "part_id"),
    )
    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.create_index("ix_message_parts_message", ["message_pk"], unique=False)

    op.create_table(
        "unmatched_receipts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("status_id", sa.Integer(), nullable=False),
        sa.Column("error_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("unmatched_receipts", schema=None) as batch_op:
        batch_op.create_index("ix_unmatched_receipts_remote", ["connector", "remote_id"], unique=False)
        batch_op.create_index("ix_unmatched_receipts_received", ["received_at"], unique=False)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sending_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("sending_at")
    with op.batch_alter_table("unmatched_receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_unmatched_receipts_received")
        batch_op.drop_index("ix_unmatched_receipts_remote")
    op.drop_table("unmatched_receipts")
    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_message_parts_message")
    op.drop_table("message_parts")
