"""number lookup: the lookups table, per-account lookup settings, jobs.lookup_pk, number_networks

Revision ID: 0007
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookups",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("bulk_id", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=256), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("mcc_mnc", sa.String(length=8), nullable=True),
        sa.Column("status_id", sa.Integer(), nullable=False),
        sa.Column("error_id", sa.Integer(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("notify_url", sa.Text(), nullable=True),
        sa.Column("notify_content_type", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("done_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lookups_account_created", "lookups", ["account_id", "created_at"])
    op.create_index("ix_lookups_account_bulk", "lookups", ["account_id", "bulk_id"])
    op.create_table(
        "lookup_accounts",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("package", sa.String(length=16), nullable=True),
        sa.Column("hlr_report_url", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "number_networks",
        sa.Column("msisdn", sa.String(length=32), nullable=False),
        sa.Column("mcc_mnc", sa.String(length=8), nullable=True),
        sa.Column("looked_up_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("msisdn"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lookup_pk", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key("fk_jobs_lookup_pk", "lookups", ["lookup_pk"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_jobs_lookup_pk", type_="foreignkey")
        batch_op.drop_column("lookup_pk")
    op.drop_table("number_networks")
    op.drop_table("lookup_accounts")
    op.drop_index("ix_lookups_account_bulk", table_name="lookups")
    op.drop_index("ix_lookups_account_created", table_name="lookups")
    op.drop_table("lookups")
