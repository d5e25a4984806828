"""Migration 0004 on both backends: the report channel leaves notify_url's fake scheme for its own
column, septet content is marked, and downgrade restores what 0003 had."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from smsgate.store import accounts, migrate
from smsgate.store.database import Database
from smsgate.store.migrations.versions import __path__ as versions_path
from smsgate.text.reassembly import GSM7, alphabet

# messages as 0003 has it (the columns this test writes)
_messages_0003 = sa.table(
    "messages",
    sa.column("account_id", sa.Integer),
    sa.column("message_id", sa.String),
    sa.column("api_version", sa.String),
    sa.column("sender", sa.String),
    sa.column("destination", sa.String),
    sa.column("binary_hex", sa.Text),
    sa.column("data_coding", sa.SmallInteger),
    sa.column("notify_url", sa.Text),
    sa.column("sms_count", sa.Integer),
    sa.column("status_id", sa.Integer),
    sa.column("created_at", sa.BigInteger),
    *(sa.column(name, sa.SmallInteger) for name in ("esm_class", "error_id", "report_state")),
    *(
        sa.column(name, sa.Boolean)
        for name in ("flash", "single_shift", "locking_shift", "intermediate_report")
    ),
)

# message_id -> (api_version, notify_url, binary_hex, data_coding) at 0003
ROWS = {
    "smpp-final": ("smpp", "smpp:", None, 0),
    "smpp-failures": ("smpp", "smpp:failure", None, 0),
    "http": ("2", "https://example.test/reports", None, 0),
    "pulled": ("3", None, None, 0),
    "smpp-gsm-binary": ("smpp", None, "c8329bfd06", 0),
    "smpp-8bit-binary": ("smpp", None, "0a0b0c", 4),
    "http-gsm-binary": ("2", None, "c8329bfd06", 0),  # only SMPP customers send septets
}


def _url(own_database: str | None, tmp_path) -> str:
    return own_database or f"sqlite:///{tmp_path / 'm.db'}"


async def _read(db: Database, *names: str) -> dict[str, tuple]:
    cols = ", ".join(names)
    query = sa.text(f"SELECT message_id, {cols} FROM messages")
    return await db.read(lambda conn: {r[0]: tuple(r[1:]) for r in conn.execute(query)})


def test_0004_moves_the_fake_scheme_to_report_channel_and_back(own_database, tmp_path) -> None:
    async def run() -> None:
        db = Database(_url(own_database, tmp_path))
        try:
            await migrate.upgrade(db, "0003")
            account = await db.write(lambda conn: accounts.create(conn, "acct"))
            await db.write(
                lambda conn: conn.execute(
                    _messages_0003.insert(),
                    [
                        {
                            "account_id": account.id,
                            "message_id": mid,
                            "api_version": api,
                            "sender": "Shop",
                            "destination": "41793026727",
                            "binary_hex": binary,
                            "data_coding": dc,
                            "notify_url": url,
                            "sms_count": 1,
                            "status_id": 26,
                            "created_at": 1,
                            **dict.fromkeys(("esm_class", "error_id", "report_state"), 0),
                            **dict.fromkeys(
                                ("flash", "single_shift", "locking_shift", "intermediate_report"), False
                            ),
                        }
                        for mid, (api, url, binary, dc) in ROWS.items()
                    ],
                )
            )

            await migrate.upgrade(db)
            after = await _read(db, "notify_url", "report_channel", "binary_septets")
            assert {mid: (url, channel, bool(septets)) for mid, (url, channel, septets) in after.items()} == {
                "smpp-final": (None, "smpp", False),
                "smpp-failures": (None, "smpp_failures", False),
                "http": ("https://example.test/reports", "http", False),
                "pulled": (None, None, False),
                "smpp-gsm-binary": (None, None, True),
                "smpp-8bit-binary": (None, None, False),
                "http-gsm-binary": (None, None, False),
            }

            await migrate.downgrade(db, "0003")
            assert await _read(db, "notify_url") == {mid: (url,) for mid, (_, url, _, _) in ROWS.items()}

            await migrate.upgrade(db)
            again = await _read(db, "notify_url", "report_channel")
            assert again == {mid: row[:2] for mid, row in after.items()}
        finally:
            await db.dispose()

    asyncio.run(run())


def test_0004_gsm7_codings_are_the_alphabet_rule() -> None:
    # the migration freezes text.reassembly.alphabet's GSM 7-bit data_codings: they must agree
    import importlib.util
    from pathlib import Path

    path = Path(versions_path[0]) / "0004_report_channel.py"
    spec = importlib.util.spec_from_file_location("m0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module._GSM7_CODINGS) == [dc for dc in range(256) if alphabet(dc) == GSM7]
