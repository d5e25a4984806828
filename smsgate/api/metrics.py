"""``GET /metrics``: the Prometheus text format (``smsgate/metrics.py``), behind the admin token; and,
when ``metrics_port`` is set, the same page without a token on that port (``MetricsServer``: bind it
where only Prometheus reaches it).

The process that runs the engine answers: it reads the live gauges (queue depth, connectors, customer
binds) and sums every worker's counters (multiprocess mode). A secondary worker forwards the scrape to
the primary over the supervisor's Unix socket, as ``/admin/1/connectors`` does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import httpx
from sqlalchemy import Connection, case, func, select
from starlette.requests import Request
from starlette.responses import Response

from .. import metrics
from ..domain.dates import now_ms
from ..engine.gateway import Gateway
from ..store.tables import jobs
from .admin import admin
from .errors import ApiFailure

log = logging.getLogger("smsgate.metrics")


def _queue_depth(conn: Connection, now: int) -> tuple[dict[str, int], dict[str, int]]:
    """Jobs by kind, and those due and not leased: one grouped scan of (kind, due_at), the index the
    job loops lease by."""
    due = func.sum(case(((jobs.c.due_at <= now) & (jobs.c.lease_until <= now), 1), else_=0))
    rows = conn.execute(select(jobs.c.kind, func.count(), due).group_by(jobs.c.kind)).all()
    return {r[0]: int(r[1]) for r in rows}, {r[0]: int(r[2] or 0) for r in rows}


async def sample(gateway: Gateway) -> metrics.LiveSample:
    now = now_ms()
    queued, due = await gateway.db.read(lambda conn: _queue_depth(conn, now))
    connectors = []
    for name, connector in gateway.router.connectors.items():
        status = connector.status()
        config = getattr(connector, "config", None)
        connectors.append(
            metrics.ConnectorSample(
                name=name,
                up=bool(connector.is_up),
                state=str(status.get("state", "up")),
                in_flight=int(status.get("in_flight", 0)),
                window=getattr(config, "window", None),
            )
        )
    binds = gateway.smpp.binds_by_account() if gateway.smpp is not None else None
    return metrics.LiveSample(queued, due, connectors, binds)


async def page(gateway: Gateway) -> bytes:
    return metrics.render(await sample(gateway))


@admin
async def metrics_page(request: Request, gateway: Gateway) -> Response:
    """GET /metrics (admin token)."""
    if gateway.peers.primary_admin is not None:  # a secondary: the primary sees the live gauges
        transport = httpx.AsyncHTTPTransport(uds=gateway.peers.primary_admin)
        try:
            async with httpx.AsyncClient(transport=transport, timeout=10) as client:
                answer = await client.get(
                    "http://primary/metrics",
                    headers={"Authorization": request.headers.get("authorization", "")},
                )
        except httpx.HTTPError as exc:
            raise ApiFailure(503, f"the primary worker does not answer ({exc}); try again") from None
        return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))
    return Response(await page(gateway), media_type=metrics.CONTENT_TYPE)


class MetricsServer:
    """``metrics_port``: ``GET /metrics`` with no token, nothing else, one request per connection (what
    Prometheus does), in the process that runs the engine."""

    def __init__(self, gateway: Gateway, host: str, port: int) -> None:
        self.gateway = gateway
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restarted primary binds again
        sock.bind((self.host, self.port))
        self._server = await asyncio.start_server(self._serve, sock=sock)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
            method, _, rest = head.split(b"\r\n", 1)[0].partition(b" ")
            path = rest.split(b" ", 1)[0].split(b"?", 1)[0]
            if path != b"/metrics":
                status, body, kind = b"404 Not Found", b"only /metrics here\n", b"text/plain"
            elif method not in (b"GET", b"HEAD"):
                status, body, kind = b"405 Method Not Allowed", b"GET only\n", b"text/plain"
            else:
                status, body, kind = b"200 OK", await page(self.gateway), metrics.CONTENT_TYPE.encode()
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: " + kind
                + b"\r\nContent-Length: " + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n" + (b"" if method == b"HEAD" else body)
            )  # fmt: skip
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except Exception:
            log.exception("metrics scrape failed")
        finally:
            writer.close()
