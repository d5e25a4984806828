"""What every outbound channel offers the engine. A connector submits and reports back; it decides
nothing about retries, reports or billing, which belong to the engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Connection

from ..store.records import OutboundMessage


@dataclass(frozen=True, slots=True)
class SubmitResult:
    message_pk: int
    accepted: bool
    status_id: int  # PENDING_* when accepted by the network, a final status otherwise
    error_id: int = 0
    mcc_mnc: str | None = None
    price_per_message: float | None = None
    currency: str | None = None
    remote_id: str | None = None  # the network's id for the message, to match its receipts later
    connector: str | None = None  # set by the router: which connector took (or refused) the message
    part_ids: tuple[str, ...] = ()  # the network's ids of the earlier parts of a multipart message
    cost: float | None = None  # what the connector charges us per part (its cost price list); None: unknown


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt: the network's word on one message, final or intermediate."""

    message_pk: int
    status_id: int
    error_id: int
    done_at: int


# The engine's hook for receipts; called inside the transaction that consumed the network's event
# (on a database thread: what it wakes, it wakes through ``store.database.on_commit``).
ReceiptSink = Callable[[Connection, Sequence[Receipt]], None]

# What happens to a message leased again while still marked sending (its previous submit's answer
# was never recorded): sent again, or ended EXPIRED_UNKNOWN.
UnknownOutcome = Literal["resubmit", "fail"]


class ConnectorUnavailable(Exception):
    """Part of a batch could not be handed to the network now (link down, timeout, transient error).

    ``results``: the messages that were settled (accepted or permanently rejected), to record exactly
    as a normal return. ``retry``: message pks to reschedule. A pk in ``retry`` may have reached the
    network (its response was lost), so a retry can duplicate it; SMPP offers nothing better.
    ``handover``: message pk -> connector, for messages not sent because another gateway process holds
    that connector's binds: their jobs go to that process at once, not after a back-off.
    """

    def __init__(
        self,
        reason: str,
        results: list[SubmitResult],
        retry: list[int],
        handover: str | dict[int, str] | None = None,
    ) -> None:
        super().__init__(f"{reason} ({len(retry)} message(s) to retry)")
        self.reason = reason
        self.results = results
        self.retry = retry
        if isinstance(handover, str):  # every pk of retry, to this connector
            handover = dict.fromkeys(retry, handover)
        self.handover: dict[int, str] = handover or {}


class SubmitLedger(Protocol):
    """Where a connector records what it hands to the network as it goes (the dispatcher's group
    commit), so a crash leaves in doubt only the messages really in flight."""

    async def sending(self, message_pk: int, connector: str) -> None:
        """Durably mark the message as being submitted, before its first submit_sm goes out."""

    async def settled(self, result: SubmitResult) -> None:
        """Durably record the message's result (accepted or refused) and finish its job."""


class Connector(Protocol):
    name: str

    @property
    def is_up(self) -> bool:
        """Whether it can take messages now (an SMPP link: bound); the router skips one that is not."""

    def status(self) -> dict[str, Any]:
        """What ``GET /admin/1/connectors`` and ``smsgate connector list`` show: name, kind, state, ..."""

    def on_unknown_outcome(self, connector: str | None) -> UnknownOutcome:
        """The policy for a message still marked sending when leased again; ``connector`` is the one
        it was being sent through (a router asks the one named)."""

    async def submit(
        self, messages: Sequence[OutboundMessage], ledger: SubmitLedger | None = None
    ) -> list[SubmitResult]:
        """Hand messages to the network. A connector may record results through
        ``ledger`` as they come; it returns them all the same."""

    def commit(self, conn: Connection, results: Sequence[SubmitResult]) -> None:
        """Called in the transaction that records the submission (on a database thread, so no awaits
        and no I/O but the database's); durable connector state goes here."""
