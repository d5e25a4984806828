"""The legacy AddOn/SMSService API (seed 004), its pure rules: return codes, the report statuses
mapped from the one status catalog, the report retry schedule, TON/NPI values, and the one-part text
limit without ``type=longSMS``."""

from __future__ import annotations

import enum

from .. import text as textengine
from .statuses import STATUS_BY_ID


class XmlStatus(enum.IntEnum):
    """``<RESPONSE><status>``: the number of messages that will be sent (> 0), or one of these."""

    AUTH_FAILED = -1
    XML_ERROR = -2
    NOT_ENOUGH_CREDITS = -3
    NO_RECIPIENTS = -4
    GENERAL_ERROR = -5


class GetCode(enum.IntEnum):
    """SendSMS.aspx's (and command.aspx's) bare-number answers other than a message id."""

    SEND_ERROR = -1  # "not in use actually" in the seed: smsgate's answer for any other refusal
    NOT_ENOUGHCREDITS = -2
    NETWORK_NOTCOVERED = -3
    SOCKET_EXCEPTION = -4  # not in use (the seed's too)
    INVALID_USER_OR_PASS = -5
    MISSING_DESTINATION_ADDRESS = -6
    MISSING_SMSTEXT = -7
    MISSING_SENDERNAME = -8
    DESTADDR_INVALIDFORMAT = -9
    MISSING_USERNAME = -10
    MISSING_PASS = -11
    INVALID_DESTINATION_ADDRESS = -13


class PullCode(enum.IntEnum):
    """/api/dlrpull's plain answers when it hands out nothing."""

    INVALID_USER_OR_PASS = 5
    MISSING_USERNAME = 10
    MISSING_PASSWORD = 11


# Catalog status -> the seed's report status, one line per status of domain/catalog_data.py (a test
# checks that none is missing). Pending statuses appear only when a report is asked for by id before
# the message ended: not yet at the network is NOT_SENT, at the network SENT.
LEGACY_STATUS: dict[str, str] = {
    "MESSAGE_ACCEPTED": "NOT_SENT",
    "PENDING_ACCEPTED": "NOT_SENT",
    "PENDING_APPROVAL": "NOT_SENT",
    "PENDING_TIME_VIOLATION": "NOT_SENT",
    "PENDING_ENROUTE": "SENT",
    "PENDING_WAITING_DELIVERY": "SENT",
    # the operator took it and will not report further: "sent over a route that does not support
    # delivery reports"
    "DELIVERED_TO_OPERATOR": "SENT",
    "DELIVERED_TO_HANDSET": "DELIVERED",
    "DELIVERED": "DELIVERED",
    "UNDELIVERABLE_REJECTED_OPERATOR": "NOT_DELIVERED",
    "UNDELIVERABLE_NOT_DELIVERED": "NOT_DELIVERED",
    "UNDELIVERABLE_NOT_SENT": "NOT_SENT",
    "UNDELIVERABLE_REJECTED_PLATFORM": "NOT_DELIVERED",
    "NO_ANSWER": "NOT_DELIVERED",
    "BUSY": "NOT_DELIVERED",
    "CANCELLED": "NOT_SENT",
    "EXPIRED_EXPIRED": "NOT_DELIVERED",
    "EXPIRED_UNKNOWN": "NOT_DELIVERED",
    "EXPIRED_DLR_UNKNOWN": "NOT_DELIVERED",
    "REJECTED_NETWORK": "NOT_ALLOWED",
    "REJECTED_DND": "NOT_ALLOWED",
    "REJECTED_SENDER": "NOT_ALLOWED",
    "REJECTED_DESTINATION_BLOCKLISTED": "NOT_ALLOWED",
    "REJECTED_FLOODING_FILTER": "NOT_ALLOWED",
    "SIGNALS_BLOCKED": "NOT_ALLOWED",
    "REJECTED": "NOT_ALLOWED",
    "REJECTED_PREFIX_MISSING": "INVALID_DESTINATION_ADDRESS",
    "REJECTED_DESTINATION": "INVALID_DESTINATION_ADDRESS",
    "REJECTED_DESTINATION_NOT_REGISTERED": "INVALID_DESTINATION_ADDRESS",
    "MISSING_TO": "INVALID_DESTINATION_ADDRESS",
    "REJECTED_SOURCE": "INVALID_SOURCE_ADDRESS",
    "REJECTED_ROUTE_NOT_AVAILABLE": "ROUTE_NOT_AVAILABLE",
    "REJECTED_NOT_REACHABLE": "ROUTE_NOT_AVAILABLE",
    "REJECTED_NOT_ENOUGH_CREDITS": "NOT_ENOUGH_CREDITS",
    "REJECTED_PREPAID_PACKAGE_EXPIRED": "NOT_ENOUGH_CREDITS",
    "REJECTED_INVALID_UDH": "INVALID_MESSAGE_FORMAT",
    "REJECTED_MESSAGE_TOO_LONG": "INVALID_MESSAGE_FORMAT",
    "REJECTED_DUPLICATE_MESSAGE_ID": "INVALID_MESSAGE_FORMAT",
    "REJECTED_NOT_SENT": "NOT_SENT",
    "REJECTED_SYSTEM_ERROR": "NOT_SENT",
}
LEGACY_STATUSES = frozenset(
    {
        "NOT_SENT",
        "SENT",
        "NOT_DELIVERED",
        "DELIVERED",
        "NOT_ALLOWED",
        "INVALID_DESTINATION_ADDRESS",
        "INVALID_SOURCE_ADDRESS",
        "ROUTE_NOT_AVAILABLE",
        "NOT_ENOUGH_CREDITS",
        "INVALID_MESSAGE_FORMAT",
    }
)


def legacy_status(status_id: int) -> str:
    """The seed's report status of a catalog status."""
    return LEGACY_STATUS[STATUS_BY_ID[status_id].name]


# What a message's rejection at accept answers (statuses the acceptor or the money code give).
XML_REJECTION = {"REJECTED_NOT_ENOUGH_CREDITS": XmlStatus.NOT_ENOUGH_CREDITS}
GET_REJECTION = {
    "REJECTED_NOT_ENOUGH_CREDITS": GetCode.NOT_ENOUGHCREDITS,
    "REJECTED_NETWORK": GetCode.NETWORK_NOTCOVERED,
    "REJECTED_ROUTE_NOT_AVAILABLE": GetCode.NETWORK_NOTCOVERED,
    "REJECTED_NOT_REACHABLE": GetCode.NETWORK_NOTCOVERED,
    "REJECTED_DESTINATION": GetCode.INVALID_DESTINATION_ADDRESS,
}


def xml_answer(status_ids: list[int]) -> int:
    """XMLInput.aspx's status for what the acceptor made of each recipient: how many will be sent,
    else the rejection that stopped them (-3 when the balance could not pay), else -4."""
    sent = sum(not STATUS_BY_ID[i].is_final for i in status_ids)
    if sent:
        return sent
    for i in status_ids:
        code = XML_REJECTION.get(STATUS_BY_ID[i].name)
        if code is not None:
            return code
    return XmlStatus.NO_RECIPIENTS


def get_answer(status_id: int) -> int | None:
    """SendSMS.aspx's code for a rejected message; None: it will be sent (answer its id)."""
    found = STATUS_BY_ID[status_id]
    if not found.is_final:
        return None
    return GET_REJECTION.get(found.name, GetCode.SEND_ERROR)


# The seed's push schedule: "again for 60 seconds, then for five minutes, and then every hour in next
# 24 hours period", then the report is lost. In units of a minute (settings.webhook_retry_unit).
LEGACY_RETRY_UNITS = (1, 5, *([60] * 24))


def legacy_retry_delay_ms(retry: int, unit_ms: int) -> int | None:
    """Wait before retry ``retry`` (1-based) after the previous attempt failed; None: give up."""
    if 1 <= retry <= len(LEGACY_RETRY_UNITS):
        return LEGACY_RETRY_UNITS[retry - 1] * unit_ms
    return None


# seed 004, 1.2: the TON and NPI values srcton/destton and srcnpi/destnpi may take
TONS = frozenset({0, 1, 2, 3, 4, 5, 6})
NPIS = frozenset({0, 1, 3, 4, 6, 8, 9, 10, 14, 18})

MAX_ALPHANUMERIC_SENDER = 11
MAX_NUMERIC_SENDER = 14


def sender_problem(sender: str) -> str | None:
    """Why a sender is not one the seed allows (alphanumeric up to 11, numeric up to 14), else None."""
    digits = sender.removeprefix("+")
    if digits.isdigit():
        return (
            None
            if len(digits) <= MAX_NUMERIC_SENDER
            else f"a numeric sender has at most {MAX_NUMERIC_SENDER} digits"
        )
    return (
        None
        if len(sender) <= MAX_ALPHANUMERIC_SENDER
        else f"an alphanumeric sender has at most {MAX_ALPHANUMERIC_SENDER} characters"
    )


def one_part(text: str) -> str:
    """``text`` cut to what one SMS part holds (160 GSM characters, 70 UCS-2), as Infobip's legacy API
    sent a text longer than one part without ``type=longSMS``."""
    text = text[:160]  # no part holds more characters than this
    if textengine.encode(text).message_count <= 1:
        return text
    low, high = 0, len(text)  # the longest prefix that fits: low fits, high does not
    while high - low > 1:
        middle = (low + high) // 2
        if textengine.encode(text[:middle]).message_count <= 1:
            low = middle
        else:
            high = middle
    return text[:low]
