"""Inbound (MO) messages: keyword split and the legacy forwarding URL template.

Pure: the caller fetches the URL; this module only decides what it looks like.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Literal
from urllib.parse import quote
from xml.sax.saxutils import escape

from .dates import EPOCH

# --- keywords -----------------------------------------------------------------------------------


def split_keyword(text: str, keywords: Sequence[str]) -> tuple[str | None, str]:
    """Return (keyword, cleanText) for a received text and the number's configured keywords.

    Infobip's inbox: "cleanText: Text of received message without a keyword (if a keyword was
    sent). keyword: Keyword extracted from the message text.", e.g. text "QUIZ Correct answer is
    Paris" -> keyword "QUIZ", cleanText "Correct answer is Paris".

    The keyword must open the text (leading whitespace skipped) and end at whitespace or at the
    end; case is ignored and the keyword is returned as configured. The longest match wins, so a
    multi-word keyword beats its first word. Without a match cleanText is the text unchanged.
    """
    body = text.lstrip()
    best: str | None = None
    for keyword in keywords:
        k = len(keyword)
        if not keyword or (best is not None and k <= len(best)):
            continue
        # compare the same number of characters: casefold may change lengths (ß -> ss)
        if body[:k].casefold() == keyword.casefold() and (k == len(body) or body[k].isspace()):
            best = keyword
    if best is None:
        return None, text
    return best, body[len(best) :].lstrip()


# --- forwarding URL (legacy "push received messages") ------------------------------------------

# Seed 004 lists the Datetime parameter without a format; its dates elsewhere are
# "(format: yyyy/mm/dd hh:mm:ss)". We render that, zero padded, in UTC.
FORWARD_DATETIME_FORMAT = "%Y/%m/%d %H:%M:%S"

_PLACEHOLDER = re.compile(
    r"%(sender|receiver|text|bin|datetime|messageid|datacoding|esmclass)%", re.IGNORECASE
)

OutputFormat = Literal["xml", "json"]


def _split_output(template: str) -> tuple[str, OutputFormat | None]:
    """Remove the ``output=xml|json`` query parameter and return it separately.

    Seed 002: "output: Desired output, supported values are (optional): xml ... json"; its example
    template ``...?who=%sender%&what=%text%&output=xml`` is fetched as ``...?who=38598123123&what=ABC``:
    output is an instruction to the gateway, not a parameter for the customer's server. Other
    values are left in the URL untouched.
    """
    base, sep, rest = template.partition("?")
    if not sep:
        return template, None
    query, hash_, fragment = rest.partition("#")
    kept: list[str] = []
    output: OutputFormat | None = None
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        if eq and name.lower() == "output" and value.lower() in ("xml", "json") and output is None:
            output = "xml" if value.lower() == "xml" else "json"
            continue
        kept.append(pair)
    if output is None:
        return template, None
    query = "&".join(kept)
    return base + ("?" + query if query else "") + hash_ + fragment, output


def forward_output(template: str) -> OutputFormat | None:
    """The ``output`` format a forwarding template asks for, if any."""
    return _split_output(template)[1]


def forward_values(
    *,
    sender: str,
    receiver: str | None,
    text: str,
    binary_hex: str,
    received_at_ms: int,
    message_id: str,
    data_coding: int,
    esm_class: int,
    has_text: bool = True,
    has_bin: bool = True,
) -> dict[str, str]:
    """The forwarded parameters by their seed names, before URL encoding.

    Seed 002: "In case you provided URL with both bin and text parameters ... if datacoding
    parameter is "0", then we will forward to you only message text, bin parameter will be set to
    "" (empty string). If datacoding is not "0" ... we will send you binary content only, parameter
    text will be set to "" ... if you do not support both parameters (bin and text) in URL ... we
    will provide everything, no matter what is in datacoding parameter." And "Note that there is
    no leading "+" in "sender" field"; "binary content is in hexadecimal format".
    """
    bin_value = "".join(binary_hex.split()).upper()
    if has_text and has_bin:
        if data_coding == 0:
            bin_value = ""
        else:
            text = ""
    return {
        "sender": sender.removeprefix("+"),
        "receiver": (receiver or "").removeprefix("+"),
        "text": text,
        "bin": bin_value,
        "datetime": (EPOCH + timedelta(milliseconds=received_at_ms)).strftime(FORWARD_DATETIME_FORMAT),
        "messageid": message_id,
        "datacoding": str(data_coding),
        "esmclass": str(esm_class),
    }


def expand_forward_url(
    template: str,
    *,
    sender: str,
    receiver: str | None,
    text: str,
    binary_hex: str,
    received_at_ms: int,
    message_id: str,
    data_coding: int,
    esm_class: int,
) -> str:
    """Fill %sender%, %receiver%, %text%, %bin%, %datetime%, %messageid%, %datacoding%, %esmclass%.

    Placeholders match in any case (the seeds name them Sender, Text, ... and write %sender%);
    values are percent-encoded as UTF-8 (space -> %20) and substituted in one pass, so a value
    can never introduce a placeholder or a parameter. Unknown %words% are left alone and an
    ``output=xml|json`` parameter is removed (see ``forward_output``).
    """
    url, _ = _split_output(template)
    found = {m.group(1).lower() for m in _PLACEHOLDER.finditer(url)}
    values = forward_values(
        sender=sender,
        receiver=receiver,
        text=text,
        binary_hex=binary_hex,
        received_at_ms=received_at_ms,
        message_id=message_id,
        data_coding=data_coding,
        esm_class=esm_class,
        has_text="text" in found,
        has_bin="bin" in found,
    )
    return _PLACEHOLDER.sub(lambda m: quote(values[m.group(1).lower()], safe=""), url)


_SEED_NAMES = {
    "sender": "Sender",
    "receiver": "Receiver",
    "text": "Text",
    "bin": "Bin",
    "datetime": "Datetime",
    "messageid": "MessageId",
    "datacoding": "Datacoding",
    "esmclass": "Esmclass",
}


def format_forward_values(output: OutputFormat, values: Mapping[str, str]) -> tuple[str, str]:
    """(content type, body) for ``output=xml|json``: "values are formatted as xml / as json".

    The seeds give no schema, so the body carries the parameters under the seed's own names
    (Sender, Receiver, Text, Bin, Datetime, MessageId, Datacoding, Esmclass).
    """
    named = {_SEED_NAMES.get(k, k): v for k, v in values.items()}
    if output == "json":
        return "application/json", json.dumps(named, ensure_ascii=False)
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in named.items())
    return "application/xml", f'<?xml version="1.0" encoding="UTF-8"?><message>{fields}</message>'
