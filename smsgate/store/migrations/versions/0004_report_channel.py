"""report channel and septet content as columns: messages.report_channel, messages.binary_septets

The report channel was a fake URL scheme in notify_url ("smpp:" a deliver_sm receipt, "smpp:failure"
one for failures only); it becomes its own column and notify_url holds only real URLs. Whether binary
content is unpacked GSM septets was recomputed from api_version and data_coding; it is stored at accept.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The scheme the report channel had in notify_url, per channel (domain.messages.ReportChannel).
_SCHEMES = {"smpp": "smpp:", "smpp_failures": "smpp:failure"}

# data_codings whose alphabet is GSM 7-bit (text.reassembly.alphabet), frozen as at this revision
_GSM7_CODINGS = (
    [0]
    + [dc for dc in range(0x10, 0x80) if not dc & 0x20 and (dc >> 2) & 3 == 0]
    + list(range(0xC0, 0xE0))
    + [dc for dc in range(0xF0, 0x100) if not dc & 0x04]
)

_messages = sa.table(
    "messages",
    sa.column("notify_url", sa.Text),
    sa.column("report_channel", sa.String),
    sa.column("binary_septets", sa.Boolean),
    sa.column("api_version", sa.String),
    sa.column("binary_hex", sa.Text),
    sa.column("data_coding", sa.SmallInteger),
)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_channel", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("binary_septets", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    m = _messages.c
    for channel, scheme in _SCHEMES.items():
        op.execute(
            _messages.update().where(m.notify_url == scheme).values(report_channel=channel, notify_url=None)
        )
    op.execute(
        _messages.update()
        .where(m.notify_url.is_not(None), m.report_channel.is_(None))
        .values(report_channel="http")
    )
    op.execute(
        _messages.update()
        .where(m.api_version == "smpp", m.binary_hex.is_not(None), m.data_coding.in_(_GSM7_CODINGS))
        .values(binary_septets=True)
    )


def downgrade() -> None:
    m = _messages.c
    for channel, scheme in _SCHEMES.items():
        op.execute(_messages.update().where(m.report_channel == channel).values(notify_url=scheme))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("binary_septets")
        batch_op.drop_column("report_channel")
