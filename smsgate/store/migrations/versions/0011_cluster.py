"""Several gateway processes on one database (issue 18): gateway_nodes (who is alive), connector_binds
(which process holds which of a connector's binds), jobs.connector (a dispatch job handed to the
processes holding that connector's binds) and rate_hits (the request times of limits counted across processes) and customer_binds (SMPP customers' sessions, for smpp_max_binds across processes).

Existing jobs have no connector (NULL: any process may take them, as before).

Revision ID: 0011
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_nodes",
        sa.Column("node_id", sa.String(200), primary_key=True),
        sa.Column("connectors", sa.Text(), nullable=False, server_default=""),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("seen_until", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "connector_binds",
        sa.Column("connector", sa.String(100), primary_key=True),
        sa.Column("slot", sa.Integer(), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("bound", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "rate_hits",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_rate_hits_key_at", "rate_hits", ["key", "at"])
    op.create_table(
        "customer_binds",
        sa.Column("node_id", sa.String(200), primary_key=True),
        sa.Column("session", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("bound_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_customer_binds_account", "customer_binds", ["account_id"])
    # plain ADD COLUMN, as in 0006: batch mode would copy a table other tables reference
    op.add_column("jobs", sa.Column("connector", sa.String(100), nullable=True))


def downgrade() -> None:
    op.execute(sa.text("ALTER TABLE jobs DROP COLUMN connector"))
    op.drop_table("customer_binds")
    op.drop_table("rate_hits")
    op.drop_table("connector_binds")
    op.drop_table("gateway_nodes")
