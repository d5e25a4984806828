"""Clicks on short links pushed to the send request's ``trackingUrl`` in the ``UrlTrackingWebhook``
shape, one click per POST, with the same retry cycle, host policy and durability as delivery reports:
a ``click_push`` job per click, its payload the URL and the body rendered when the click came."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from ..store import jobs as jq
from .pusher import Pusher


class ClickPusher(Pusher):
    """The handler of the ``click_push`` job loop."""

    what = "click pushes"

    async def handle(self, jobs: Sequence[jq.PayloadJob]) -> None:  # type: ignore[override]
        for job in jobs:
            await self.spawn(self._push(job))

    async def _push(self, job: jq.PayloadJob) -> None:
        payload = orjson.loads(job.payload)
        url = payload["url"]
        body = orjson.dumps(payload["body"])
        outcome = await self.client.send("POST", url, body, {"Content-Type": "application/json"})
        await self.settle([job], outcome, url)  # type: ignore[list-item]
