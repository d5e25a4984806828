"""WAP Push Service Indication over SMS: the SI document in WBXML (WAP-167-ServiceInd-20010731-a),
in a connectionless WSP Push PDU (WAP-230), behind a UDH addressing the WAP Push port 2948
(WAP-259 WDP: 16-bit application ports, destination 2948, source 9200)."""

from __future__ import annotations

import re

# WBXML 1.2, the SI 1.0 public identifier (0x05), UTF-8 (IANA MIBenum 106), no string table
_WBXML_HEADER = bytes([0x02, 0x05, 0x6A, 0x00])
_END, _STR_I, _OPAQUE = 0x01, 0x03, 0xC3
_SI_WITH_CONTENT = 0x45  # <si>: tag 0x05 with content (0x40)
_INDICATION_WITH_ALL = 0xC6  # <indication>: tag 0x06 with attributes (0x80) and content (0x40)
_CREATED, _SI_EXPIRES = 0x0A, 0x10
# href attribute start tokens, longest prefix first (WAP-167, 8.3.2)
_HREF_STARTS = (
    ("https://www.", 0x0F),
    ("https://", 0x0E),
    ("http://www.", 0x0D),
    ("http://", 0x0C),
    ("", 0x0B),
)
# attribute value tokens (WAP-167, 8.3.3)
_VALUE_TOKENS = {".com/": 0x85, ".edu/": 0x86, ".net/": 0x87, ".org/": 0x88}
_VALUE_SPLIT = re.compile("(" + "|".join(re.escape(v) for v in _VALUE_TOKENS) + ")")

# the WSP Push PDU: transaction id, PDU type Push (0x06), headers length 1, content type
# application/vnd.wap.sic (well-known 0x2E, as a short integer 0xAE)
_WSP_PUSH = bytes([0x01, 0x06, 0x01, 0xAE])
# UDH: length 6, IE 0x05 (16-bit application port addressing) of 4 octets: 2948 -> 9200
WAP_PUSH_PORT = 2948
WSP_SOURCE_PORT = 9200
WAP_PUSH_UDH = (
    bytes([0x06, 0x05, 0x04]) + WAP_PUSH_PORT.to_bytes(2, "big") + WSP_SOURCE_PORT.to_bytes(2, "big")
)


def _inline(value: str) -> bytes:
    return bytes([_STR_I]) + value.encode("utf-8") + b"\x00"


def _href(url: str) -> bytes:
    start = next((p, t) for p, t in _HREF_STARTS if url.startswith(p))
    out = bytearray([start[1]])
    for piece in _VALUE_SPLIT.split(url[len(start[0]) :]):
        if piece in _VALUE_TOKENS:
            out.append(_VALUE_TOKENS[piece])
        elif piece:
            out += _inline(piece)
    return bytes(out)


def _date(value: str) -> bytes:
    """An SI date (``1999-06-25T15:23:15Z``) as OPAQUE data: its 14 digits two to an octet, trailing
    zero octets left out (WAP-167, 8.2.2)."""
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) != 14:
        raise ValueError(f"an SI date is YYYY-MM-DDThh:mm:ssZ, not {value!r}")
    octets = bytes.fromhex(digits).rstrip(b"\x00")
    return bytes([_OPAQUE, len(octets)]) + octets


def service_indication(href: str, text: str, created: str | None = None, expires: str | None = None) -> bytes:
    """The SI document ``<si><indication href created si-expires>text</indication></si>`` in WBXML."""
    out = bytearray(_WBXML_HEADER)
    out += bytes([_SI_WITH_CONTENT, _INDICATION_WITH_ALL])
    out += _href(href)
    if created:
        out += bytes([_CREATED]) + _date(created)
    if expires:
        out += bytes([_SI_EXPIRES]) + _date(expires)
    out.append(_END)  # end of the attributes
    if text:
        out += _inline(text)
    out += bytes([_END, _END])  # </indication></si>
    return bytes(out)


def wap_push_si(url: str, text: str = "") -> bytes:
    """The whole 8-bit SMS payload of a WAP Push SI bookmark (UDH first, for esm_class 0x40): a URL
    without a scheme (the seed's ``www.infobiiip.com/something.jpg``) is taken as http://."""
    if "://" not in url:
        url = "http://" + url
    return WAP_PUSH_UDH + _WSP_PUSH + service_indication(url, text)
