"""Inbound messages forwarded to the number's URL, with the same retry cycle as reports.

Two forms, as the seeds describe: a POST of the inbox shape (``{"results": [...], "messageCount",
"pendingMessageCount"}``, Infobip's MO_JSON_2; XML with the root ``<reportResponse>``), or a GET of
a templated URL (``%sender%``, ``%text%``, ``%bin%``, ...). One message per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

from ..domain.inbound import expand_forward_url, format_forward_values, forward_output, forward_values
from ..store import inbound as store
from ..store import jobs as jq
from ..store.records import InboundMessage
from ..store.tables import INBOUND_FORWARD_FAILED, INBOUND_FORWARDED
from ..text import encode
from ..wire import render, xmlcodec
from .pusher import Pusher

XML = "application/xml"


def binary_of(row: Any) -> str:
    """``%bin%``: the message's content in hex; for text, as the network carried it."""
    if row.binary_hex is not None:
        return row.binary_hex
    text = row.text or ""
    if row.data_coding == 8:
        return text.encode("utf-16-be").hex().upper()
    try:
        return b"".join(p.payload for p in encode(text).parts).hex().upper()
    except ValueError:
        return text.encode("utf-8").hex().upper()


def forward_request(
    row: Any, url: str, method: str, content_type: str
) -> tuple[str, str, bytes | None, dict]:
    """(method, url, body, headers) for forwarding one inbound row."""
    fields = {
        "sender": row.sender,
        "receiver": row.receiver,
        "text": row.text or "",
        "binary_hex": binary_of(row),
        "received_at_ms": row.received_at,
        "message_id": row.message_id,
        "data_coding": row.data_coding,
        "esm_class": row.esm_class,
    }
    target = expand_forward_url(url, **fields)
    if method == "GET":
        return "GET", target, None, {}
    output = forward_output(url)
    if output is not None:
        ctype, body = format_forward_values(output, forward_values(**fields))
        return "POST", target, body.encode(), {"Content-Type": ctype}
    data = {"results": [render.inbound(row)], "messageCount": 1, "pendingMessageCount": 0}
    if content_type == XML:
        return "POST", target, xmlcodec.render("reportResponse", data), {"Content-Type": XML}
    return "POST", target, orjson.dumps(data), {"Content-Type": "application/json"}


class InboundForwarder(Pusher):
    """The handler of the ``mo_forward`` job loop (jobs leased with their inbound rows)."""

    what = "inbound forwards"

    async def handle(self, jobs: Sequence[jq.LeasedJob[InboundMessage]]) -> None:
        for job in jobs:
            target = orjson.loads(job.payload or "{}")
            await self.spawn(self._forward(job, target))

    async def _forward(self, job: jq.LeasedJob[InboundMessage], target: dict) -> None:
        method, url, body, headers = forward_request(
            job.message,
            target["url"],
            target.get("method", "POST"),
            target.get("content_type", "application/json"),
        )
        headers["X-Smsgate-Message-Id"] = job.message.message_id
        await self.settle([job], await self.client.send(method, url, body, headers), target["url"])

    def delivered(self, conn: Connection, jobs: Sequence[jq.LeasedJob[InboundMessage]]) -> None:
        store.set_states(conn, [j.message.id for j in jobs], INBOUND_FORWARDED)

    def abandoned(self, conn: Connection, jobs: Sequence[jq.LeasedJob[InboundMessage]]) -> None:
        store.set_states(conn, [j.message.id for j in jobs], INBOUND_FORWARD_FAILED)
