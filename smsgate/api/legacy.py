"""The legacy AddOn/SMSService API (seed 004): XMLInput.aspx (XML POST), SendSMS.aspx (HTTP GET),
command.aspx (CREDITS) and /api/dlrpull, over the same Acceptor as every other generation.

Its callers authenticate with the account's username and password in the request (which hold every
scope), never an API key. Every answer is HTTP 200 with the seed's numeric codes in the body: old
clients read the body, not the status line."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from .. import text as textengine
from ..domain import legacy as lg
from ..domain.ids import new_numeric_ids
from ..domain.messages import (
    MAX_DESTINATIONS,
    MAX_TEXT_CHARS,
    AcceptedMessage,
    ApiGeneration,
    DestinationRequest,
    MessageRequest,
    ReportChannel,
    RequestRejected,
    SendRequest,
)
from ..domain.numbers import normalize_destination
from ..engine import charging
from ..engine.gateway import Gateway
from ..store import legacy as lq
from ..store.accounts import Account
from ..text import count_binary
from ..text.wap import wap_push_si
from ..wire import legacy as wire
from ..wire.xmlcodec import XmlError
from .endpoint import client_gone

log = logging.getLogger("smsgate.api")

XML_TYPE = "text/xml"
TEXT_TYPE = "text/plain"
MAX_PULL = 1000  # reports one /api/dlrpull hands out


async def legacy_balance(gateway: Gateway, account: Account) -> float:
    """The account's balance as the legacy API reports it (``<credits>``, ``cmd=CREDITS``): the ONE
    place it is read, the same balance ``/account/1/balance`` answers (read after the request's
    commit, so an XML POST's ``<credits>`` is the balance after it)."""
    plans = gateway.plans
    if plans.stale:
        await plans.refresh()
    view = await gateway.db.read(lambda conn: charging.balance_of(conn, account.id, plans.plans))
    return view.balance


class Refused(Exception):
    """A legacy request refused with one of the seed's codes."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


@dataclass(frozen=True, slots=True)
class Codes:
    """What each kind of refusal answers in one of the two send forms."""

    malformed: int  # a bad option, binary with text, an unknown type
    no_content: int  # neither text, binary nor bookmark
    bad_sender: int
    general: int


XML_CODES = Codes(
    lg.XmlStatus.XML_ERROR, lg.XmlStatus.XML_ERROR, lg.XmlStatus.XML_ERROR, lg.XmlStatus.GENERAL_ERROR
)
GET_CODES = Codes(
    lg.GetCode.SEND_ERROR, lg.GetCode.MISSING_SMSTEXT, lg.GetCode.MISSING_SENDERNAME, lg.GetCode.SEND_ERROR
)


def _message(send: wire.LegacySend, codes: Codes) -> MessageRequest:
    """The engine's message for a legacy send (destinations added by the caller)."""
    if send.sender and (problem := lg.sender_problem(send.sender)):
        raise Refused(codes.bad_sender, problem)
    long_sms = send.kind == "longsms"
    common = MessageRequest(
        destinations=[],
        sender=send.sender or None,
        flash=send.flash,
        source_ton=send.source_ton,
        source_npi=send.source_npi,
        dest_ton=send.dest_ton,
        dest_npi=send.dest_npi,
    )
    if send.kind == "bookmark":
        if not send.bookmark:
            raise Refused(codes.no_content, "type=bookmark needs the WAP URL (bookmark)")
        if send.binary:
            raise Refused(codes.malformed, "a bookmark carries no binary content")
        # WAP Push SI: 8-bit data (data_coding 4) behind a UDH for port 2948
        payload = wap_push_si(send.bookmark, send.text)
        return replace(common, binary_hex=payload.hex(), data_coding=4, esm_class=0x40)
    if send.binary:
        if send.text:
            raise Refused(codes.malformed, "binary cannot be used together with text")
        try:
            payload = bytes.fromhex(send.binary)
        except ValueError:
            raise Refused(codes.malformed, "binary must be hexadecimal octets") from None
        udh = bool(send.esm_class & 0x40)
        if udh and (not payload or payload[0] + 1 > len(payload)):
            raise Refused(codes.malformed, "with esmclass 64 the binary starts with its UDH")
        if count_binary(payload, udh_present=udh) > 1:
            raise Refused(codes.malformed, "binary content is limited to one message (140 octets)")
        return replace(
            common, binary_hex=payload.hex(), data_coding=send.data_coding, esm_class=send.esm_class
        )
    if not send.text:
        raise Refused(codes.no_content, "no text, binary or bookmark")
    if send.esm_class:
        raise Refused(codes.malformed, "esmclass applies to binary content only")
    if len(send.text) > MAX_TEXT_CHARS:
        raise Refused(codes.malformed, f"the text is longer than {MAX_TEXT_CHARS} characters")
    try:
        engine_coding = textengine.encode(send.text).data_coding
    except ValueError as exc:  # beyond 255 parts
        raise Refused(codes.malformed, str(exc)) from None
    if send.data_coding == 8 and engine_coding != 8:
        # UCS-2 as asked, for text GSM 03.38 could carry: the octets themselves (text the engine codes
        # in UCS-2 anyway stays text, readable in the logs)
        text = send.text if long_sms else send.text[:70]
        while not long_sms and len(text.encode("utf-16-be")) > 140:  # beyond the BMP: two units
            text = text[:-1]
        return replace(common, binary_hex=text.encode("utf-16-be").hex(), data_coding=8)
    if send.data_coding not in (0, 8):
        raise Refused(codes.malformed, f"datacoding {send.data_coding} is not supported for text (0 or 8)")
    # without type=longSMS a text is one SMS: cut to what one part holds, as Infobip's legacy API did
    return replace(common, text=send.text if long_sms else lg.one_part(send.text))


async def _account(gateway: Gateway, username: str, password: str) -> Account | None:
    if "\x00" in username + password:
        return None
    return await gateway.credentials.by_password(username, password)


async def _accept(
    gateway: Gateway, account: Account, messages: list[MessageRequest]
) -> list[AcceptedMessage]:
    messages = [m for m in messages if m.destinations]
    _, accepted = await gateway.acceptor.accept(account, SendRequest(ApiGeneration.LEGACY, messages))
    return accepted


def _xml(status: int, credits: str = "") -> Response:
    return Response(wire.response_xml(status, credits), media_type=XML_TYPE)


def _plain(value: int | str) -> Response:
    return Response(str(value), media_type=TEXT_TYPE)


async def _read_limited(request: Request, max_bytes: int) -> bytes | None:
    """The body, or None when it is larger than ``max_bytes`` (not read further)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return None
    return bytes(body)


async def xml_input(request: Request) -> Response:
    """POST /AddOn/SMSService/XML/XMLInput.aspx: ``XML=<SMS>...</SMS>``."""
    gateway: Gateway = request.app.state.gateway
    try:
        body = await _read_limited(request, gateway.settings.max_body_bytes)
        if body is None:
            return _xml(lg.XmlStatus.XML_ERROR)
        try:
            send = wire.parse_xml(wire.xml_of_body(body, request.headers.get("content-type", "")))
        except (XmlError, wire.LegacyInputError) as exc:
            log.info("legacy XML refused: %s", exc)
            return _xml(lg.XmlStatus.XML_ERROR)
        account = (
            await _account(gateway, send.username, send.password) if send.username and send.password else None
        )
        if account is None:
            return _xml(lg.XmlStatus.AUTH_FAILED)
        status = await _send_xml(gateway, account, send)
        return _xml(status, wire.format_credits(await legacy_balance(gateway, account)))
    except Refused as refused:
        return _xml(refused.code)
    except ClientDisconnect:
        return client_gone(request.scope)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _xml(lg.XmlStatus.GENERAL_ERROR)


async def _send_xml(gateway: Gateway, account: Account, send: wire.LegacySend) -> int:
    if len(send.recipients) > MAX_DESTINATIONS:  # as many as a v2 request may name
        raise Refused(lg.XmlStatus.XML_ERROR, f"more than {MAX_DESTINATIONS} recipients")
    template = _message(send, XML_CODES)
    # one message per recipient: duplicates filtered (the first kept), invalid numbers left out
    seen: set[str] = set()
    registered: list[DestinationRequest] = []
    unregistered: list[str] = []
    for r in send.recipients:
        number = normalize_destination(r.gsm) if r.gsm.removeprefix("+").isdigit() else None
        if number is None or number.msisdn in seen:
            continue
        seen.add(number.msisdn)
        if r.message_id:
            registered.append(DestinationRequest(number.msisdn, r.message_id[:200]))
        else:
            unregistered.append(number.msisdn)
    if not registered and not unregistered:
        return lg.XmlStatus.NO_RECIPIENTS
    ids = new_numeric_ids(len(unregistered))
    with_reports = _copy(template, [*registered], ReportChannel.LEGACY)
    # without messageId: "without registered delivery", no report pushed or in /api/dlrpull
    without = _copy(template, [DestinationRequest(n, i) for n, i in zip(unregistered, ids)], None)
    try:
        accepted = await _accept(gateway, account, [with_reports, without])
    except RequestRejected as exc:
        raise Refused(lg.XmlStatus.GENERAL_ERROR, str(exc)) from None
    return lg.xml_answer([a.status_id for a in accepted])


def _copy(
    template: MessageRequest, destinations: list[DestinationRequest], channel: ReportChannel | None
) -> MessageRequest:
    return replace(template, destinations=destinations, report_channel=channel)


async def send_sms(request: Request) -> Response:
    """GET /AddOn/SMSService/SendSMS.aspx: a bare number, the message id or a negative code."""
    gateway: Gateway = request.app.state.gateway
    try:
        params = wire.decode_query(request.scope.get("query_string", b""))
        if not params.get("user"):
            return _plain(lg.GetCode.MISSING_USERNAME)
        if not params.get("password"):
            return _plain(lg.GetCode.MISSING_PASS)
        try:
            send = wire.parse_query(params)
        except wire.LegacyInputError as exc:
            log.info("legacy GET refused: %s", exc)
            return _plain(lg.GetCode.SEND_ERROR)
        account = await _account(gateway, send.username, send.password)
        if account is None:
            return _plain(lg.GetCode.INVALID_USER_OR_PASS)
        if not send.recipients:
            return _plain(lg.GetCode.MISSING_DESTINATION_ADDRESS)
        if not send.sender:
            return _plain(lg.GetCode.MISSING_SENDERNAME)
        gsm = send.recipients[0].gsm.removeprefix("+")
        if not gsm.isdigit():
            return _plain(lg.GetCode.DESTADDR_INVALIDFORMAT)
        number = normalize_destination(gsm)
        if number is None:
            return _plain(lg.GetCode.INVALID_DESTINATION_ADDRESS)
        message = _message(send, GET_CODES)
        message_id = new_numeric_ids(1)[0]
        message = _copy(message, [DestinationRequest(number.msisdn, message_id)], ReportChannel.LEGACY)
        try:
            accepted = await _accept(gateway, account, [message])
        except RequestRejected as exc:
            log.info("legacy GET refused: %s", exc)
            return _plain(lg.GetCode.SEND_ERROR)
        outcome = accepted[0]
        code = lg.get_answer(outcome.status_id)
        return _plain(outcome.message_id if code is None else code)
    except Refused as refused:
        return _plain(refused.code)
    except ClientDisconnect:
        return client_gone(request.scope)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _plain(lg.GetCode.SEND_ERROR)


async def command(request: Request) -> Response:
    """GET /AddOn/SMSService/command.aspx?username=&password=&cmd=CREDITS: SendSMS.aspx's codes for
    missing or bad credentials, -1 for an unknown command."""
    gateway: Gateway = request.app.state.gateway
    try:
        params = wire.decode_query(request.scope.get("query_string", b""))
        username, password = params.get("username") or params.get("user", ""), params.get("password", "")
        if not username:
            return _plain(lg.GetCode.MISSING_USERNAME)
        if not password:
            return _plain(lg.GetCode.MISSING_PASS)
        account = await _account(gateway, username, password)
        if account is None:
            return _plain(lg.GetCode.INVALID_USER_OR_PASS)
        if params.get("cmd", "").upper() == "CREDITS":
            return _plain(wire.format_credits(await legacy_balance(gateway, account)))
        return _plain(lg.GetCode.SEND_ERROR)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _plain(lg.GetCode.SEND_ERROR)


async def dlr_pull(request: Request) -> Response:
    """GET /api/dlrpull?user=&password=[&messageid=a,b]: the same <DeliveryReport> as pushed; each
    report handed out once, unless asked for by id."""
    gateway: Gateway = request.app.state.gateway
    try:
        params = wire.decode_query(request.scope.get("query_string", b""))
        if not params.get("user"):
            return _plain(lg.PullCode.MISSING_USERNAME)
        if not params.get("password"):
            return _plain(lg.PullCode.MISSING_PASSWORD)
        account = await _account(gateway, params["user"], params["password"])
        if account is None:
            return _plain(lg.PullCode.INVALID_USER_OR_PASS)
        wanted = [i.strip() for i in params.get("messageid", "").split(",") if i.strip()][:MAX_PULL]
        account_id = account.id
        if wanted:
            rows = await gateway.db.read(lambda conn: lq.reports_by_id(conn, account_id, wanted))
        else:
            rows = await gateway.db.write(lambda conn: lq.take_reports(conn, account_id, MAX_PULL))
        return Response(wire.delivery_report([wire.report_line(m) for m in rows]), media_type=XML_TYPE)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _plain(lg.GetCode.SEND_ERROR)


# (method, path, endpoint): the seed's paths; matched case-insensitively (the seed writes both
# /AddOn/ and /Addon/), see app.py
ROUTES = (
    ("POST", "/AddOn/SMSService/XML/XMLInput.aspx", xml_input),
    ("GET", "/AddOn/SMSService/SendSMS.aspx", send_sms),
    ("GET", "/AddOn/SMSService/command.aspx", command),
    ("GET", "/api/dlrpull", dlr_pull),
)
