"""The generic HTTP connector's rules, pure: request templates with placeholders, reading the
provider's message id from its answer (JSON pointer or regular expression), and its receipts' status
values mapped to the catalog (``connectors/http.py`` does the I/O)."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import statuses as st

# what a template may name, e.g. "{to}"; "{{" and "}}" are literal braces
PLACEHOLDERS = frozenset({"to", "from", "text", "hex", "coding", "messageId", "callbackUrl"})

_FORMATTER = string.Formatter()


def check_template(template: str) -> None:
    """ValueError naming what is wrong: an unknown placeholder, a format spec, a stray brace."""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(f"{template!r}: {exc} (write {{{{ and }}}} for literal braces)") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise ValueError(
                f"{template!r}: unknown placeholder {{{name}}} (known: {', '.join(sorted(PLACEHOLDERS))})"
            )
        if spec or conversion:
            raise ValueError(f"{template!r}: {{{name}}} takes no format spec or conversion")


def render(template: str, values: Mapping[str, str], escape: Callable[[str], str] | None = None) -> str:
    """The template with each placeholder replaced by its value (``escape``d: a URL's quoting)."""
    out = []
    for literal, name, _, _ in _FORMATTER.parse(template):
        out.append(literal)
        if name is not None:
            value = values.get(name, "")
            out.append(escape(value) if escape else value)
    return "".join(out)


# --- reading answers and callbacks ---------------------------------------------------------------


def json_pointer(doc: Any, pointer: str) -> Any:
    """RFC 6901: ``/data/0/id``; None when the path is not there."""
    if pointer == "":
        return doc
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must start with /")
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, Mapping):
            doc = doc.get(token)
        elif isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
            doc = doc[int(token)]
        else:
            return None
    return doc


@dataclass(frozen=True, slots=True)
class Extractor:
    """Where a value is: ``/a/b`` a JSON pointer into a JSON document, ``regex:...`` the first group
    (else the whole match) of a regular expression over the raw text, anything else a field name (a
    form field, a query parameter, or a JSON document's top-level member)."""

    spec: str

    def __post_init__(self) -> None:
        if self.spec.startswith("regex:"):
            try:
                re.compile(self.spec[6:])
            except re.error as exc:
                raise ValueError(f"{self.spec!r}: not a regular expression: {exc}") from None
        elif not self.spec:
            raise ValueError("must name a field, a JSON pointer (/...) or regex:...")

    def find(self, raw: str, doc: Any = None, fields: Mapping[str, str] | None = None) -> str | None:
        """The value in an answer or callback: ``raw`` its text, ``doc`` its JSON (when it is),
        ``fields`` its form fields and query parameters."""
        found: Any
        if self.spec.startswith("regex:"):
            m = re.search(self.spec[6:], raw)
            found = (m.group(1) if m.groups() else m.group(0)) if m else None
        elif self.spec.startswith("/"):
            found = json_pointer(doc, self.spec) if doc is not None else None
        else:
            found = (fields or {}).get(self.spec)
            if found is None and isinstance(doc, Mapping):
                found = doc.get(self.spec)
        if found is None or isinstance(found, dict | list) or found == "":
            return None
        return str(found)


# --- the receipts' statuses --------------------------------------------------------------------


def catalog_pair(value: str) -> tuple[int, int]:
    """``"STATUS"`` or ``"STATUS:ERROR"`` (catalog names) as (status id, error id); ValueError
    naming what is not in the catalog."""
    status_name, _, error_name = value.partition(":")
    if status_name not in st.STATUS_BY_NAME:
        raise ValueError(f"{status_name!r} is not a status of the catalog (e.g. DELIVERED_TO_HANDSET)")
    if error_name and error_name not in st.ERROR_BY_NAME:
        raise ValueError(f"{error_name!r} is not an error of the catalog (e.g. EC_UNKNOWN_SUBSCRIBER)")
    return st.status(status_name).id, st.error(error_name or "NO_ERROR").id


@dataclass(frozen=True, slots=True)
class StatusTable:
    """A provider's status values -> our status and error; matched exactly, then case-insensitively."""

    table: Mapping[str, tuple[int, int]]

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> StatusTable:
        if not raw:
            raise ValueError('needs at least one status value (e.g. DELIVRD = "DELIVERED_TO_HANDSET")')
        out = {}
        for key, value in raw.items():
            if not isinstance(value, str):
                raise ValueError(f"{key} = {value!r}: must be a string STATUS or STATUS:ERROR")  # noqa: TRY004 - config.py reports ValueErrors
            try:
                out[key] = catalog_pair(value)
            except ValueError as exc:
                raise ValueError(f"{key} = {value!r}: {exc}") from None
        return cls(out)

    def get(self, value: str) -> tuple[int, int] | None:
        found = self.table.get(value)
        if found is None:
            folded = value.casefold()
            found = next((v for k, v in self.table.items() if k.casefold() == folded), None)
        return found
