"""SmppConnector with a real SQLite database and the SMSC simulator: submit_sm building, the three
concatenation modes, receipts mapped to the catalog and stored before they are acknowledged, the
receipt-before-commit race, rejections, retries when the link fails, and inbound messages."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from live import eventually_async, upgrade_store
from sqlalchemy import Connection, func, select

from smsgate import text as textengine
from smsgate.connectors.base import Receipt
from smsgate.connectors.smpp import ConnectorUnavailable, InboundSms, SmppConfig, SmppConnector
from smsgate.domain import statuses as st
from smsgate.domain.dates import now_ms
from smsgate.domain.network import NetworkRules, OutcomeRule
from smsgate.engine.dispatch import Dispatcher
from smsgate.engine.receipts import apply_receipts
from smsgate.simulator.smsc import SmscSimulator
from smsgate.smpp import CommandStatus, SubmitSm, TlvTag, parse_smpp_time
from smsgate.smpp.pdus import Pdu
from smsgate.smpp.receipts import DeliveryReceipt
from smsgate.smpp_io.client import Backoff, Limits, Timeouts
from smsgate.store import accounts
from smsgate.store import jobs as jq
from smsgate.store import messages as q
from smsgate.store.database import Database
from smsgate.store.records import outbound
from smsgate.store.tables import messages, unmatched_receipts

OK = CommandStatus.ESME_ROK
LONG_TEXT = "".join(f"part of a long message {i:03d}. " for i in range(8))  # 224 GSM chars: 2 parts


class Simulator(SmscSimulator):
    """The simulator, keeping every submitted PDU; with ``db_path`` it also notes, at each receipt
    acknowledgement, how many messages the database (read outside the gateway) already shows as done."""

    def __init__(
        self, *args: Any, db_path: str | None = None, submit_delay: float = 0.0, **kwargs: Any
    ) -> None:
        self.db_path = db_path
        self.done_at_ack: list[int] = []
        self._acked = 0
        super().__init__(*args, **kwargs)
        self.submit_delay = submit_delay
        self.pdus: list[Pdu] = []

    @property  # type: ignore[override]
    def receipts_acknowledged(self) -> int:
        return self._acked

    @receipts_acknowledged.setter
    def receipts_acknowledged(self, value: int) -> None:
        if value and self.db_path is not None:
            with sqlite3.connect(self.db_path) as raw:
                (done,) = raw.execute("SELECT count(*) FROM messages WHERE done_at IS NOT NULL").fetchone()
            self.done_at_ack.append(done)
        self._acked = value

    async def submit(self, session: Any, pdu: Any) -> tuple[int, str]:  # type: ignore[override]
        self.pdus.append(pdu)
        if self.submit_delay:
            await asyncio.sleep(self.submit_delay)
        return super().submit(session, pdu)


class Sink:
    """The engine's receipt sink, recording what it was given (and failing first, if asked)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.receipts: list[Receipt] = []
        self.fail_first = fail_first
        self.calls = 0

    def __call__(self, conn: Connection, receipts: Sequence[Receipt]) -> None:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise RuntimeError("database trouble")
        self.receipts.extend(receipts)
        apply_receipts(conn, receipts)


class Env:
    def __init__(self, db: Database, db_path: str, account_id: int) -> None:
        self.db = db
        self.db_path = db_path
        self.account_id = account_id
        self.count = 0

    async def insert(self, *items: dict[str, Any]) -> list[int]:
        rows = []
        for item in items:
            self.count += 1
            rows.append(
                {
                    "account_id": self.account_id,
                    "message_id": f"m{self.count}",
                    "api_version": "2",
                    "sender": "InfoSMS",
                    "destination": "41793026727",
                    "text": "hello",
                    "sms_count": 1,
                    "status_id": st.PENDING_ACCEPTED.id,
                    "created_at": now_ms(),
                    **item,
                }
            )
        return await self.db.write(lambda conn: q.insert_messages(conn, self.account_id, rows))

    async def rows(self, pks: Sequence[int]) -> list[Any]:
        query = select(messages).where(messages.c.id.in_(list(pks)))
        found = await self.db.read(lambda conn: {r.id: r for r in conn.execute(query)})
        return [found[pk] for pk in pks]

    async def dispatch(self, connector: SmppConnector, pks: Sequence[int]) -> None:
        """The real dispatcher, fed leased-job lookalikes."""
        jobs = [jq.LeasedJob(0, 1, None, outbound(row)) for row in await self.rows(pks)]
        await Dispatcher(self.db, connector).handle(jobs)

    async def wait_done(self, pks: Sequence[int], timeout: float = 15.0) -> list[Any]:
        # an upper bound only (it returns as soon as they are done): generous, for a loaded machine
        async def done() -> list[Any] | None:
            rows = await self.rows(pks)
            return rows if all(r.done_at is not None for r in rows) else None

        try:
            return await eventually_async(done, timeout=timeout)
        except AssertionError:
            rows = await self.rows(pks)
            raise AssertionError(f"messages not done: {[(r.id, r.status_id) for r in rows]}") from None


@pytest.fixture
async def env(tmp_path: Any) -> AsyncIterator[Env]:
    path = str(tmp_path / "smpp.db")
    db = Database(f"sqlite:///{path}")
    await upgrade_store(db)
    account = await db.write(lambda conn: accounts.create(conn, "acct"))
    yield Env(db, path, account.id)
    await db.dispose()


def config(port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "op1",
        "host": "127.0.0.1",
        "port": port,
        "system_id": "esme",
        "password": "secret",
        "response_timeout": 1.0,
        "reconnect_min": 0.05,
        "reconnect_max": 0.2,
        "batch_deadline": 5.0,
        **overrides,
    }


async def started(connector: SmppConnector) -> SmppConnector:
    await connector.start()
    await connector.client.wait_bound(2)
    return connector


async def make(env: Env, sim: SmscSimulator, sink: Sink | None = None, **overrides: Any) -> SmppConnector:
    return await started(SmppConnector(config(sim.port, **overrides), db=env.db, receipt_sink=sink or Sink()))


def receipt_of(status: str, error: str = "NO_ERROR") -> tuple[int, int]:
    return st.status(status).id, st.error(error).id


# --- building submit_sm (no network) --------------------------------------------------------


def _row(**fields: Any) -> SimpleNamespace:
    base = {
        "id": 1,
        "api_version": "2",
        "sender": "InfoSMS",
        "destination": "41793026727",
        "text": "hello",
        "binary_hex": None,
        "data_coding": 0,
        "binary_septets": False,
        "esm_class": 0,
        "flash": False,
        "language_code": None,
        "single_shift": False,
        "locking_shift": False,
        "transliteration": None,
        "valid_until": None,
        "intermediate_report": False,
        "source_ton": None,
        "source_npi": None,
        "dest_ton": None,
        "dest_npi": None,
    }
    return SimpleNamespace(**{**base, **fields})


def _offline(**overrides: Any) -> SmppConnector:
    def sink(conn: Connection, receipts: Sequence[Receipt]) -> None:
        raise AssertionError("not called")

    return SmppConnector(config(1, **overrides), db=None, receipt_sink=sink)  # type: ignore[arg-type]


def test_submit_sm_fields_from_the_message_row() -> None:
    connector = _offline()
    (pdu,) = connector.build_submits(_row())
    assert (pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi) == ("InfoSMS", 5, 0)
    assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == ("41793026727", 1, 1)
    assert pdu.registered_delivery == 0x01 and pdu.esm_class == 0 and pdu.data_coding == 0
    assert pdu.short_message == textengine.encode("hello").parts[0].payload and pdu.validity_period == ""
    (pdu,) = connector.build_submits(_row(sender="41793026700", intermediate_report=True))
    assert (pdu.source_addr_ton, pdu.source_addr_npi, pdu.registered_delivery) == (1, 1, 0x11)
    (pdu,) = connector.build_submits(_row(sender="+41793026700"))
    assert (pdu.source_addr, pdu.source_addr_ton) == ("41793026700", 1)
    (pdu,) = connector.build_submits(_row(sender="1234"))
    assert (pdu.source_addr_ton, pdu.source_addr_npi) == (3, 0)
    (pdu,) = _offline(registered_delivery=False, source_ton=0, source_npi=9).build_submits(_row())
    assert (pdu.registered_delivery, pdu.source_addr_ton, pdu.source_addr_npi) == (0, 0, 9)


def test_the_clients_own_ton_npi_win_over_the_connectors_and_the_addresss() -> None:
    # the legacy API's srcton/srcnpi/destton/destnpi (seed 004: "12345" national is 2/1)
    row = _row(sender="12345", source_ton=2, source_npi=1, dest_ton=2, dest_npi=8)
    (pdu,) = _offline(source_ton=0, source_npi=9).build_submits(row)
    assert (pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi) == ("12345", 2, 1)
    assert (pdu.dest_addr_ton, pdu.dest_addr_npi) == (2, 8)
    (pdu,) = _offline().build_submits(_row(sender="12345"))  # none given: the address decides
    assert (pdu.source_addr_ton, pdu.source_addr_npi, pdu.dest_addr_ton) == (3, 0, 1)


def test_binary_with_the_clients_udh_and_a_wap_push() -> None:
    from smsgate.text.wap import wap_push_si

    # seed 004's GET example: binary=06050400010241424344&esmclass=64
    (pdu,) = _offline().build_submits(_row(text=None, binary_hex="06050400010241424344", esm_class=64))
    assert pdu.esm_class & 0x40 and pdu.short_message == bytes.fromhex("06050400010241424344")
    push = wap_push_si("www.example.com/x", "Hi")
    (pdu,) = _offline().build_submits(_row(text=None, binary_hex=push.hex(), esm_class=64, data_coding=4))
    assert pdu.esm_class & 0x40 and pdu.data_coding == 4
    assert pdu.short_message[:7] == bytes.fromhex("0605040b8423f0")  # port 2948
    assert pdu.short_message == push


def test_flash_is_message_class_zero() -> None:
    connector = _offline()
    assert connector.build_submits(_row(flash=True))[0].data_coding == 0xF0  # GSM 7-bit, class 0
    assert connector.build_submits(_row(flash=True, text="Привет"))[0].data_coding == 0x18  # UCS2, class 0
    assert connector.build_submits(_row(text="Привет"))[0].data_coding == 0x08
    binary = _row(flash=True, text=None, binary_hex="0a0b0c", data_coding=4)
    assert connector.build_submits(binary)[0].data_coding == 0xF4


def test_validity_period_relative_and_absolute() -> None:
    valid_until = now_ms() + 3_600_000
    (pdu,) = _offline().build_submits(_row(valid_until=valid_until))
    relative = parse_smpp_time(pdu.validity_period)
    assert isinstance(relative, timedelta) and timedelta(minutes=59) < relative <= timedelta(hours=1)
    (pdu,) = _offline(validity="absolute").build_submits(_row(valid_until=valid_until))
    absolute = parse_smpp_time(pdu.validity_period)
    assert isinstance(absolute, datetime)
    assert abs(absolute - datetime.fromtimestamp(valid_until / 1000, UTC)) < timedelta(seconds=1)


async def test_expired_and_unsendable_messages_are_rejected_without_sending() -> None:
    connector = _offline()
    expired, bad_sender = await asyncio.gather(
        connector._submit_one(_row(id=7, valid_until=now_ms() - 1000), 0.0),
        connector._submit_one(_row(id=8, sender="Ωmega"), 0.0),
    )
    assert (expired.message_pk, expired.accepted) == (7, False)  # type: ignore[union-attr]
    assert (expired.status_id, expired.error_id) == receipt_of("EXPIRED_EXPIRED", "EC_VALIDITY_EXPIRED")  # type: ignore[union-attr]
    assert (bad_sender.accepted, bad_sender.status_id) == (False, st.status("REJECTED_SOURCE").id)  # type: ignore[union-attr]
    assert connector.client.counters.submitted == 0


def test_long_binary_with_its_own_udh_keeps_it_in_every_part() -> None:
    own_ies = bytes.fromhex("05040b8423f0")  # application port addressing, 16-bit
    payload = bytes((len(own_ies),)) + own_ies + bytes(range(200))
    pdus = _offline().build_submits(_row(text=None, binary_hex=payload.hex(), data_coding=4, esm_class=0x40))
    assert len(pdus) == 2 and all(p.esm_class & 0x40 and p.data_coding == 4 for p in pdus)
    ref = pdus[0].short_message[3]
    for seq, pdu in enumerate(pdus, 1):
        assert pdu.short_message[:12] == bytes((11, 0, 3, ref, 2, seq)) + own_ies
        assert len(pdu.short_message) <= 140
    assert b"".join(p.short_message[12:] for p in pdus) == bytes(range(200))


def test_binary_parts_are_septets_when_the_row_says_so() -> None:
    # the row's binary_septets (decided at accept) rules, not its api_version
    payload = bytes(i % 128 for i in range(200)).hex()
    septets = _offline().build_submits(_row(text=None, binary_hex=payload, binary_septets=True))
    assert [len(p.short_message) for p in septets] == [6 + 153, 6 + 47]  # 8-bit concat UDH + septets
    octets = _offline().build_submits(
        _row(text=None, binary_hex=payload, api_version="smpp", binary_septets=False)
    )
    assert [len(p.short_message) for p in octets] == [140, 6 + 66]


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="unknown"):
        SmppConfig.from_dict(config(1, colour="blue"))
    with pytest.raises(ValueError, match="concatenation"):
        SmppConfig.from_dict(config(1, concatenation="glue"))
    with pytest.raises(ValueError, match="needs"):
        SmppConfig.from_dict({"name": "x"})
    with pytest.raises(ValueError, match="on_unknown_outcome"):
        SmppConfig.from_dict(config(1, on_unknown_outcome="maybe"))
    with pytest.raises(ValueError, match=r"unknown.*receipt_match_timeout"):  # gone: nothing waits any more
        SmppConfig.from_dict(config(1, receipt_match_timeout=3))
    assert SmppConfig.from_dict(config(1)).on_unknown_outcome == "resubmit"
    assert SmppConfig.from_dict(config("2775")).port == 2775


def test_the_flat_config_keys_become_the_clients_knobs() -> None:
    """The TOML keeps its flat keys; the client gets them grouped, each where it belongs."""
    c = SmppConfig.from_dict(config(1, window=3, throughput=50, enquire_interval=7, tls=True))
    client = SmppConnector(c, db=None, receipt_sink=Sink()).client  # type: ignore[arg-type]
    assert client.limits == Limits(window=3, throughput=50)
    assert client.timeouts == Timeouts(response=1.0, enquire_interval=7)
    assert client.backoff == Backoff(reconnect_min=0.05, reconnect_max=0.2)
    assert client.timeouts.bind_wait == 1.0  # no bind wait of its own: the response timeout
    assert client.ssl is True
    with pytest.raises(ValueError, match="window"):
        Limits(window=0)


# --- with the simulator and the database ----------------------------------------------------


@pytest.fixture
async def sim(env: Env) -> AsyncIterator[Simulator]:
    rules = NetworkRules(
        outcomes=(
            OutcomeRule("4178", "UNDELIVERABLE_NOT_DELIVERED", "EC_UNKNOWN_SUBSCRIBER"),
            OutcomeRule("4177", "EXPIRED_EXPIRED", "EC_VALIDITY_EXPIRED"),
            OutcomeRule("4176", "DELIVERED_TO_HANDSET", absent_first=True),
        )
    )
    simulator = Simulator(rules, db_path=env.db_path, delivery_delay=0.05, absent_delay=0.05, retry_delay=0.1)
    await simulator.start()
    yield simulator
    await simulator.close()


async def test_receipts_are_mapped_to_the_catalog_for_the_right_messages(env: Env, sim: Simulator) -> None:
    sink = Sink()
    connector = await make(env, sim, sink)
    try:
        pks = await env.insert(
            {"destination": "41793026727"}, {"destination": "41783026727"}, {"destination": "41773026727"}
        )
        await env.dispatch(connector, pks)
        rows = await env.rows(pks)
        assert all(r.connector == "op1" and r.remote_id in sim.messages for r in rows)
        assert all(r.status_id == st.PENDING_WAITING_DELIVERY.id for r in rows)
        rows = await env.wait_done(pks)
        assert [(r.status_id, r.error_id) for r in rows] == [
            receipt_of("DELIVERED_TO_HANDSET"),
            receipt_of("UNDELIVERABLE_NOT_DELIVERED", "EC_UNKNOWN_SUBSCRIBER"),
            receipt_of("EXPIRED_EXPIRED", "EC_VALIDITY_EXPIRED"),
        ]
        assert sorted(r.message_pk for r in sink.receipts) == sorted(pks)
        assert connector.counters["receipts_stored"] == 3
    finally:
        await connector.close()


async def test_intermediate_receipt_then_final(env: Env, sim: Simulator) -> None:
    sink = Sink()
    connector = await make(env, sim, sink)
    try:
        (pk,) = await env.insert({"destination": "41763026727", "intermediate_report": True})
        await env.dispatch(connector, [pk])
        await env.wait_done([pk])
        assert [(r.status_id, r.error_id) for r in sink.receipts] == [
            receipt_of("PENDING_ENROUTE", "EC_ABSENT_SUBSCRIBER"),
            receipt_of("DELIVERED_TO_HANDSET"),
        ]
        assert sim.pdus[0].registered_delivery == 0x11
    finally:
        await connector.close()


async def test_receipt_is_acknowledged_only_after_it_is_committed(env: Env, sim: Simulator) -> None:
    sink = Sink(fail_first=1)  # the first attempt to store fails: that receipt must not be acked
    connector = await make(env, sim, sink)
    try:
        (pk,) = await env.insert({})
        await env.dispatch(connector, [pk])
        (row,) = await env.wait_done([pk])
        await eventually_async(lambda: sim.receipts_acknowledged, timeout=1)
        assert sim.receipts_sent == 2 and sim.receipts_acknowledged == 1  # refused once, redelivered
        assert sim.done_at_ack == [1]  # when the SMSC got its ack, the database already had it
        assert (row.status_id, row.error_id) == receipt_of("DELIVERED_TO_HANDSET")
    finally:
        await connector.close()


async def test_receipt_that_beats_the_dispatcher_commit_is_kept_and_applied_by_it(
    env: Env, sim: Simulator
) -> None:
    sim.delivery_delay = 0.0
    sink = Sink()
    connector = await make(env, sim, sink)
    try:
        (pk,) = await env.insert({})
        results = await connector.submit(await env.rows([pk]))  # no ledger: nothing recorded yet
        await eventually_async(lambda: sim.receipts_acknowledged, timeout=2)
        # acknowledged at once (no slot held, no redelivery), kept as unmatched
        assert sim.receipts_sent == 1 and sim.receipts_acknowledged == 1 and sink.receipts == []
        assert connector.counters["receipts_unmatched"] == 1

        def late(conn: Connection) -> None:  # what the dispatcher does, late
            q.update_messages(conn, [{"pk": pk, "remote_id": results[0].remote_id, "connector": "op1"}])
            connector.commit(conn, results)

        await env.db.write(late)
        (row,) = await env.wait_done([pk])
        assert row.status_id == st.DELIVERED_TO_HANDSET.id
        assert connector.counters["receipts_matched_late"] == 1
        count = select(func.count()).select_from(unmatched_receipts)
        assert await env.db.read(lambda conn: conn.execute(count).scalar()) == 0
    finally:
        await connector.close()


async def test_receipt_for_an_unknown_id_is_acknowledged_and_kept(env: Env, sim: Simulator) -> None:
    connector = await make(env, sim)
    try:
        resp = await connector.client.submit(SubmitSm(destination_addr="41793026727", registered_delivery=1))
        await eventually_async(lambda: sim.receipts_acknowledged, timeout=2)
        assert sim.receipts_acknowledged == 1 and sim.receipts_sent == 1  # never redelivered
        assert connector.counters["receipts_unmatched"] == 1
        assert connector.status()["counters"]["receipts_unmatched"] == 1
        (kept,) = await env.db.read(lambda conn: conn.execute(select(unmatched_receipts)).all())
        assert (kept.connector, kept.remote_id, kept.status_id) == (
            "op1",
            resp.message_id,
            st.DELIVERED_TO_HANDSET.id,
        )
    finally:
        await connector.close(timeout=0.5)


@pytest.mark.parametrize("mode", ["udh", "sar", "payload"])
async def test_long_message_in_each_concatenation_mode(env: Env, sim: Simulator, mode: str) -> None:
    sink = Sink()
    connector = await make(env, sim, sink, concatenation=mode)
    try:
        (pk,) = await env.insert({"text": LONG_TEXT, "sms_count": 2})
        await env.dispatch(connector, [pk])
        septets = b"".join(p.payload for p in textengine.encode(LONG_TEXT).parts)
        if mode == "udh":
            assert len(sim.pdus) == 2
            headers = [p.short_message[:6] for p in sim.pdus]
            assert all(p.esm_class & 0x40 for p in sim.pdus)
            assert [h[:3] + h[4:] for h in headers] == [bytes((5, 0, 3, 2, 1)), bytes((5, 0, 3, 2, 2))]
            assert headers[0][3] == headers[1][3]  # one reference
            assert b"".join(p.short_message[6:] for p in sim.pdus) == septets
        elif mode == "sar":
            assert len(sim.pdus) == 2 and not any(p.esm_class & 0x40 for p in sim.pdus)
            sar = [
                (
                    p.get_tlv(TlvTag.SAR_MSG_REF_NUM),
                    p.get_tlv(TlvTag.SAR_TOTAL_SEGMENTS),
                    p.get_tlv(TlvTag.SAR_SEGMENT_SEQNUM),
                )
                for p in sim.pdus
            ]
            assert sar[0][0] == sar[1][0] and [s[1:] for s in sar] == [(2, 1), (2, 2)]
            assert b"".join(p.short_message for p in sim.pdus) == septets
        else:
            (pdu,) = sim.pdus
            assert pdu.short_message == b"" and pdu.get_tlv(TlvTag.MESSAGE_PAYLOAD) == septets
        assert "".join(m.text for m in sim.messages.values()) == LONG_TEXT
        (row,) = await env.rows([pk])
        assert row.remote_id == list(sim.messages)[-1]  # the last part's id
        await env.wait_done([pk])
        # every part's receipt was acknowledged (the positive event), and made one receipt for the message
        await eventually_async(lambda: sim.receipts_acknowledged == len(sim.pdus))
        assert [r.message_pk for r in sink.receipts] == [pk]  # one receipt for the message
        assert sim.receipts_acknowledged == len(sim.pdus)  # every part's receipt was acknowledged
    finally:
        await connector.close()


async def test_failed_earlier_part_fails_the_message(env: Env, sim: Simulator) -> None:
    sim.delivery_delay = 60  # the SMSC's own receipts must not end the message first
    sink = Sink()
    connector = await make(env, sim, sink)
    try:
        (pk,) = await env.insert({"text": LONG_TEXT, "sms_count": 2})
        await env.dispatch(connector, [pk])
        # Rewrite history: the first part's receipt says undelivered (the last part's says delivered).
        first_id = next(iter(sim.messages))
        status = await connector._store_receipt(DeliveryReceipt(id=first_id, stat="UNDELIV", err=1))
        assert status == OK
        (row,) = await env.wait_done([pk])
        assert (row.status_id, row.error_id) == receipt_of(
            "UNDELIVERABLE_NOT_DELIVERED", "EC_UNKNOWN_SUBSCRIBER"
        )
    finally:
        await connector.close()


async def test_permanent_smsc_error_rejects_the_message(env: Env, sim: Simulator) -> None:
    sim.reject_prefixes = {
        "4179999": CommandStatus.ESME_RINVDSTADR,
        "4179888": CommandStatus.ESME_RSUBMITFAIL,
    }
    sink = Sink()
    connector = await make(env, sim, sink)
    try:
        pks = await env.insert({"destination": "41799990000"}, {"destination": "41798880000"}, {})
        await env.dispatch(connector, pks)
        bad, failed, good = await env.rows(pks)
        assert (bad.status_id, bad.error_id) == receipt_of(
            "REJECTED_DESTINATION", "EC_INVALID_DESTINATION_ADDRESS"
        )
        assert (failed.status_id, failed.error_id) == receipt_of(
            "REJECTED_NOT_SENT", "EC_NOTSUBMITTEDTOSMPPCHANNEL"
        )
        assert bad.done_at is not None and failed.done_at is not None  # final: reported like any other end
        assert bad.remote_id is None and good.remote_id in sim.messages
        assert connector.counters["rejected"] == 2 and connector.counters["accepted"] == 1
    finally:
        await connector.close()


async def test_throttling_is_absorbed_and_everything_is_accepted(env: Env, sim: Simulator) -> None:
    sim.throttle_every = 4
    connector = await make(env, sim)
    connector.client.backoff = replace(connector.client.backoff, throttle_min=0.02)
    try:
        pks = await env.insert(*({"destination": f"4179302{i:04d}"} for i in range(12)))
        results = await connector.submit(await env.rows(pks))
        assert [r.message_pk for r in results] == pks and all(r.accepted for r in results)
        assert {r.remote_id for r in results} == set(sim.messages)
        assert connector.client.counters.throttled >= 3
    finally:
        await connector.close()


async def test_link_down_raises_connector_unavailable_with_every_message_to_retry(env: Env) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    connector = SmppConnector(config(port, response_timeout=0.2), db=env.db, receipt_sink=Sink())
    await connector.start()
    try:
        pks = await env.insert({}, {})
        with pytest.raises(ConnectorUnavailable) as exc:
            await connector.submit(await env.rows(pks))
        assert exc.value.results == [] and exc.value.retry == pks
        assert connector.status()["state"] in ("connecting", "backoff")
    finally:
        await connector.close()


async def test_link_dropped_mid_batch_settles_what_was_acknowledged(env: Env, sim: Simulator) -> None:
    sim.submit_delay = 0.02
    sim.drop_after_submits = 3
    connector = await make(env, sim)
    try:
        pks = await env.insert(*({"destination": f"4179302{i:04d}"} for i in range(10)))
        with pytest.raises(ConnectorUnavailable) as exc:
            await connector.submit(await env.rows(pks))
        settled, retry = exc.value.results, exc.value.retry
        assert retry and sorted([r.message_pk for r in settled] + retry) == sorted(pks)
        assert all(r.accepted and r.remote_id in sim.messages for r in settled)
        again = await connector.submit(await env.rows(retry))  # after the reconnect
        assert all(r.accepted for r in again)
        assert connector.client.counters.reconnects == 1
        assert len({r.remote_id for r in [*settled, *again]}) == 10
    finally:
        await connector.close(timeout=0.2)  # nobody commits these: their receipts wait in vain


async def test_inbound_message_is_stored_before_it_is_acknowledged(env: Env, sim: Simulator) -> None:
    stored: list[InboundSms] = []
    release, called = asyncio.Event(), asyncio.Event()

    async def inbound(message: InboundSms) -> None:
        called.set()
        await release.wait()
        stored.append(message)

    connector = SmppConnector(config(sim.port), db=env.db, receipt_sink=Sink(), inbound_sink=inbound)
    await started(connector)
    try:
        answer = asyncio.create_task(sim.originate("41793026727", "12345", "hello there", timeout=2))
        await asyncio.wait_for(called.wait(), 2)  # the sink has the message and has not returned
        assert not answer.done()
        release.set()
        (resp,) = await answer
        assert resp.command_status == OK
        (message,) = stored
        assert (message.connector, message.source_addr, message.destination_addr) == (
            "op1",
            "41793026727",
            "12345",
        )
        assert message.payload == textengine.encode("hello there").parts[0].payload and message.sar is None
    finally:
        await connector.close()


async def test_inbound_message_without_a_sink_is_refused(env: Env, sim: Simulator) -> None:
    connector = await make(env, sim)
    try:
        (resp,) = await sim.originate("41793026727", "12345", "hello", timeout=2)
        assert resp.command_status == CommandStatus.ESME_RX_P_APPN
    finally:
        await connector.close()


async def test_status_for_connector_list(env: Env, sim: Simulator) -> None:
    connector = await make(env, sim)
    try:
        (pk,) = await env.insert({})
        await connector.submit(await env.rows([pk]))
        status = connector.status()
        assert status["name"] == "op1" and status["kind"] == "smpp" and status["state"] == "bound"
        assert status["address"] == f"127.0.0.1:{sim.port}"
        assert status["counters"]["submitted"] == 1 and status["counters"]["accepted"] == 1
        assert {"throttled", "reconnects", "receipts", "submit_errors"} <= set(status["counters"])
    finally:
        await connector.close()
    assert connector.status()["state"] == "closed"
