"""money: price plans, balances, the ledger (issue 13)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both backends: a batch (copy) of accounts on SQLite trips its foreign keys
    op.add_column("accounts", sa.Column("plan", sa.String(length=64), nullable=True))
    op.add_column("accounts", sa.Column("prepaid", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("accounts", sa.Column("balance", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("accounts", sa.Column("credit_limit", sa.BigInteger(), nullable=True))
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(length=64), nullable=False, unique=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("inbound_price", sa.BigInteger(), nullable=False),
        sa.Column("lookup_price", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "plan_prices",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id", ondelete="CASCADE"), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=True),
        sa.Column("mcc_mnc", sa.String(length=6), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_plan_prices_plan", "plan_prices", ["plan_id"])
    op.create_table(
        "ledger",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_ledger_account", "ledger", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_ledger_account", table_name="ledger")
    op.drop_table("ledger")
    op.drop_index("ix_plan_prices_plan", table_name="plan_prices")
    op.drop_table("plan_prices")
    op.drop_table("plans")
    for column in ("credit_limit", "balance", "prepaid", "plan"):
        # ALTER TABLE ... DROP COLUMN: SQLite has it since 3.35
        op.execute(f"ALTER TABLE accounts DROP COLUMN {column}")
