"""The built-in simulated operator network, the default connector.

Every submitted message is answered at once (the network took it) and gets its final outcome after a
configurable delay, decided by the configured rules (by destination prefix) and by the subscriber
model number lookups answer from (``domain.subscribers``): a number that does not exist fails with
EC_UNKNOWN_SUBSCRIBER whatever the outcome rules say, and one switched off is reported absent once
before its outcome. The pending outcomes are rows in the gateway's job table, so a restart resumes
them where they were."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.network import NetworkRules
from ..domain.subscribers import SubscriberModel, SubscriberState
from ..store import jobs as jq
from ..store.jobs import JobKind
from ..store.records import OutboundMessage
from .base import Receipt, ReceiptSink, SubmitLedger, SubmitResult, UnknownOutcome

log = logging.getLogger("smsgate.simulator")

ABSENT_ONCE = "absent-reported"


class SimulatedNetwork:
    name = "simulator"

    def __init__(self, rules: NetworkRules, delivery_delay: float) -> None:
        self.rules = rules
        self.subscribers = SubscriberModel(rules.subscribers)
        self.delay_ms = int(delivery_delay * 1000)

    async def submit(
        self, messages: Sequence[OutboundMessage], ledger: SubmitLedger | None = None
    ) -> list[SubmitResult]:
        # answered at once, in process: the dispatcher records it all in one transaction
        results = []
        for m in messages:
            # prices were charged at accept (engine/charging.py); a configured network overrides mccMnc
            entry = self.rules.price_for(m.destination)
            results.append(
                SubmitResult(
                    message_pk=m.id,
                    accepted=True,
                    status_id=st.PENDING_WAITING_DELIVERY.id,
                    mcc_mnc=entry.mcc_mnc if entry is not None else None,
                    # the simulated network's own price list is what it costs
                    cost=entry.price if entry is not None else None,
                )
            )
        return results

    is_up = True  # the simulated network never goes down

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "simulator", "state": "up"}

    def on_unknown_outcome(self, connector: str | None = None) -> UnknownOutcome:
        """The simulated network answers in process, so a message in doubt was never really out: send it."""
        return "resubmit"

    def commit(self, conn: Connection, results: Sequence[SubmitResult]) -> None:
        due = now_ms() + self.delay_ms
        jq.add_jobs(conn, JobKind.SIM_DELIVERY, [(r.message_pk, due) for r in results if r.accepted])

    def deliver(
        self, conn: Connection, jobs: Sequence[jq.LeasedJob[OutboundMessage]], sink: ReceiptSink
    ) -> None:
        """Play out the network's side for due deliveries: final outcomes, or an absent subscriber first."""
        now = now_ms()
        receipts, finished = [], []
        unknown = (st.UNDELIVERABLE_NOT_DELIVERED.id, st.error("EC_UNKNOWN_SUBSCRIBER").id)
        for job in jobs:
            state = self.subscribers.state_of(job.message.destination)
            if state is SubscriberState.UNKNOWN:
                receipts.append(Receipt(job.message.id, *unknown, now))
                finished.append(job.job_id)
                continue
            rule = self.rules.outcome_for(job.message.destination)
            absent_first = rule.absent_first or state is SubscriberState.ABSENT
            if absent_first and job.payload != ABSENT_ONCE:
                receipts.append(
                    Receipt(
                        job.message.id,
                        st.PENDING_WAITING_DELIVERY.id,
                        st.error("EC_ABSENT_SUBSCRIBER").id,
                        now,
                    )
                )
                finished.append(job.job_id)
                jq.add_jobs(
                    conn, JobKind.SIM_DELIVERY, [(job.message.id, now + self.delay_ms)], payload=ABSENT_ONCE
                )
                continue
            receipts.append(Receipt(job.message.id, st.status(rule.status).id, st.error(rule.error).id, now))
            finished.append(job.job_id)
        sink(conn, receipts)
        jq.finish_jobs(conn, finished)
