"""The records the store hands to the engine, connectors and renderers: one frozen, slotted class per
row kind, built in the store's queries, so what flows between the layers has a type and not ``Any``.

Field order is the table's column order (checked at import): a query selecting the table builds a
record positionally from its row, which is as cheap as it gets for a batch of hundreds."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Table

from .tables import inbound_messages, lookups, messages


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One row of ``messages``: a message a customer sent, with what became of it."""

    id: int
    account_id: int
    message_id: str
    bulk_id: str | None
    api_version: str
    sender: str
    destination: str
    text: str | None
    binary_hex: str | None
    data_coding: int
    binary_septets: bool
    esm_class: int
    flash: bool
    language_code: str | None
    single_shift: bool
    locking_shift: bool
    transliteration: str | None
    callback_data: str | None
    notify_url: str | None
    report_channel: str | None  # a ReportChannel value
    notify_content_type: str | None
    intermediate_report: bool
    sms_count: int
    status_id: int
    error_id: int
    mcc_mnc: str | None
    price_per_message: float | None
    currency: str | None
    connector: str | None
    remote_id: str | None
    delivery_window: str | None
    created_at: int
    send_at: int | None
    valid_until: int | None
    submitted_at: int | None
    sending_at: int | None
    done_at: int | None
    report_state: int
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int | None = None
    dest_npi: int | None = None
    cost_per_message: float | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One row of ``inbound_messages``: a mobile-originated message for one of an account's numbers."""

    id: int
    account_id: int
    message_id: str
    sender: str
    receiver: str
    text: str | None
    clean_text: str | None
    keyword: str | None
    binary_hex: str | None
    data_coding: int
    esm_class: int
    sms_count: int
    price: float
    currency: str | None
    received_at: int
    state: int
    upstream_id: str | None = None


def _check(record: type, table: Table) -> None:
    names = [f.name for f in fields(record)]
    if names != list(table.columns.keys()):
        raise TypeError(f"{record.__name__} fields differ from the {table.name} columns")


_check(OutboundMessage, messages)
_check(InboundMessage, inbound_messages)


def outbound(row: Any) -> OutboundMessage:
    """The record of a row that selected ``messages`` (all its columns, in order, and nothing else)."""
    return OutboundMessage(*row)


def inbound(row: Any) -> InboundMessage:
    return InboundMessage(*row)


@dataclass(frozen=True, slots=True)
class LookupRecord:
    """One row of ``lookups``: one number looked up, with its result (``details``: JSON)."""

    id: int
    account_id: int
    bulk_id: str
    message_id: str
    destination: str
    channel: str
    mcc_mnc: str | None
    status_id: int
    error_id: int
    details: str | None
    price: float | None
    currency: str | None
    notify_url: str | None
    notify_content_type: str | None
    created_at: int
    done_at: int | None


def lookup(row: Any) -> LookupRecord:
    return LookupRecord(*row)


_check(LookupRecord, lookups)
