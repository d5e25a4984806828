"""URL shortening and conversion tracking, the pure part: what a send request asks for
(``TrackingRequest``), finding http(s) URLs in a text, fixed-length short links and their codes.

A message's text is counted once, with a placeholder link in place of every URL (``Template``), and
each destination then gets its own codes in the same places: every code has the same length and its
characters cost the same in every GSM 7-bit table and in UCS-2 (digits and lower-case letters: the
Indic locking tables lack upper-case Latin), so the part count is the same for every destination and
known before the codes are drawn."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

CODE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
CODE_LEN = 12  # 36^12: 62 random bits, so codes are not guessable
CODE_RE = re.compile(r"[0-9a-z]{12}")
PATH_RE = re.compile(r"/[0-9a-z]{12}")  # the path of a short link, as the gateway serves it

# A URL runs to the first white space or character that cannot be in one; trailing punctuation of the
# sentence around it is not part of it ("see https://x.example/a." or "(https://x.example/a)").
_URL_RE = re.compile(r"https?://[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
_TRAILING = ".,;:!?"


@dataclass(frozen=True, slots=True)
class TrackingRequest:
    """What a send request asked for: v1/v2 ``tracking``, v2 ``urlOptions``, v3 ``options.tracking``
    and ``options.conversionTracking``, or the query sends' ``track*`` parameters.

    ``domain`` is a configured short-link domain (``customDomain``, or the host of the legacy
    ``baseUrl``); ``domain_field`` names the field to blame when it is unknown."""

    shorten: bool = False
    track_clicks: bool = False
    tracking_url: str | None = None
    remove_protocol: bool = False
    domain: str | None = None
    domain_field: str = "urlOptions.customDomain"
    conversion: bool = False
    tracking_type: str | None = None  # conversionTrackingName or the legacy `type`
    process_key: str | None = None

    @property
    def asks(self) -> bool:
        return self.shorten or self.conversion


@dataclass(frozen=True, slots=True)
class UrlSpan:
    start: int
    end: int
    url: str


def find_urls(text: str) -> list[UrlSpan]:
    """The http(s) URLs in ``text``, in order."""
    spans = []
    for match in _URL_RE.finditer(text):
        url = match.group()
        while url and url[-1] in _TRAILING:
            url = url[:-1]
        if url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1]  # "(see https://x.example/a)": the bracket closes the sentence's
        if len(url) <= len(urlsplit(url).scheme) + 3:
            continue  # "http://" alone
        spans.append(UrlSpan(match.start(), match.start() + len(url), url))
    return spans


@dataclass(frozen=True, slots=True)
class Template:
    """A text cut at its URLs: ``pieces`` around them (one more than ``urls``)."""

    pieces: tuple[str, ...]
    urls: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Template:
        pieces, urls, at = [], [], 0
        for span in find_urls(text):
            pieces.append(text[at : span.start])
            urls.append(span.url)
            at = span.end
        pieces.append(text[at:])
        return cls(tuple(pieces), tuple(urls))

    def render(self, links: Sequence[str]) -> str:
        """The text with ``links[i]`` in place of URL i."""
        if len(links) != len(self.urls):
            raise ValueError(f"{len(self.urls)} links wanted, {len(links)} given")
        out = [self.pieces[0]]
        for link, piece in zip(links, self.pieces[1:]):
            out += (link, piece)
        return "".join(out)

    def fill(self, link: str) -> str:
        """The text with the same ``link`` in place of every URL (a placeholder)."""
        return self.render([link] * len(self.urls))

    @classmethod
    def around(cls, text: str, link: str, urls: Sequence[str]) -> Template | None:
        """The template of a text that holds ``link`` exactly where ``urls`` were (a placeholder-filled
        text after encoding, which may have transliterated the rest); None if it does not."""
        pieces = tuple(text.split(link))
        if len(pieces) != len(urls) + 1:
            return None
        return cls(pieces, tuple(urls))


@dataclass(frozen=True, slots=True)
class LinkStyle:
    """How short links look: ``base`` is ``scheme://host[:port]`` (a configured domain)."""

    base: str
    remove_protocol: bool = False

    @property
    def prefix(self) -> str:
        base = self.base.split("://", 1)[1] if self.remove_protocol else self.base
        return base.rstrip("/") + "/"

    @property
    def length(self) -> int:
        return len(self.prefix) + CODE_LEN

    def link(self, code: str) -> str:
        return self.prefix + code


def base_problem(base: str) -> str | None:
    """Why ``base`` cannot be a short-link base (``SMSGATE_PUBLIC_URL``, a short domain), or None.

    Only characters every GSM table carries at one septet, so a link costs its length in every encoding."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL like https://sms.example.com"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "must have no path: the gateway serves short links at /<code>"
    if not re.fullmatch(r"[0-9a-z.:/-]+", base.lower()):
        return "may hold only letters, digits, '.', '-', ':' and '/'"
    return None


# random octets to code characters in one bytes.translate: 256 % 36 != 0, so the octets of the last,
# partial run of the alphabet (252-255) are dropped, and no character is likelier than another
_TO_CODE = bytes(ord(CODE_ALPHABET[b % len(CODE_ALPHABET)]) for b in range(256))
_PARTIAL_RUN = bytes(range(256 - 256 % len(CODE_ALPHABET), 256))


def new_codes(count: int) -> list[str]:
    """``count`` random codes from the kernel's CSPRNG (never sequential), in one draw."""
    if count <= 0:
        return []
    need = count * CODE_LEN
    chars = b""
    while len(chars) < need:
        chars += os.urandom(need - len(chars) + 16).translate(_TO_CODE, _PARTIAL_RUN)
    text = chars[:need].decode("ascii")
    return [text[i : i + CODE_LEN] for i in range(0, need, CODE_LEN)]


def placeholder_code(text: str) -> str:
    """A code that does not occur in ``text``: its link marks where the URLs were."""
    while True:
        code = new_codes(1)[0]
        if code not in text:
            return code


def new_process_key() -> str:
    """A conversion process key in Infobip's form (32 upper-case hex digits)."""
    return os.urandom(16).hex().upper()
