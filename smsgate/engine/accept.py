"""Accepting a send request: validate each destination, assign ids, count parts, and write the messages
and their dispatch jobs in one transaction, so that what the client is told was accepted is exactly
what the gateway will work on, even if the process dies the next instant."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from .. import text as textengine
from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.ids import new_id
from ..domain.messages import AcceptedMessage, MessageRequest, RequestRejected, SendRequest
from ..domain.numbers import normalize_destination
from ..store import messages as q
from ..store.accounts import Account
from ..store.database import Database
from ..store.tables import REPORT_NONE, REPORT_PULL

MAX_VALIDITY_MINUTES = 48 * 60


def count_parts(msg: MessageRequest) -> int:
    if msg.binary_hex is not None:
        return textengine.count_binary(bytes.fromhex(msg.binary_hex), udh_present=bool(msg.esm_class & 0x40))
    return textengine.encode(
        msg.text or "",
        language_code=msg.language_code,
        single_shift=msg.single_shift,
        locking_shift=msg.locking_shift,
        transliteration=msg.transliteration,
    ).message_count


class Acceptor:
    def __init__(self, db: Database, default_sender: str) -> None:
        self.db = db
        self.default_sender = default_sender

    async def accept(self, account: Account, request: SendRequest) -> tuple[str | None, list[AcceptedMessage]]:
        counts = []
        for i, msg in enumerate(request.messages):
            try:
                counts.append(count_parts(msg))
            except ValueError as exc:  # unknown language or transliteration, bad binary
                raise RequestRejected(f"messages[{i}]", str(exc)) from None
        total = sum(len(m.destinations) for m in request.messages)
        bulk_id = request.bulk_id or (new_id() if total > 1 or request.api_version == "3" else None)
        for attempt in range(3):
            try:
                return bulk_id, await self._accept_once(account, request, bulk_id, counts)
            except IntegrityError:
                # Another request took one of our custom messageIds between the check and the insert;
                # the retry sees it and rejects that destination as a duplicate.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _accept_once(
        self, account: Account, request: SendRequest, bulk_id: str | None, counts: list[int]
    ) -> list[AcceptedMessage]:
        now = now_ms()
        wanted = [d.message_id for m in request.messages for d in m.destinations if d.message_id]
        async with self.db.begin() as conn:
            taken = await q.existing_message_ids(conn, account.id, wanted) if wanted else set()
            outcomes: list[AcceptedMessage] = []
            rows: list[dict] = []
            for msg, sms_count in zip(request.messages, counts):
                validity = min(msg.validity_minutes or MAX_VALIDITY_MINUTES, MAX_VALIDITY_MINUTES)
                for dest in msg.destinations:
                    message_id = dest.message_id or new_id()
                    if dest.message_id:
                        if message_id in taken:
                            outcomes.append(AcceptedMessage(
                                message_id, dest.to, st.REJECTED_DUPLICATE_MESSAGE_ID.id, sms_count, stored=False))
                            continue
                        taken.add(message_id)
                    number = normalize_destination(dest.to)
                    status = st.PENDING_ACCEPTED if number else st.REJECTED_DESTINATION
                    outcomes.append(AcceptedMessage(message_id, number.msisdn if number else dest.to, status.id, sms_count))
                    rows.append({
                        "account_id": account.id,
                        "message_id": message_id,
                        "bulk_id": bulk_id,
                        "api_version": request.api_version,
                        "sender": msg.sender or self.default_sender,
                        "destination": number.msisdn if number else dest.to[:32],
                        "text": msg.text,
                        "binary_hex": msg.binary_hex,
                        "data_coding": msg.data_coding,
                        "esm_class": msg.esm_class,
                        "flash": msg.flash,
                        "language_code": msg.language_code,
                        "single_shift": msg.single_shift,
                        "locking_shift": msg.locking_shift,
                        "transliteration": msg.transliteration,
                        "callback_data": msg.callback_data,
                        "notify_url": msg.notify_url,
                        "notify_content_type": msg.notify_content_type,
                        "intermediate_report": msg.intermediate_report,
                        "sms_count": sms_count,
                        "status_id": status.id,
                        "error_id": 0,
                        "created_at": now,
                        "send_at": msg.send_at_ms,
                        "valid_until": max(now, msg.send_at_ms or now) + validity * 60_000,
                        # a rejected destination is final at once and reported like any other
                        "done_at": None if number else now,
                        "report_state": REPORT_NONE if number else REPORT_PULL,
                    })
            pks = await q.insert_messages(conn, account.id, rows)
            await q.add_jobs(
                conn,
                "dispatch",
                [(pk, max(now, row["send_at"] or now)) for pk, row in zip(pks, rows) if row["done_at"] is None],
            )
        return outcomes
