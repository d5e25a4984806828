"""Reading request bodies and writing responses in the type the client asked for (JSON or XML)."""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..wire import xmlcodec
from .errors import ApiFailure

JSON = "application/json"
XML = "application/xml"


def wants_xml(request: Request) -> bool:
    if request.url.path.endswith(".xml"):
        return True
    accept = request.headers.get("accept", "").lower()
    xml_at = accept.find("xml")
    json_at = accept.find("json")
    return xml_at >= 0 and (json_at < 0 or xml_at < json_at)


async def read_body(
    request: Request, max_bytes: int, allow_xml: bool = True, xml_roots: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The body as a dict. ``xml_roots``: the XML root elements the endpoint takes, documented one first."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = content_type == JSON or content_type.endswith("+json")
    is_xml = allow_xml and content_type in (XML, "text/xml")
    if not (is_json or is_xml):
        allowed = "application/json or application/xml" if allow_xml else "application/json"
        shown = content_type or "none"
        raise ApiFailure(
            415 if content_type else 400,
            f"Content-Type must be {allowed} (got {shown})",
            [("Content-Type", f"must be {allowed}")],
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ApiFailure(413, f"request body is larger than {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise ApiFailure(413, f"request body is larger than {max_bytes} bytes")
    if not body.strip():
        raise ApiFailure(400, "request body is empty", [("body", "must not be empty")])
    if is_json:
        try:
            data = orjson.loads(bytes(body))
        except orjson.JSONDecodeError as exc:
            raise ApiFailure(400, f"malformed JSON: {exc}", [("body", "malformed JSON")]) from exc
    else:
        try:
            data = xmlcodec.parse(bytes(body), xml_roots)
        except xmlcodec.XmlError as exc:
            raise ApiFailure(400, str(exc), [("body", str(exc))]) from exc
    if not isinstance(data, dict):
        raise ApiFailure(400, "request body must be an object", [("body", "must be an object")])
    # JSON can only carry a NUL escaped (orjson refuses a raw one), so without the escape there is
    # none to look for; XML's parser decides for itself
    if (not is_json or b"\\u0000" in body) and (where := find_nul(data)) is not None:
        raise ApiFailure(400, f"{where}: {NUL_PROBLEM}", [(where, NUL_PROBLEM)])
    return data


NUL_PROBLEM = "must not contain the NUL character (\\u0000)"


def find_nul(data: Any) -> str | None:
    """The path (``messages[0].text``) of the first string holding a NUL, else None. PostgreSQL cannot
    store NUL in text and SQLite would keep it, so it is refused before anything else looks at it."""
    todo = deque([("", data)])
    while todo:  # iterative: JSON can nest deeper than Python recurses
        path, value = todo.popleft()
        if isinstance(value, str):
            if "\x00" in value:
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if "\x00" in str(key):
                    return name
                todo.append((name, item))
        elif isinstance(value, list):
            todo.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def respond(
    request: Request,
    data: dict[str, Any],
    xml_root: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_xml(request):
        return Response(xmlcodec.render(xml_root, data), status, headers, media_type=XML)
    return respond_json(data, status, headers)


def respond_json(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if headers and any(k.lower() in ("content-length", "content-type") for k in headers):
        return Response(orjson.dumps(data), status, headers, media_type=JSON)
    return JsonBytes(orjson.dumps(data), status, headers)


class JsonBytes(Response):
    """A JSON response from bytes orjson made: the headers Starlette would set (the caller's, then
    content-length and content-type), without its general-purpose rendering."""

    media_type = JSON

    def __init__(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        raw = (
            [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            if headers
            else []
        )
        raw.append((b"content-length", b"%d" % len(body)))
        raw.append((b"content-type", b"application/json"))
        self.raw_headers = raw
