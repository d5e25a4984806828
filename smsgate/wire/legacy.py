"""The legacy AddOn/SMSService API on the wire (seed 004): the ``XML=<SMS>...`` body and the
SendSMS.aspx query in, ``<RESPONSE>`` and ``<DeliveryReport>`` out. Pure: bytes in, records out.

Parsing is as safe as the v1 XML bodies' (``xmlcodec.parse_tree``: no DTD, no entities)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote_to_bytes
from xml.etree.ElementTree import Element
from xml.sax.saxutils import quoteattr

from ..domain.legacy import NPIS, TONS, legacy_status
from ..store.records import OutboundMessage
from .xmlcodec import XmlError, parse_tree


class LegacyInputError(ValueError):
    """A request the legacy API refuses as malformed (``-2`` XML_ERROR; ``-1`` on SendSMS.aspx)."""


@dataclass(frozen=True, slots=True)
class Recipient:
    gsm: str
    message_id: str | None = None  # the client's own id: registered delivery


@dataclass(frozen=True, slots=True)
class LegacySend:
    """One legacy send request, from the XML body or the SendSMS.aspx query alike."""

    username: str
    password: str
    sender: str
    text: str
    flash: bool = False
    kind: str = ""  # "" | "longsms" | "bookmark" (the seed's <type>, case-insensitive)
    bookmark: str = ""  # the WAP URL of a bookmark
    binary: str = ""  # hex
    data_coding: int = 0
    esm_class: int = 0
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int | None = None
    dest_npi: int | None = None
    recipients: tuple[Recipient, ...] = field(default_factory=tuple)


# --- reading ----------------------------------------------------------------------------------

_PREFIX = re.compile(rb"^\s*xml=", re.IGNORECASE)
# the seed's own example writes messageId=“clientmsgID1” (typographic quotes, ñ once mangled by a
# PDF): clients copied it; such an attribute is read as if quoted properly
_ODD_QUOTES = re.compile(r"""(messageId\s*=\s*)[“”ñ]([^“”ñ"'<>]*)[“”ñ]""", re.IGNORECASE)


def xml_of_body(body: bytes, content_type: str) -> bytes:
    """The XML document of a XMLInput.aspx body: ``XML=<SMS>...`` raw (as old clients post it, even
    under a form content type), ``XML=%3CSMS...`` form-encoded, another form field order, or a bare
    ``<SMS>`` document."""
    match = _PREFIX.match(body)
    if match:
        rest = body[match.end() :]
        # raw XML starts with "<"; percent-encoded starts with "%3C" (or blanks encoded as "+")
        if rest.lstrip()[:1] == b"<":
            return rest
        return unquote_to_bytes(rest.replace(b"+", b" "))
    if "x-www-form-urlencoded" in content_type.lower():
        for key, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
            if key.lower() == "xml":
                return value.encode("latin-1")
        raise LegacyInputError("the form has no XML field")
    return body


def _fix_quotes(document: bytes) -> bytes:
    if b"messageId" not in document and b"messageid" not in document.lower():
        return document
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError:
        return document
    return _ODD_QUOTES.sub(lambda m: f'{m.group(1)}"{m.group(2)}"', text).encode("utf-8")


def _children(el: Element) -> dict[str, Element]:
    # element names case-insensitively: the seed writes <SMS> beside <authentification>
    return {child.tag.lower(): child for child in el}


def _text(el: Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _int(name: str, raw: str, default: int | None, allowed: frozenset[int] | None = None) -> int | None:
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise LegacyInputError(f"{name} must be a number, not {raw!r}")
    value = int(raw)
    if allowed is not None and value not in allowed:
        raise LegacyInputError(f"{name} {value} is not one of {sorted(allowed)}")
    if value > 255:
        raise LegacyInputError(f"{name} must be at most 255")
    return value


def _flag(name: str, raw: str) -> bool:
    if raw.lower() in ("", "0", "false"):
        return False
    if raw.lower() in ("1", "true"):
        return True
    raise LegacyInputError(f"{name} must be 0 or 1, not {raw!r}")


def _kind(raw: str) -> str:
    kind = raw.lower()
    if kind not in ("", "longsms", "bookmark"):
        raise LegacyInputError(f"type must be longSMS or bookmark, not {raw!r}")
    return kind


def _send(
    username: str,
    password: str,
    sender: str,
    text: str,
    recipients: tuple[Recipient, ...],
    get: Mapping[str, str],
) -> LegacySend:
    """A send request with the message options both forms share, read by their lower-case names."""
    return LegacySend(
        username=username,
        password=password,
        sender=sender,
        text=text,
        recipients=recipients,
        flash=_flag("flash", get.get("flash", get.get("isflash", ""))),
        kind=_kind(get.get("type", "")),
        bookmark=get.get("bookmark", "") or get.get("wapurl", ""),
        binary=get.get("binary", ""),
        data_coding=_int("datacoding", get.get("datacoding", ""), 0) or 0,
        esm_class=_int("esmclass", get.get("esmclass", ""), 0) or 0,
        source_ton=_int("srcton", get.get("srcton", ""), None, TONS),
        source_npi=_int("srcnpi", get.get("srcnpi", ""), None, NPIS),
        dest_ton=_int("destton", get.get("destton", ""), None, TONS),
        dest_npi=_int("destnpi", get.get("destnpi", ""), None, NPIS),
    )


def parse_xml(document: bytes) -> LegacySend:
    """The ``<SMS>`` document (raises LegacyInputError or XmlError: both are XML_ERROR)."""
    root = parse_tree(_fix_quotes(document))
    if root.tag.lower() != "sms":
        raise XmlError(f"the root element must be <SMS>, not <{root.tag}>")
    top = _children(root)
    auth = _children(top["authentification"]) if "authentification" in top else {}
    message = top.get("message")
    fields = {k: _text(v) for k, v in _children(message).items()} if message is not None else {}
    # <bookmark><wapurl>...</wapurl></bookmark> as well as <bookmark>url</bookmark>
    bookmark = _children(message).get("bookmark") if message is not None else None
    if bookmark is not None and len(bookmark):
        fields["bookmark"] = _text(_children(bookmark).get("wapurl"))
    recipients = []
    for gsm in top.get("recipients", ()):
        if gsm.tag.lower() != "gsm":
            raise XmlError(f"<recipients> holds <gsm> elements, not <{gsm.tag}>")
        own_id = next((v for k, v in gsm.attrib.items() if k.lower() == "messageid"), None)
        recipients.append(Recipient(_text(gsm), own_id.strip() if own_id is not None else None))
    text_el = message.find("text") if message is not None else None
    return _send(
        _text(auth.get("username")),
        _text(auth.get("password")),
        fields.get("sender", ""),
        # the text as written, not stripped: blanks may be meant
        (text_el.text or "") if text_el is not None else "",
        tuple(recipients),
        fields,
    )


def decode_query(raw: bytes) -> dict[str, str]:
    """Query parameters by lower-case name (the seed writes ``binary`` and ``Binary``), the first of
    repeated ones. Each value is UTF-8 when its bytes are valid UTF-8, else ISO-8859-1: old clients
    send either, and Latin-1 text is almost never valid UTF-8 (an accented letter followed by a byte
    from 0x80-0xBF is the only way, a pair no Latin-1 word contains)."""
    out: dict[str, str] = {}
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        key = key.lower()
        if key in out:
            continue
        octets = value.encode("latin-1")
        try:
            out[key] = octets.decode("utf-8")
        except UnicodeDecodeError:
            out[key] = octets.decode("iso-8859-1")
    return out


def parse_query(params: Mapping[str, str]) -> LegacySend:
    """SendSMS.aspx's parameters (from ``decode_query``) as a send request of one recipient."""
    gsm = params.get("gsm", "").strip()
    return _send(
        params.get("user", ""),
        params.get("password", ""),
        params.get("sender", "").strip(),
        params.get("smstext", ""),
        (Recipient(gsm),) if gsm else (),
        params,
    )


# --- writing ----------------------------------------------------------------------------------


def response_xml(status: int, credits: str) -> bytes:
    """``<RESPONSE><status>N</status><credits>C</credits></RESPONSE>``."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><RESPONSE><status>{status}</status>'
        f"<credits>{credits}</credits></RESPONSE>"
    ).encode()


def format_credits(balance: float) -> str:
    """A balance as the legacy API writes it: plain decimals, no exponent, no trailing zeros."""
    text = f"{balance:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def format_date(ms: int | None) -> str:
    """``yyyy/mm/dd hh:mm:ss`` (UTC), the seed's report date format; empty when there is none."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y/%m/%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class ReportLine:
    message_id: str
    sent_ms: int | None
    done_ms: int | None
    status: str  # one of domain.legacy.LEGACY_STATUSES


def report_line(m: OutboundMessage) -> ReportLine:
    """A message's line of a report: sent when the client handed it over, done when it ended."""
    return ReportLine(m.message_id, m.created_at, m.done_at, legacy_status(m.status_id))


def delivery_report(lines: Sequence[ReportLine]) -> bytes:
    """``<DeliveryReport><message id sentdate donedate status/>...</DeliveryReport>``."""
    parts = [
        f"<message id={quoteattr(r.message_id)} sentdate={quoteattr(format_date(r.sent_ms))} "
        f"donedate={quoteattr(format_date(r.done_ms))} status={quoteattr(r.status)} />"
        for r in lines
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><DeliveryReport>' + "".join(parts) + "</DeliveryReport>"
    ).encode()
