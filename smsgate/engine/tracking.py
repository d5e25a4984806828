"""URL shortening, clicks and conversions as a service of the gateway.

On accept (``engine/accept.py`` calls in twice): ``plan`` puts a placeholder link in place of every
URL before the text is counted, and ``TrackingPlan.fill`` gives each destination's row its own codes in
the accept transaction, returning the link and conversion rows for ``store_batch`` (one executemany per
table per accepted batch). Clicks (``GET /<code>``) are group-committed with their webhook jobs by
``ClickWriter``; conversions (``POST /ct/1/log/end/{messageId}``) are one small transaction each."""

from __future__ import annotations

import asyncio
import logging
import re
import statistics
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import orjson
import phonenumbers
from sqlalchemy import Connection

from ..config import Settings
from ..domain import shortlinks as sl
from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.messages import RequestRejected, SendRequest
from ..store import jobs as jq
from ..store import tracking as tq
from ..store.database import Database
from ..wire.tracking import click_webhook
from .devices import GeoLookup, device_of

log = logging.getLogger("smsgate.tracking")

DAY_MS = 86_400_000
PURGE_INTERVAL_S = 3600.0


@dataclass(slots=True)
class TrackingPlan:
    """One send request's tracking: its options, its link style, and the original URLs of each
    message whose text now holds a placeholder link (by the placeholder's code)."""

    options: sl.TrackingRequest
    style: sl.LinkStyle | None
    urls: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _find: re.Pattern[str] | None = None

    def fill(self, rows: Sequence[dict[str, Any]], now: int) -> tuple[list[dict], list[dict]]:
        """Each row's own links in place of its placeholder (rows are the messages about to be
        stored); returns (short_links rows, tracked_messages rows)."""
        links: list[dict] = []
        tracked: list[dict] = []
        o = self.options
        if self.style is not None and self.urls:
            if self._find is None:
                self._find = re.compile(re.escape(self.style.prefix) + f"([0-9a-z]{{{sl.CODE_LEN}}})")
            found = []
            # the rows of one message share its text: cut it once
            templates: dict[str, sl.Template | None] = {}
            for row in rows:
                text = row["text"]
                if text not in templates:
                    match = self._find.search(text) if text else None
                    urls = self.urls.get(match.group(1)) if match else None
                    # None: no placeholder, or not where the URLs were: the text stays as counted
                    templates[text] = (
                        sl.Template.around(text, match.group(), urls) if urls and match else None
                    )
                template = templates[text]
                if template is not None:
                    found.append((row, template))
            fresh = iter(sl.new_codes(sum(len(t.urls) for _, t in found)))  # one draw for the batch
            prefix = self.style.prefix
            for row, template in found:
                codes = [next(fresh) for _ in template.urls]
                row["text"] = template.render([prefix + c for c in codes])
                for code, url in zip(codes, template.urls):
                    links.append(
                        {
                            "code": code,
                            "account_id": row["account_id"],
                            "message_id": row["message_id"],
                            "bulk_id": row["bulk_id"],
                            "destination": row["destination"],
                            "url": url,
                            "track_clicks": o.track_clicks,
                            "tracking_url": o.tracking_url if o.track_clicks else None,
                            "callback_data": row["callback_data"],
                            "tracking_type": o.tracking_type,
                            "created_at": now,
                        }
                    )
        if o.conversion:
            for row in rows:
                tracked.append(
                    {
                        "account_id": row["account_id"],
                        "message_id": row["message_id"],
                        "bulk_id": row["bulk_id"],
                        "destination": row["destination"],
                        "process_key": o.process_key or sl.new_process_key(),
                        "tracking_type": o.tracking_type,
                        "created_at": now,
                        "converted_at": None,
                    }
                )
        return links, tracked


def store_batch(conn: Connection, filled: Sequence[tuple[list[dict], list[dict]]]) -> None:
    """The accept transaction's link and conversion rows: one executemany per table for the batch."""
    links = [row for lk, _ in filled for row in lk]
    tracked = [row for _, tr in filled for row in tr]
    tq.insert_links(conn, links)
    tq.insert_tracked(conn, tracked)


@dataclass(slots=True)
class _Click:
    link: tq.ShortLink
    row: dict[str, Any]
    payload: str | None
    future: asyncio.Future


class Tracking:
    def __init__(self, db: Database, settings: Settings, on_click: Callable[[], None] | None = None) -> None:
        self.db = db
        base = settings.short_link_base
        self.default_base = base
        # configured domains by host: customDomain may name the host or the whole base URL
        self.bases = {urlsplit(b).hostname or "": b.rstrip("/") for b in (base, *settings.short_domains)}
        self.retention_ms = int(settings.link_retention_days * DAY_MS)
        self.geo = GeoLookup(settings.geoip_db)
        self.on_click = on_click  # a click webhook was queued: wake the push loop
        self._queue: deque[_Click] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task | None = None
        self._links: dict[str, tq.ShortLink] = {}  # links never change: a small cache for redirects

    # --- accept ------------------------------------------------------------------------------

    def style(self, options: sl.TrackingRequest) -> sl.LinkStyle:
        base = self.default_base
        if options.domain:
            wanted = options.domain.strip().lower()
            host = urlsplit(wanted if "://" in wanted else f"//{wanted}").hostname or wanted
            found = self.bases.get(host)
            if found is None:
                known = ", ".join(sorted(self.bases))
                raise RequestRejected(
                    options.domain_field, f"unknown domain {options.domain!r}: configured are {known}"
                )
            base = found
        return sl.LinkStyle(base, options.remove_protocol)

    def plan(self, request: SendRequest) -> tuple[SendRequest, TrackingPlan | None]:
        """The request with a placeholder link in place of each URL, so its parts are counted as sent,
        and its plan; the request itself and None when it asks for no tracking (the usual case)."""
        options = request.tracking
        if options is None or not options.asks:
            return request, None
        style = self.style(options) if options.shorten else None
        plan = TrackingPlan(options, style)
        if style is None:
            return request, plan
        messages = []
        for msg in request.messages:
            if msg.text and "://" in msg.text:
                template = sl.Template.of(msg.text)
                if template.urls:
                    code = sl.placeholder_code(msg.text)
                    plan.urls[code] = template.urls
                    msg = replace(msg, text=template.fill(style.link(code)))
            messages.append(msg)
        return replace(request, messages=messages), plan

    def preview_text(self, text: str, options: sl.TrackingRequest | None) -> str:
        """``text`` as a destination would get it, with a sample code (POST /sms/1/preview)."""
        if options is None or not options.shorten:
            return text
        template = sl.Template.of(text)
        return template.render([self.style(options).link(c) for c in sl.new_codes(len(template.urls))])

    # --- redirects and clicks ----------------------------------------------------------------

    async def resolve(self, code: str) -> tq.ShortLink | None:
        link = self._links.get(code)
        if link is None:
            link = await self.db.read(lambda conn: tq.find_link(conn, code))
            if link is None:
                return None
            if len(self._links) >= 10_000:
                self._links.clear()
            self._links[code] = link
        if link.created_at < now_ms() - self.retention_ms:
            return None  # due for the purge
        return link

    async def click(self, link: tq.ShortLink, user_agent: str | None, address: str | None) -> None:
        """Record a click (and queue its webhook) in a group commit; returns once it is stored."""
        now = now_ms()
        device = device_of(user_agent)
        geo = self.geo.info(address)
        row = {
            "code": link.code,
            "account_id": link.account_id,
            "message_id": link.message_id,
            "bulk_id": link.bulk_id,
            "destination": link.destination,
            "tracking_type": link.tracking_type,
            "clicked_at": now,
            "device_type": device.device_type,
            "os": device.os,
            "device_name": device.device_name,
            "geo": orjson.dumps(geo).decode() if geo else None,
        }
        payload = None
        if link.tracking_url:
            body = click_webhook(link, now, device, geo)
            payload = orjson.dumps({"url": link.tracking_url, "body": body}).decode()
        future = asyncio.get_running_loop().create_future()
        self._queue.append(_Click(link, row, payload, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="clicks")
        self._wake.set()
        await asyncio.shield(future)

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 1000))]
                now = now_ms()

                def write(conn: Connection, batch: list[_Click] = batch, now: int = now) -> None:
                    tq.insert_clicks(conn, [c.row for c in batch])
                    jq.add_click_jobs(conn, [(now, c.payload) for c in batch if c.payload])

                try:
                    await self.db.write(write)
                except Exception as exc:  # every waiting redirect hears of it
                    log.exception("could not store %d clicks", len(batch))
                    for c in batch:
                        if not c.future.done():
                            c.future.set_exception(exc)
                    continue
                for c in batch:
                    if not c.future.done():
                        c.future.set_result(None)
                if any(c.payload for c in batch) and self.on_click is not None:
                    self.on_click()

    # --- conversions and statistics ----------------------------------------------------------

    async def convert(self, account_id: int, message_id: str) -> str | None:
        now = now_ms()
        return await self.db.write(lambda conn: tq.convert(conn, account_id, message_id, now))

    async def bulk_stats(self, account_id: int, bulk_id: str) -> dict[str, Any]:
        activity = await self.db.read(lambda conn: tq.bulk_activity(conn, account_id, bulk_id))
        return bulk_stats(bulk_id, activity)

    async def purge_once(self) -> int:
        horizon = now_ms() - self.retention_ms
        self._links.clear()
        return await self.db.write(lambda conn: tq.purge(conn, horizon))

    async def run_purge(self) -> None:
        while True:
            try:
                gone = await self.purge_once()
                if gone:
                    log.info("purged %d short links and conversions past the link retention", gone)
            except Exception:
                log.exception("purging short links failed")
            await asyncio.sleep(PURGE_INTERVAL_S)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass
        self.geo.close()


@lru_cache(maxsize=65536)
def prefixes(msisdn: str) -> tuple[str, str]:
    """(country prefix, network prefix) of an international number, as the seed's click data names
    them: the country calling code, and it with the national destination code (the operator's or
    area's prefix, by phonenumbers' metadata); ("", "") for a number phonenumbers cannot read."""
    try:
        parsed = phonenumbers.parse("+" + msisdn, None)
    except phonenumbers.NumberParseException:
        return "", ""
    country = str(parsed.country_code)
    national = phonenumbers.national_significant_number(parsed)
    ndc = phonenumbers.length_of_national_destination_code(parsed)
    return country, country + national[:ndc]


def _counts(values: list[str | None]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        key = value or "unknown"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _median_s(values: list[int]) -> float | None:
    return round(statistics.median(values) / 1000, 3) if values else None


def bulk_stats(bulk_id: str, a: tq.BulkActivity) -> dict[str, Any]:
    """Per conversion type (``conversionTrackingName`` or ``type``; ``null`` when none was given):
    messages sent and delivered, clicks (unique recipients and total), conversions, their rates, the
    median seconds from delivery to first click and to conversion, and the clicks by operating system,
    country prefix and network prefix. Sent and delivered count the bulk's
    messages while the logs keep them (``log_retention_hours``)."""
    kinds: dict[str | None, set[str]] = {}
    for message_id, kind in a.links:
        kinds.setdefault(kind, set()).add(message_id)
    for message_id, kind, _ in a.tracked:
        kinds.setdefault(kind, set()).add(message_id)
    delivered_at = {
        mid: done
        for mid, (status_id, done) in a.messages.items()
        if done is not None and st.status_by_id(status_id).group_id == st.StatusGroup.DELIVERED
    }
    out = []
    for kind, ids in sorted(kinds.items(), key=lambda kv: (kv[0] is not None, kv[0] or "")):
        clicks = [c for c in a.clicks if c[2] == kind and c[0] in ids]
        first_click: dict[str, int] = {}
        for mid, _, _, at, _ in clicks:
            first_click[mid] = min(at, first_click.get(mid, at))
        conversions = {mid: at for mid, k, at in a.tracked if k == kind and at is not None}
        sent = len([m for m in ids if m in a.messages]) or len(ids)
        delivered = len([m for m in ids if m in delivered_at])
        clicked = len({c[1] for c in clicks})
        out.append(
            {
                "conversionType": kind,
                "sent": sent,
                "delivered": delivered,
                "clickedRecipients": clicked,
                "totalClicks": len(clicks),
                "converted": len(conversions),
                "clickThroughRate": round(clicked / delivered, 4) if delivered else None,
                "conversionRate": round(len(conversions) / delivered, 4) if delivered else None,
                "medianSecondsToClick": _median_s(
                    [at - delivered_at[m] for m, at in first_click.items() if m in delivered_at]
                ),
                "medianSecondsToConversion": _median_s(
                    [at - delivered_at[m] for m, at in conversions.items() if m in delivered_at]
                ),
                # what the seed says is collected per click, counted over the clicks
                "clicksBy": {
                    "os": _counts([c[4] for c in clicks]),
                    "countryPrefix": _counts([prefixes(c[1])[0] for c in clicks]),
                    "networkPrefix": _counts([prefixes(c[1])[1] for c in clicks]),
                },
            }
        )
    return {"bulkId": bulk_id, "results": out}
