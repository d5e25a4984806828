"""Customers over SMPP: smpplib (an independent, blocking client) binds to a live `smsgate serve`
with an account's SMPP credentials (`smsgate account smpp`), submits, and gets delivery receipts as
deliver_sm.

The pure parts (submit decoding, receipt building) are tested directly first; then one gateway
process serves most live tests (each on its own account, so binds do not interfere), and the
restart and TLS tests run their own.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import struct
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions
from job_queue import jobs_of
from live import ADMIN_TOKEN, Credentials, LiveGateway, free_port, metric, wait_for

from smsgate.config import Settings
from smsgate.domain.dates import to_ms
from smsgate.domain.messages import ReportChannel
from smsgate.domain.statuses import ERROR_BY_NAME, STATUS_BY_NAME
from smsgate.smpp import (
    BindTransceiver,
    CommandStatus,
    DataSm,
    MessageState,
    ReceiptStat,
    SubmitSm,
    build_tlvs,
    decode_pdu,
    encode_pdu,
    format_smpp_time,
    receipt_from_deliver_sm,
)
from smsgate.smpp.tlv import NetworkErrorCode
from smsgate.smpp_edge.deliver import receipt_pdu
from smsgate.smpp_edge.service import SmppService
from smsgate.smpp_edge.submit import SubmitRefused, message_request
from smsgate.store.accounts import Account

NOW = to_ms(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
UNDELIVERABLE_PREFIX = "4179000"
ABSENT_FIRST_PREFIX = "4179302"
CONFIG = f"""
[[simulator.outcomes]]
prefix = "{UNDELIVERABLE_PREFIX}"
status = "UNDELIVERABLE_NOT_DELIVERED"
error = "EC_UNKNOWN_SUBSCRIBER"
[[simulator.outcomes]]
prefix = "{ABSENT_FIRST_PREFIX}"
status = "DELIVERED_TO_HANDSET"
absent_first = true
"""


# --- submit_sm -> MessageRequest (pure) ------------------------------------------------------


def test_gsm_text_with_receipt_requested() -> None:
    pdu = SubmitSm(
        source_addr="Shop",
        destination_addr="41791234567",
        registered_delivery=1,
        short_message=b"Hello \x00 world",
    )  # 0x00 is '@' in GSM 7-bit, unpacked as SMPP carries it
    msg = message_request(pdu, NOW)
    assert msg.text == "Hello @ world" and msg.binary_hex is None
    assert msg.sender == "Shop" and [d.to for d in msg.destinations] == ["41791234567"]
    assert msg.report_channel == ReportChannel.SMPP and msg.notify_url is None
    assert not msg.intermediate_report and not msg.flash


def test_registered_delivery_bits() -> None:
    def channel(rd: int) -> tuple[ReportChannel | None, bool]:
        m = message_request(SubmitSm(destination_addr="41791234567", registered_delivery=rd), NOW)
        assert m.notify_url is None
        return m.report_channel, m.intermediate_report

    assert channel(0) == (None, False)
    assert channel(1) == (ReportChannel.SMPP, False)
    assert channel(2) == (ReportChannel.SMPP_FAILURES, False)
    assert channel(0x11) == (ReportChannel.SMPP, True)
    assert channel(0x10) == (None, False)  # intermediates travel with final receipts only


def test_alphabets_and_flash() -> None:
    def text(data_coding: int, payload: bytes) -> tuple[str | None, bool]:
        m = message_request(
            SubmitSm(destination_addr="41791234567", data_coding=data_coding, short_message=payload), NOW
        )
        return m.text, m.flash

    assert text(8, "Привет 😀".encode("utf-16-be")) == ("Привет 😀", False)
    assert text(3, "café".encode("latin-1")) == ("café", False)
    assert text(1, b"plain") == ("plain", False)
    assert text(6, "Мир".encode("iso8859_5")) == ("Мир", False)
    assert text(0xF0, b"flash") == ("flash", True)
    assert text(0x18, "ß".encode("utf-16-be")) == ("ß", True)  # UCS-2, message class 0
    with pytest.raises(SubmitRefused) as odd:
        text(8, b"\x00A\x00")
    assert odd.value.status == CommandStatus.ESME_RINVMSGLEN


def test_message_payload_wins_and_data_sm_works() -> None:
    long_text = "x" * 400
    sm = SubmitSm(destination_addr="41791234567", tlvs=build_tlvs(message_payload=long_text.encode()))
    assert message_request(sm, NOW).text == long_text
    data = DataSm(
        source_addr="12345",
        destination_addr="41791234567",
        registered_delivery=1,
        tlvs=build_tlvs(message_payload=b"via data sm"),
    )
    msg = message_request(data, NOW)
    assert (msg.text, msg.sender, msg.report_channel) == ("via data sm", "12345", ReportChannel.SMPP)


def test_binary_and_customer_concatenation_pass_through_as_binary_parts() -> None:
    octets = message_request(
        SubmitSm(destination_addr="41791234567", data_coding=4, short_message=b"\x01\x02"), NOW
    )
    assert (octets.text, octets.binary_hex, octets.data_coding, octets.esm_class) == (None, "0102", 4, 0)

    udh = bytes((5, 0, 3, 0x2A, 2, 1))
    part = message_request(
        SubmitSm(destination_addr="41791234567", esm_class=0x40, short_message=udh + b"Part one"), NOW
    )
    assert part.text is None and part.binary_hex == (udh + b"Part one").hex()
    assert (part.data_coding, part.esm_class) == (0, 0x40)

    sar = SubmitSm(
        destination_addr="41791234567",
        data_coding=8,
        short_message="два".encode("utf-16-be"),
        tlvs=build_tlvs(sar_msg_ref_num=7, sar_total_segments=3, sar_segment_seqnum=2),
    )
    converted = message_request(sar, NOW)
    assert converted.binary_hex == (bytes((5, 0, 3, 7, 3, 2)) + "два".encode("utf-16-be")).hex()
    assert (converted.data_coding, converted.esm_class) == (8, 0x40)

    with pytest.raises(SubmitRefused) as bad_udh:
        message_request(
            SubmitSm(destination_addr="41791234567", esm_class=0x40, short_message=b"\x09ab"), NOW
        )
    assert bad_udh.value.status == CommandStatus.ESME_RINVESMCLASS


def test_schedule_and_validity_absolute_or_relative() -> None:
    in_10_min = datetime.fromtimestamp(NOW / 1000, UTC) + timedelta(minutes=10)
    pdu = SubmitSm(
        destination_addr="41791234567",
        schedule_delivery_time=format_smpp_time(in_10_min),
        validity_period=format_smpp_time(timedelta(hours=1)),
    )
    msg = message_request(pdu, NOW)
    assert msg.send_at_ms == NOW + 600_000
    assert (
        msg.validity_ms == 3_600_000 - 600_000
    )  # validity counts from the send time; a relative one from now

    capped = message_request(
        SubmitSm(destination_addr="41791234567", validity_period="000010000000000R"), NOW
    )
    assert capped.validity_ms == 48 * 3_600_000  # 10 days asked, the 48 h maximum given

    past = SubmitSm(destination_addr="41791234567", schedule_delivery_time=format_smpp_time(timedelta(0)))
    assert message_request(past, NOW).send_at_ms is None

    cases = [
        (SubmitSm(destination_addr="41791234567", validity_period="garbage"), CommandStatus.ESME_RINVEXPIRY),
        (
            SubmitSm(destination_addr="41791234567", schedule_delivery_time="2501011200000"),
            CommandStatus.ESME_RINVSCHED,
        ),
        (
            SubmitSm(
                destination_addr="41791234567",
                validity_period=format_smpp_time(in_10_min - timedelta(hours=1)),
            ),
            CommandStatus.ESME_RINVEXPIRY,
        ),
        (
            SubmitSm(source_addr="far too long sender", destination_addr="41791234567"),
            CommandStatus.ESME_RINVSRCADR,
        ),
        (SubmitSm(destination_addr=" "), CommandStatus.ESME_RINVDSTADR),
    ]
    for pdu, status in cases:
        with pytest.raises(SubmitRefused) as refused:
            message_request(pdu, NOW)
        assert refused.value.status == status, pdu


# --- receipt building (pure) -----------------------------------------------------------------


def _row(**overrides):  # type: ignore[no-untyped-def]
    row = {
        "message_id": "018f00aa11bb22cc33dd44ee55",
        "sender": "Shop",
        "destination": "41791234567",
        "created_at": NOW,
        "done_at": NOW + 61_000,
    }
    return SimpleNamespace(**{**row, **overrides})


def _ids(status: str, error: str = "NO_ERROR") -> tuple[int, int]:
    return STATUS_BY_NAME[status].id, ERROR_BY_NAME[error].id


def test_receipt_pdu_round_trips_through_the_codec() -> None:
    pdu = receipt_pdu(_row(), *_ids("DELIVERED_TO_HANDSET"), intermediate=False, now=NOW)
    receipt = receipt_from_deliver_sm(decode_pdu(encode_pdu(pdu.replace(sequence_number=1))))
    assert receipt is not None
    assert receipt.id == "018f00aa11bb22cc33dd44ee55" and receipt.stat is ReceiptStat.DELIVRD
    assert receipt.message_state == MessageState.DELIVERED and receipt.err == 0
    assert receipt.submit_date == datetime(2025, 3, 1, 12, 0) and receipt.done_date == datetime(
        2025, 3, 1, 12, 1
    )
    assert (pdu.source_addr, pdu.destination_addr, pdu.esm_class) == ("41791234567", "Shop", 0x04)
    assert (pdu.dest_addr_ton, pdu.source_addr_ton) == (5, 1)

    status_id, error_id = _ids("UNDELIVERABLE_NOT_DELIVERED", "EC_UNKNOWN_SUBSCRIBER")
    parsed = receipt_from_deliver_sm(receipt_pdu(_row(), status_id, error_id, intermediate=False, now=NOW))
    assert parsed is not None and parsed.stat is ReceiptStat.UNDELIV and parsed.err == error_id
    assert parsed.network_error_code == NetworkErrorCode(3, error_id)

    interim = receipt_pdu(
        _row(done_at=None), *_ids("PENDING_ENROUTE", "EC_ABSENT_SUBSCRIBER"), intermediate=True, now=NOW
    )
    assert interim.esm_class == 0x20
    assert receipt_from_deliver_sm(interim).stat is ReceiptStat.ENROUTE  # type: ignore[union-attr]


# --- the bind policy, with a stand-in gateway ------------------------------------------------


class _Accounts:
    async def by_smpp(self, system_id: str, password: str) -> Account | None:
        return Account(7, system_id, system_id, True) if password == "secret" else None


def _service(**settings) -> SmppService:  # type: ignore[no-untyped-def]
    gateway = SimpleNamespace(settings=Settings(smpp_port=0, **settings), db=None, accounts=_Accounts())
    return SmppService(gateway.settings, gateway.db, gateway.accounts, None)  # type: ignore[arg-type]


class _Session:
    def __init__(self, ip: str) -> None:
        self.peer, self.closed = (ip, 40000), False


def _session(ip: str) -> _Session:
    return _Session(ip)


async def test_allowed_ips_and_bind_limit(caplog: pytest.LogCaptureFixture) -> None:
    service = _service(smpp_allowed_ips=("10.1.0.0/16", "::1"), smpp_max_binds=1)
    bind = BindTransceiver(system_id="acme", password="secret")
    assert await service.authenticate(_session("192.0.2.7"), bind) == CommandStatus.ESME_RBINDFAIL
    assert "not in smpp_allowed_ips" in caplog.text
    first = _session("10.1.2.3")
    assert await service.authenticate(first, bind) == CommandStatus.ESME_ROK
    assert (
        await service.authenticate(_session("::ffff:10.1.9.9"), bind) == CommandStatus.ESME_RBINDFAIL
    )  # limit
    assert "smpp_max_binds" in caplog.text
    first.closed = True  # its bind never completed, or it ended: the slot is free again
    assert await service.authenticate(_session("::1"), bind) == CommandStatus.ESME_ROK


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="smpp_allowed_ips"):
        _service(smpp_allowed_ips=("10.0.0.300/8",))
    with pytest.raises(ValueError, match="go together"):
        _service(smpp_tls_cert="cert.pem")


# --- against a live gateway ------------------------------------------------------------------


def smpp_account(gw: LiveGateway, name: str) -> Credentials:
    """An account with SMPP credentials of its own (its web password is longer than SMPP allows)."""
    return gw.set_smpp_credentials(gw.create_account(name))


class Esme:
    """A blocking smpplib client that answers deliver_sm and enquire_link while it waits."""

    def __init__(self, port: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self.client = smpplib.client.Client(
            "127.0.0.1", port, timeout=5, allow_unknown_opt_params=True, ssl_context=ssl_context
        )
        self.client.connect()
        self.delivered: list = []

    def bind(self, creds: Credentials, mode: str = "transceiver", password: str | None = None):  # type: ignore[no-untyped-def]
        bind = getattr(self.client, f"bind_{mode}")
        return bind(
            system_id=creds.system_id or creds.username,
            password=creds.smpp_password if password is None else password,
        )

    def _handle(self, pdu) -> None:  # type: ignore[no-untyped-def]
        if pdu.command == "deliver_sm":
            self.delivered.append(pdu)
            resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=self.client)
            resp.sequence = pdu.sequence
            self.client.send_pdu(resp)
        elif pdu.command == "enquire_link":
            resp = smpplib.smpp.make_pdu("enquire_link_resp", client=self.client)
            resp.sequence = pdu.sequence
            self.client.send_pdu(resp)

    def submit(self, **fields):  # type: ignore[no-untyped-def]
        fields.setdefault("source_addr", "Shop")
        fields.setdefault("source_addr_ton", 5)
        sent = self.client.send_message(**fields)
        while True:
            pdu = self.client.read_pdu()
            if pdu.command == "submit_sm_resp" and pdu.sequence == sent.sequence:
                return pdu
            self._handle(pdu)

    def receipt_for(self, message_id: str, timeout: float = 10.0, esm_class: int = 0x04):  # type: ignore[no-untyped-def]
        """The deliver_sm receipt (0x04; 0x20: intermediate notification) naming ``message_id``;
        AssertionError if none comes in time."""
        deadline = time.monotonic() + timeout
        while True:
            for pdu in self.delivered:
                if f"id:{message_id} ".encode() in pdu.short_message and pdu.esm_class == esm_class:
                    return pdu
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no receipt for {message_id} within {timeout}s"
            self.listen(min(remaining, 0.5))

    def listen(self, seconds: float) -> None:
        """Take what arrives for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self.client._socket.settimeout(remaining)
            try:
                pdu = self.client.read_pdu()
            except TimeoutError:
                break
            finally:
                self.client._socket.settimeout(5)
            self._handle(pdu)

    def close(self) -> None:
        try:
            if self.client.state in (
                smpplib.consts.SMPP_CLIENT_STATE_BOUND_TX,
                smpplib.consts.SMPP_CLIENT_STATE_BOUND_RX,
                smpplib.consts.SMPP_CLIENT_STATE_BOUND_TRX,
            ):
                self.client.send_pdu(smpplib.smpp.make_pdu("unbind", client=self.client))
                while (pdu := self.client.read_pdu()).command != "unbind_resp":
                    self._handle(pdu)
        except (smpplib.exceptions.ConnectionError, OSError):
            pass
        self.client.disconnect()


def final_log(gw: LiveGateway, creds: Credentials, message_id: str) -> dict | None:
    r = httpx.get(gw.base_url + "/sms/1/logs", params={"messageId": message_id}, headers=creds.app)
    results = r.json()["results"]
    if results and results[0]["status"]["groupName"] not in ("PENDING", "ACCEPTED"):
        return results[0]
    return None


def refused_status(call) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(smpplib.exceptions.PDUError) as refused:
        call()
    return int(refused.value.args[1])


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    data = tmp_path_factory.mktemp("smpp-gateway")
    config = data / "smsgate.toml"
    config.write_text(CONFIG)
    gateway = LiveGateway(
        data,
        env_extra={
            "SMSGATE_SMPP_PORT": str(free_port()),
            "SMSGATE_SMPP_MAX_BINDS": "2",
            "SMSGATE_CONFIG": str(config),
            "SMSGATE_SMPP_DLR_RETRY": "0.3",
        },
    )
    gateway.smpp_port = int(gateway.env_extra["SMSGATE_SMPP_PORT"])  # type: ignore[attr-defined]
    gateway.accounts = {n: smpp_account(gateway, n) for n in ("alpha", "beta", "gamma", "delta")}  # type: ignore[attr-defined]
    gateway.start()
    yield gateway
    gateway.stop()


def test_bind_submit_gsm_and_ucs2_and_receive_receipts(gw) -> None:  # type: ignore[no-untyped-def]
    creds = gw.accounts["alpha"]
    esme = Esme(gw.smpp_port)
    try:
        resp = esme.bind(creds)
        assert resp.system_id == b"smsgate"
        gsm = esme.submit(
            destination_addr="41791234567", short_message=b"Hello from SMPP", registered_delivery=1
        )
        ucs2 = esme.submit(
            destination_addr="41791234568",
            data_coding=8,
            registered_delivery=1,
            short_message="Привет, мир".encode("utf-16-be"),
        )
        assert gsm.status == ucs2.status == CommandStatus.ESME_ROK
        ids = [gsm.message_id.decode(), ucs2.message_id.decode()]
        assert len(set(ids)) == 2 and all(ids)

        for message_id, text in zip(ids, ["Hello from SMPP", "Привет, мир"], strict=True):
            log = wait_for(lambda m=message_id: final_log(gw, creds, m))
            assert log["messageId"] == message_id and log["text"] == text
            assert log["status"]["name"] == "DELIVERED_TO_HANDSET" and log["from"] == "Shop"
            receipt = esme.receipt_for(message_id)
            assert b"stat:DELIVRD" in receipt.short_message and b"err:000" in receipt.short_message
            assert receipt.esm_class == 0x04
            assert receipt.receipted_message_id.rstrip(b"\0").decode() == message_id
            assert receipt.source_addr == log["to"].encode() and receipt.destination_addr == b"Shop"
        # the report went out over SMPP, so it is not handed out again by the pull endpoint
        pulled = httpx.get(gw.base_url + "/sms/1/reports", headers=creds.app).json()["results"]
        assert not {r["messageId"] for r in pulled} & set(ids)
    finally:
        esme.close()


def test_bad_credentials_are_refused(gw) -> None:  # type: ignore[no-untyped-def]
    creds = gw.accounts["beta"]
    esme = Esme(gw.smpp_port)
    try:
        assert refused_status(lambda: esme.bind(creds, password="wrong")) == CommandStatus.ESME_RINVPASWD
        nobody = Credentials("nobody", "", "nobody", "whatever")
        assert refused_status(lambda: esme.bind(nobody)) == CommandStatus.ESME_RINVSYSID
        gw.cli("account", "disable", "delta")
        disabled = gw.accounts["delta"]
        assert refused_status(lambda: esme.bind(disabled)) == CommandStatus.ESME_RINVPASWD
        esme.bind(creds)  # the same connection binds once the credentials are right
        assert (
            esme.submit(destination_addr="41791234567", short_message=b"ok").status == CommandStatus.ESME_ROK
        )
    finally:
        esme.close()


def test_binds_use_the_smpp_credentials_not_the_web_password(gw) -> None:  # type: ignore[no-untyped-def]
    # web passwords of 8 characters, which SMPP could carry: refused all the same
    for name in ("webpw", "nosmpp"):
        gw.cli("account", "create", name, "--username", name, "--password", "web12345")
    creds = gw.set_smpp_credentials(Credentials("webpw", "", "webpw", "web12345"))
    esme = Esme(gw.smpp_port)
    try:
        web = Credentials("webpw", "", "webpw", "web12345", system_id="webpw", smpp_password="web12345")
        assert refused_status(lambda: esme.bind(web)) == CommandStatus.ESME_RINVSYSID
        assert refused_status(lambda: esme.bind(creds, password="web12345")) == CommandStatus.ESME_RINVPASWD
        never = Credentials("nosmpp", "", "nosmpp", "web12345", system_id="nosmpp", smpp_password="web12345")
        assert refused_status(lambda: esme.bind(never)) == CommandStatus.ESME_RINVSYSID
        resp = esme.bind(creds)  # smpplib raises on anything but ESME_ROK
        assert resp.status == CommandStatus.ESME_ROK
    finally:
        esme.close()
    # the refusal of the account without SMPP credentials says so (a warning: the operator's to fix)
    wait_for(lambda: "account 'nosmpp' has no SMPP credentials" in gw.log_path.read_text(), timeout=5)
    # changed credentials bind at once; the old password no longer does
    gw.cli("account", "smpp", "webpw", "--system-id", creds.system_id, "--password", "new-pw")
    again = Esme(gw.smpp_port)
    try:
        assert refused_status(lambda: again.bind(creds)) == CommandStatus.ESME_RINVPASWD
        again.bind(creds, password="new-pw")
    finally:
        again.close()
    gw.cli("account", "smpp", "webpw", "--remove")
    last = Esme(gw.smpp_port)
    try:
        assert refused_status(lambda: last.bind(creds, password="new-pw")) == CommandStatus.ESME_RINVSYSID
    finally:
        last.close()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--system-id", "s" * 16, "--password", "pw"],
            "system_id is 16 characters long; SMPP 3.4 allows at most 15",
        ),
        (
            ["--system-id", "ok", "--password", "p" * 9],
            "password is 9 characters long; SMPP 3.4 allows at most 8",
        ),
        (["--system-id", "with space", "--password", "pw"], "printable ASCII without spaces"),
        (["--system-id", "ok"], "give both --system-id and --password"),
    ],
)
def test_smpp_credentials_beyond_smpp_are_refused(gw, args: list[str], error: str) -> None:  # type: ignore[no-untyped-def]
    result = gw.cli("account", "smpp", "alpha", *args, check=False)
    assert result.returncode != 0
    assert error in " ".join((result.stdout + result.stderr).split())


def test_a_system_id_belongs_to_one_account(gw) -> None:  # type: ignore[no-untyped-def]
    taken = gw.accounts["alpha"].system_id
    result = gw.cli("account", "smpp", "beta", "--system-id", taken, "--password", "x", check=False)
    assert result.returncode == 1 and "belongs to account 'alpha'" in " ".join(result.stdout.split())
    shown = gw.cli("account", "smpp", "alpha").stdout
    assert f"SMPP system_id {taken}" in shown


def test_bind_limit_per_account(gw) -> None:  # type: ignore[no-untyped-def]
    creds = gw.accounts["gamma"]
    first, second, third = Esme(gw.smpp_port), Esme(gw.smpp_port), Esme(gw.smpp_port)
    try:
        first.bind(creds, "transmitter")
        second.bind(creds, "receiver")
        assert refused_status(lambda: third.bind(creds)) == CommandStatus.ESME_RBINDFAIL
        assert _open_binds(gw, "gamma") == 2  # /metrics: the refused one is not open
        other = Esme(gw.smpp_port)
        other.bind(gw.accounts["beta"])  # another account's binds are its own
        other.close()
        first.close()
        wait_for(lambda: _binds(third, creds), timeout=5)  # a freed slot can be taken
    finally:
        for esme in (first, second, third):
            esme.close()


def _open_binds(gw: LiveGateway, account: str) -> float:
    return metric(gw.metrics(), "smsgate_smpp_customer_binds", account=account)


def _binds(esme: Esme, creds: Credentials) -> bool:
    """True when a bind succeeds now (the server may not have seen the unbind yet)."""
    try:
        esme.bind(creds)
        return True
    except smpplib.exceptions.PDUError:
        return False


def test_no_receipt_without_registered_delivery_and_failures_only(gw) -> None:  # type: ignore[no-untyped-def]
    creds = gw.accounts["beta"]
    esme = Esme(gw.smpp_port)
    try:
        esme.bind(creds)
        silent = esme.submit(
            destination_addr="41791230001", short_message=b"no receipt", registered_delivery=0
        )
        ok_failure_only = esme.submit(
            destination_addr="41791230002", short_message=b"fine", registered_delivery=2
        )
        failed = esme.submit(
            destination_addr=UNDELIVERABLE_PREFIX + "1234", short_message=b"doomed", registered_delivery=2
        )
        ids = [p.message_id.decode() for p in (silent, ok_failure_only, failed)]
        receipt = esme.receipt_for(ids[2])
        assert b"stat:UNDELIV" in receipt.short_message and b"err:001" in receipt.short_message
        for message_id in ids:
            wait_for(lambda m=message_id: final_log(gw, creds, m))
        esme.listen(1.5)  # receipts would be due by now
        receipted = {p.receipted_message_id.rstrip(b"\0").decode() for p in esme.delivered}
        assert receipted == {ids[2]}
        # the silent one is left for the pull endpoint, as an HTTP message without notifyUrl
        pulled = {
            r["messageId"]
            for r in httpx.get(gw.base_url + "/sms/1/reports", headers=creds.app).json()["results"]
        }
        assert ids[0] in pulled and ids[1] not in pulled
    finally:
        esme.close()


def test_invalid_destination_is_refused_and_logged(gw) -> None:  # type: ignore[no-untyped-def]
    creds = gw.accounts["beta"]
    esme = Esme(gw.smpp_port)
    try:
        esme.bind(creds, "transmitter")
        resp = esme.submit(destination_addr="not-a-number", short_message=b"x", registered_delivery=1)
        assert resp.status == CommandStatus.ESME_RINVDSTADR
        bad_sender = esme.submit(source_addr="x" * 15, destination_addr="41791234567", short_message=b"x")
        assert bad_sender.status == CommandStatus.ESME_RINVSRCADR
        rows = httpx.get(gw.base_url + "/sms/1/logs", params={"to": "not-a-number"}, headers=creds.app).json()
        assert [r["status"]["name"] for r in rows["results"]] == ["REJECTED_DESTINATION"]
    finally:
        esme.close()


def test_receipt_waits_for_a_receiver(gw) -> None:  # type: ignore[no-untyped-def]
    creds = gw.accounts["alpha"]
    tx = Esme(gw.smpp_port)
    tx.bind(creds, "transmitter")  # a transmitter cannot take receipts
    message_id = tx.submit(
        destination_addr="41791239999", short_message=b"later", registered_delivery=1
    ).message_id.decode()
    tx.close()
    wait_for(lambda: final_log(gw, creds, message_id))
    # with nobody to take it, the receipt waits in the queue untouched: no process leases it and puts
    # it back (several retry delays of 0.3 s go by)
    wait_for(lambda: [j for j in jobs_of(gw, message_id) if j.kind == "smpp_dlr"])
    time.sleep(1.0)
    assert [j.attempts for j in jobs_of(gw, message_id) if j.kind == "smpp_dlr"] == [0]
    rx = Esme(gw.smpp_port)
    try:
        rx.bind(creds, "receiver")
        assert b"stat:DELIVRD" in rx.receipt_for(message_id, timeout=5).short_message
    finally:
        rx.close()


def test_intermediate_notification_then_final_receipt(gw) -> None:  # type: ignore[no-untyped-def]
    creds = gw.accounts["gamma"]
    esme = Esme(gw.smpp_port)
    try:
        esme.bind(creds)
        message_id = esme.submit(
            destination_addr=ABSENT_FIRST_PREFIX + "1234",
            short_message=b"absent first",
            registered_delivery=0x11,
        ).message_id.decode()
        final = esme.receipt_for(message_id)
        assert b"stat:DELIVRD" in final.short_message
        mine = [p for p in esme.delivered if p.receipted_message_id.rstrip(b"\0").decode() == message_id]
        assert [p.esm_class for p in mine] == [0x20, 0x04]  # the notification came first
        assert b"stat:ENROUTE" in mine[0].short_message
        assert mine[0].network_error_code is not None  # absent subscriber, as a GSM error
    finally:
        esme.close()


def test_query_sm(gw) -> None:  # type: ignore[no-untyped-def]
    creds = gw.accounts["gamma"]
    esme = Esme(gw.smpp_port)
    try:
        esme.bind(creds)  # smpplib sends query_sm only as rx or trx
        message_id = esme.submit(
            destination_addr="41791234567", short_message=b"query me"
        ).message_id.decode()
        wait_for(lambda: final_log(gw, creds, message_id))

        def query(mid: str):  # type: ignore[no-untyped-def]
            sent = esme.client.query_message(message_id=mid, source_addr_ton=5, source_addr="Shop")
            while (pdu := esme.client.read_pdu()).sequence != sent.sequence:
                esme._handle(pdu)
            return pdu

        answer = query(message_id)
        assert answer.status == 0 and answer.message_state == MessageState.DELIVERED
        assert len(answer.final_date.rstrip(b"\0")) == 16  # an absolute SMPP time
        assert query("no-such-id").status == CommandStatus.ESME_RINVMSGID
        theirs = gw.accounts["alpha"]  # another account's message is not found either
        other = Esme(gw.smpp_port)
        other.bind(theirs, "transmitter")
        foreign = other.submit(destination_addr="41791234567", short_message=b"x").message_id.decode()
        other.close()
        assert query(foreign).status == CommandStatus.ESME_RINVMSGID
    finally:
        esme.close()


def test_inbound_messages_to_an_smpp_number_arrive_as_deliver_sm(gw) -> None:  # type: ignore[no-untyped-def]
    creds = gw.accounts["gamma"]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    number = httpx.post(
        gw.base_url + "/admin/1/numbers",
        headers=admin,
        json={"number": "41790000111", "account": creds.name, "action": "smpp"},
    )
    assert number.status_code == 201 and number.json()["action"] == "smpp"

    def simulate(text: str) -> str:
        r = httpx.post(
            gw.base_url + "/admin/1/simulate/inbound",
            headers=admin,
            json={"from": "41795550000", "to": "41790000111", "text": text},
        )
        assert r.status_code == 200, r.text
        return r.json()["messageId"]

    first = simulate("first, while nobody listens")  # waits for a receiver
    # it finds nobody and waits in the queue, untouched (nobody leases it for want of a receiver)
    wait_for(lambda: jobs_of(gw, first, inbound=True))
    time.sleep(0.5)
    assert [j.attempts for j in jobs_of(gw, first, inbound=True)] == [0]
    esme = Esme(gw.smpp_port)
    try:
        esme.bind(creds, "receiver")
        simulate("Grüezi 😀")
        long_text = "long " * 80  # 400 GSM characters, reassembled from 3 parts
        simulate(long_text)

        def mo_texts() -> list[str]:
            out = []
            for pdu in esme.delivered:
                if pdu.esm_class != 0:
                    continue
                payload = pdu.short_message or pdu.message_payload
                out.append(payload.decode("utf-16-be") if pdu.data_coding == 8 else payload.decode("latin-1"))
            return out

        wait_for(lambda: esme.listen(0.3) or len(mo_texts()) >= 3, timeout=10)
        assert sorted(mo_texts()) == sorted(["first, while nobody listens", "Grüezi 😀", long_text])
        mo = [p for p in esme.delivered if p.esm_class == 0]
        assert {p.source_addr for p in mo} == {b"41795550000"} and {p.destination_addr for p in mo} == {
            b"41790000111"
        }
        # delivered over SMPP, so not left in the inbox as well
        inbox = httpx.get(gw.base_url + "/sms/1/inbox/reports", headers=creds.app).json()
        assert inbox["results"] == []
    finally:
        esme.close()


def test_garbage_does_not_kill_the_gateway(gw) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection(("127.0.0.1", gw.smpp_port), timeout=5) as raw:
        raw.sendall(b"\xff\xff\xff\xff" + b"GET / HTTP/1.1\r\n\r\n")
        answer = raw.recv(1024)
        assert len(answer) >= 16 and struct.unpack(">I", answer[4:8])[0] == 0x80000000  # generic_nack
    with socket.create_connection(("127.0.0.1", gw.smpp_port), timeout=5) as raw:
        raw.sendall(struct.pack(">IIII", 16, 0x04, 0, 1))  # submit_sm before any bind, empty body
        answer = raw.recv(1024)
        assert struct.unpack(">I", answer[8:12])[0] != 0  # an error status, not a crash
    esme = Esme(gw.smpp_port)
    try:
        esme.bind(gw.accounts["beta"])
        assert esme.submit(destination_addr="41791234567", short_message=b"still here").status == 0
    finally:
        esme.close()
    assert httpx.get(gw.base_url + "/health").status_code == 200


def test_receipt_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    gw = LiveGateway(tmp_path, env_extra={"SMSGATE_SMPP_PORT": str(port), "SMSGATE_SMPP_DLR_RETRY": "0.3"})
    creds = smpp_account(gw, "durable")
    gw.start()
    try:
        tx = Esme(port)
        tx.bind(creds, "transmitter")
        message_id = tx.submit(
            destination_addr="41791234567", short_message=b"across restarts", registered_delivery=1
        ).message_id.decode()
        tx.close()
        wait_for(lambda: final_log(gw, creds, message_id))
        gw.stop()
        gw.start()
        rx = Esme(port)
        try:
            rx.bind(creds, "transceiver")
            assert b"stat:DELIVRD" in rx.receipt_for(message_id, timeout=5).short_message
            rx.listen(1.0)
            assert len(rx.delivered) == 1  # taken once, not again
        finally:
            rx.close()
    finally:
        gw.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    gw = LiveGateway(
        tmp_path / "data",
        env_extra={
            "SMSGATE_SMPP_PORT": str(port),
            "SMSGATE_SMPP_TLS_CERT": str(cert),
            "SMSGATE_SMPP_TLS_KEY": str(key),
        },
    )
    creds = smpp_account(gw, "secure")
    gw.start()
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        esme = Esme(port, ssl_context=context)
        try:
            esme.bind(creds)
            resp = esme.submit(
                destination_addr="41791234567", short_message=b"encrypted", registered_delivery=1
            )
            assert b"stat:DELIVRD" in esme.receipt_for(resp.message_id.decode()).short_message
        finally:
            esme.close()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:  # no TLS: no SMPP either
            plain.sendall(struct.pack(">IIII", 16, 0x15, 0, 1))  # enquire_link in the clear
            try:
                answer = plain.recv(1024)
            except ConnectionResetError:
                answer = b""
            assert answer == b"" or answer[:4] != struct.pack(">I", 16)
    finally:
        gw.stop()
