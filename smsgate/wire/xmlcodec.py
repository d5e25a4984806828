"""XML bodies in and out, in Infobip's conventions: a list is a wrapper element whose children are its
items (``<messages><message>..</message></messages>``), a repeated element is a list too, and scalars
are text. Parsing goes through defusedxml: no DTDs, no entities, no external references."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

# Elements that hold a list even when they have a single child (or none).
LIST_FIELDS = frozenset(
    {"messages", "destinations", "days", "results", "previews", "bulkIds", "violations", "resources"}
)


# The deepest request body is about 6 levels (messages/message/deliveryTimeWindow/from/hour); this leaves
# room and keeps the recursive conversion below far from Python's recursion limit.
MAX_XML_DEPTH = 32


class XmlError(ValueError):
    pass


def parse_tree(data: bytes, roots: tuple[str, ...] = ()) -> Element:
    """The body's root element, parsed safely (no DTD, no entities, no external references, bounded
    depth); for bodies whose attributes matter (the legacy API's ``<gsm messageId="...">``)."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlError("XML with a DTD or entities is not accepted") from exc
    except SafeET.ParseError as exc:
        raise XmlError(f"malformed XML: {exc}") from exc
    if roots and root.tag not in roots:
        raise XmlError(f"the root element must be <{'> or <'.join(roots)}>, not <{root.tag}>")
    if _depth(root) > MAX_XML_DEPTH:
        raise XmlError(f"XML is nested deeper than {MAX_XML_DEPTH} elements")
    return root


def parse(data: bytes, roots: tuple[str, ...] = ()) -> dict[str, Any]:
    """The body as a dict. ``roots``: the root element names the endpoint accepts, the documented one
    first (empty: any)."""
    value = _value(parse_tree(data, roots))
    return value if isinstance(value, dict) else {}


def _depth(root: Element) -> int:
    # iterative: a recursive walk is what a deeply nested body would break
    deepest, level = 0, [(root, 1)]
    while level:
        el, depth = level.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_XML_DEPTH:
            level.extend((child, depth + 1) for child in el)
    return deepest


def _value(el: Element) -> Any:
    children = list(el)
    if el.tag in LIST_FIELDS and (children or not (el.text or "").strip()):
        return [_value(c) for c in children]
    if not children:
        return el.text or ""
    repeated = {tag for tag, n in Counter(c.tag for c in children).items() if n > 1}
    out: dict[str, Any] = {}
    for child in children:
        if child.tag in repeated:
            out.setdefault(child.tag, []).append(_value(child))
        else:
            out[child.tag] = _value(child)
    return out


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _singular(name: str) -> str:
    if name in ("days",):
        return name
    return name[:-1] if name.endswith("s") and len(name) > 1 else "item"


def _build(parent: Element, key: str, value: Any) -> None:
    if value is None:
        return
    if _NAME.match(key):
        el = SubElement(parent, key)
    else:
        # keys that are data, not names (validationErrors' "messages[0].to"), go in an attribute
        el = SubElement(parent, "field", name=key)
    if isinstance(value, dict):
        for k, v in value.items():
            _build(el, k, v)
    elif isinstance(value, list):
        for item in value:
            _build(el, _singular(key), item)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = str(value)


def render(root: str, data: dict[str, Any]) -> bytes:
    top = Element(root)
    for k, v in data.items():
        _build(top, k, v)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + tostring(top, encoding="unicode").encode()
