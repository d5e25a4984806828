"""Limits on the request line, answered in the API family's error shape rather than the HTTP server's
own ``text/plain`` 400: URL length, number of query parameters, and query values that are not text
(bad percent-encoding, NUL)."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .errors import ApiFailure

# Room for a query send with a long Unicode text (1,600 characters percent-encoded are ~15 KB) and a
# few hundred destinations; well below the 64 KiB where the HTTP parser itself gives up.
MAX_URL_BYTES = 32 * 1024
# Repeated parameters are few (to, bulkId, messageId); more than this is not a request to serve.
MAX_QUERY_PARAMS = 1000


def check_request_line(raw_path: bytes, query: bytes, latin1: bool = False) -> ApiFailure | None:
    """The refusal for a request line over the limits or with a query value that is not text, else None.
    ``latin1``: query values may be ISO-8859-1 as well as UTF-8 (the legacy API decides per value)."""
    if len(raw_path) + len(query) > MAX_URL_BYTES:
        return ApiFailure(414, f"the URL is longer than {MAX_URL_BYTES} bytes; send the data in a POST body")
    if b"%00" in raw_path or b"\x00" in raw_path:
        return ApiFailure(400, "the path must not contain the NUL character (%00)")
    fields = [f for f in query.split(b"&") if f]
    if len(fields) > MAX_QUERY_PARAMS:
        return ApiFailure(
            400, f"the query has {len(fields)} parameters; at most {MAX_QUERY_PARAMS} are taken"
        )
    for field in fields:
        key, _, value = field.partition(b"=")
        try:
            name, text = _unquote(key, latin1=latin1), _unquote(value, latin1=latin1)
        except UnicodeDecodeError:
            name = _unquote(key, errors="replace")
            return _bad_param(name, "is not UTF-8 text once percent-decoded (e.g. %FF)")
        if "\x00" in text or "\x00" in name:
            return _bad_param(name, "must not contain the NUL character (%00)")
    return None


def _unquote(part: bytes, errors: str = "strict", latin1: bool = False) -> str:
    # as Starlette reads the query, but strict: it would turn %FF into U+FFFD and filter on that
    return unquote_to_bytes(part.replace(b"+", b" ")).decode("latin-1" if latin1 else "utf-8", errors)


def _bad_param(name: str, problem: str) -> ApiFailure:
    shown = name.replace("\x00", "\\u0000") or "(empty name)"
    return ApiFailure(400, f"{shown}: {problem}", [(shown, problem)])


def is_v3_path(path: str | bytes) -> bool:
    """Paths answered in the v3 error shape (v3 and the operator's admin API)."""
    if isinstance(path, bytes):
        path = path.decode("latin-1")
    return path.startswith(("/sms/3/", "/admin/"))


class FamilyErrorsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with its "Invalid HTTP request received." 400 (a request line the
    parser refuses, e.g. a URL over 64 KiB) in the family's error shape, as JSON."""

    def send_400_response(self, msg: str) -> None:
        url = getattr(self, "url", b"")
        if len(url) > MAX_URL_BYTES:
            failure = ApiFailure(414, f"the URL is longer than {MAX_URL_BYTES} bytes")
        else:
            failure = ApiFailure(400, f"malformed HTTP request: {msg}")
        body = orjson.dumps(failure.v3_body() if is_v3_path(url) else failure.v1_body())
        reason = b"URI Too Long" if failure.status == 414 else b"Bad Request"
        content = [b"HTTP/1.1 %d %s\r\n" % (failure.status, reason)]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
