"""Every mapping between SMPP and the status catalog, in one place.

Pure functions and tables, used by the three SMPP parts of the gateway:

* receipts both ways: the SMPP connector turns an operator's receipt into a catalog (status, error)
  pair (``catalog_for_receipt``); the SMSC simulator and the customer SMPP edge turn a catalog outcome
  into the receipt (stat, err) they send (``receipt_for_catalog``, ``receipt_stat``);
* submit answers: a permanent submit_sm_resp error the operator gives the connector becomes a catalog
  rejection (``submit_rejection``); a rejection the acceptor gives an SMPP customer becomes the
  command_status the edge answers with (``refusal_status``).

It lives outside ``domain`` (which knows nothing of SMPP) and outside ``smpp`` (the codec, which knows
nothing of the catalog).

Receipt choices (a receipt carries less than the catalog, so some are judgement calls):

Choices (a receipt carries less than the catalog, so some are judgement calls):

* DELIVRD -> DELIVERED_TO_HANDSET / NO_ERROR: the receipt comes from the network, so the handset
  got it (DELIVERED_TO_OPERATOR would under-report).
* UNDELIV -> UNDELIVERABLE_NOT_DELIVERED ("sent, not delivered") with the EC_* error whose id is
  the code; EC_UNKNOWN_ERROR when the code is missing or outside the catalog.
* EXPIRED -> EXPIRED_EXPIRED, error from the code, else EC_MESSAGE_EXPIRED (the operator's own
  "message expired").
* REJECTD -> REJECTED_NETWORK (the network refused the message), error from the code, NO_ERROR
  without one, EC_UNKNOWN_ERROR for a code outside the catalog.
* DELETED -> UNDELIVERABLE_NOT_SENT / EC_MESSAGE_CANCELED: the SMSC dropped the message (cancel_sm
  or operator action) before it reached the handset; final, never delivered.
* ENROUTE -> PENDING_ENROUTE, ACCEPTD -> PENDING_ACCEPTED, UNKNOWN and any unrecognised stat ->
  PENDING_WAITING_DELIVERY: not final, so a later receipt (or the validity timeout) settles it
  instead of a guess. A pending receipt keeps its error (e.g. an intermediate notification's
  EC_ABSENT_SUBSCRIBER), else NO_ERROR.

The network_error_code TLV (GSM/MAP code) wins over the text's ``err:`` when both are usable:
it is structured and its codes are the catalog's ids, while ``err:`` is often SMSC-specific.
"""

from __future__ import annotations

from ..domain.statuses import ERROR_BY_ID, ERROR_BY_NAME, STATUS_BY_ID, STATUS_BY_NAME
from ..smpp.constants import CommandStatus
from ..smpp.receipts import ReceiptStat, parse_stat

GENERIC_ERROR = "EC_UNKNOWN_ERROR"

# stat -> (status name, error name used when the receipt names no usable error)
_FORWARD: dict[ReceiptStat, tuple[str, str]] = {
    ReceiptStat.DELIVRD: ("DELIVERED_TO_HANDSET", "NO_ERROR"),
    ReceiptStat.UNDELIV: ("UNDELIVERABLE_NOT_DELIVERED", GENERIC_ERROR),
    ReceiptStat.EXPIRED: ("EXPIRED_EXPIRED", "EC_MESSAGE_EXPIRED"),
    ReceiptStat.REJECTD: ("REJECTED_NETWORK", "NO_ERROR"),
    ReceiptStat.DELETED: ("UNDELIVERABLE_NOT_SENT", "EC_MESSAGE_CANCELED"),
    ReceiptStat.ENROUTE: ("PENDING_ENROUTE", "NO_ERROR"),
    ReceiptStat.ACCEPTD: ("PENDING_ACCEPTED", "NO_ERROR"),
    ReceiptStat.UNKNOWN: ("PENDING_WAITING_DELIVERY", "NO_ERROR"),
}
_UNRECOGNISED = ("PENDING_WAITING_DELIVERY", "NO_ERROR")

# Catalog status group id -> stat, for the reverse direction.
_GROUP_STAT: dict[int, ReceiptStat] = {
    0: ReceiptStat.ACCEPTD,  # ACCEPTED
    1: ReceiptStat.ENROUTE,  # PENDING
    2: ReceiptStat.UNDELIV,  # UNDELIVERABLE
    3: ReceiptStat.DELIVRD,  # DELIVERED
    4: ReceiptStat.EXPIRED,  # EXPIRED
    5: ReceiptStat.REJECTD,  # REJECTED
}
_STATUS_STAT: dict[str, ReceiptStat] = {"PENDING_ACCEPTED": ReceiptStat.ACCEPTD}

for _status, _error in (*_FORWARD.values(), _UNRECOGNISED):
    assert _status in STATUS_BY_NAME and _error in ERROR_BY_NAME, (_status, _error)


def _error_name(code: int | None) -> str | None:
    """Catalog name of a GSM error code, None for 0/None/codes outside the EC_* catalog."""
    if not code:
        return None
    found = ERROR_BY_ID.get(code)
    if found is None or not found.name.startswith("EC_"):
        return None
    return found.name


def catalog_for_receipt(
    stat: ReceiptStat | str | None, err: int | None, network_error: int | None = None
) -> tuple[str, str]:
    """(status name, error name) from the catalog for a receipt's stat and error codes.

    ``stat`` may be any spelling ``parse_stat`` knows, or None; unknown values give a pending
    (non-final) status rather than an error. ``network_error`` is the network_error_code TLV's
    error_code, preferred over the text ``err`` when it names a catalog error.
    """
    parsed = parse_stat(stat) if isinstance(stat, str) else None
    # parse_stat gives the text back for a stat it does not know: that is _UNRECOGNISED too
    known = _FORWARD.get(parsed) if isinstance(parsed, ReceiptStat) else None
    status_name, default_error = known or _UNRECOGNISED
    if parsed is ReceiptStat.DELIVRD:
        return status_name, default_error  # a delivered message has no error, whatever err says
    named = _error_name(network_error) or _error_name(err)
    if named is not None:
        return status_name, named
    if parsed is ReceiptStat.REJECTD and (network_error or err):
        # A rejection with a code we cannot name still had a reason: do not report NO_ERROR.
        return status_name, GENERIC_ERROR
    return status_name, default_error


def receipt_for_catalog(status_name: str, error_name: str = "NO_ERROR") -> tuple[ReceiptStat | str, int]:
    """(receipt stat, error code) an SMSC would report for a catalog outcome.

    The code is the catalog error's id (GSM/MAP code; 0 for NO_ERROR). An undeliverable message
    whose error is EC_MESSAGE_CANCELED reports DELETED. Raises KeyError for unknown names.
    """
    found = STATUS_BY_NAME[status_name]
    code = ERROR_BY_NAME[error_name].id
    stat = _STATUS_STAT.get(status_name) or _GROUP_STAT[found.group_id]
    if stat is ReceiptStat.UNDELIV and error_name == "EC_MESSAGE_CANCELED":
        stat = ReceiptStat.DELETED
    return stat, code


def receipt_stat(status_id: int, error_id: int) -> tuple[ReceiptStat | str, int]:
    """(stat, err) an SMSC reports for a catalog status and error, by id; UNKNOWN for a status the
    catalog does not map."""
    status, error = STATUS_BY_ID.get(status_id), ERROR_BY_ID.get(error_id)
    try:
        return receipt_for_catalog(status.name if status else "", error.name if error else "NO_ERROR")
    except KeyError:
        return ReceiptStat.UNKNOWN, error_id


# --- submit answers -------------------------------------------------------------------------

# Permanent submit_sm_resp errors -> (catalog status, catalog error). Anything else permanent:
# REJECTED_OTHER.
REJECTED_DESTINATION = ("REJECTED_DESTINATION", "EC_INVALID_DESTINATION_ADDRESS")
REJECTED_SOURCE = ("REJECTED_SOURCE", "EC_INVALID_SOURCE_ADDRESS")
REJECTED_OTHER = ("REJECTED_NOT_SENT", "EC_NOTSUBMITTEDTOSMPPCHANNEL")
_REJECTIONS: dict[int, tuple[str, str]] = {
    CommandStatus.ESME_RINVDSTADR: REJECTED_DESTINATION,
    CommandStatus.ESME_RINVDSTTON: REJECTED_DESTINATION,
    CommandStatus.ESME_RINVDSTNPI: REJECTED_DESTINATION,
    CommandStatus.ESME_RINVSRCADR: REJECTED_SOURCE,
    CommandStatus.ESME_RINVSRCTON: REJECTED_SOURCE,
    CommandStatus.ESME_RINVSRCNPI: REJECTED_SOURCE,
    CommandStatus.ESME_RINVMSGLEN: ("REJECTED_MESSAGE_TOO_LONG", "EC_MSG_TEXT_TOO_LONG"),
    CommandStatus.ESME_RINVESMCLASS: ("REJECTED_INVALID_UDH", "EC_INVALID_PDU_FORMAT"),
    CommandStatus.ESME_RX_R_APPN: ("REJECTED_NETWORK", "EC_SMS_REJECTED_BY_MOBILE_OPERATOR"),
}

# Catalog rejection of an SMPP customer's submit -> the command_status answered; anything else
# ESME_RSUBMITFAIL. A bad destination is what SMPP clients act on. Not enough credits is
# ESME_RSUBMITFAIL too, on purpose: SMPP 3.4 has no status for it, and a vendor-specific one (0x400+)
# means nothing to a generic client, while RSUBMITFAIL makes every client stop and log; the message is
# logged REJECTED_NOT_ENOUGH_CREDITS for the account to see why.
_REFUSALS: dict[str, int] = {
    "REJECTED_DESTINATION": CommandStatus.ESME_RINVDSTADR,
    "REJECTED_NOT_ENOUGH_CREDITS": CommandStatus.ESME_RSUBMITFAIL,
}

for _names in (*_REJECTIONS.values(), REJECTED_OTHER):
    assert _names[0] in STATUS_BY_NAME and _names[1] in ERROR_BY_NAME, _names


def submit_rejection(command_status: int) -> tuple[str, str]:
    """(status name, error name) of a message an SMSC refused with this permanent error."""
    return _REJECTIONS.get(command_status, REJECTED_OTHER)


def refusal_status(status_name: str) -> int:
    """command_status for a customer's submit the acceptor rejected with this catalog status."""
    return _REFUSALS.get(status_name, CommandStatus.ESME_RSUBMITFAIL)


__all__ = [
    "GENERIC_ERROR",
    "REJECTED_DESTINATION",
    "REJECTED_OTHER",
    "REJECTED_SOURCE",
    "catalog_for_receipt",
    "receipt_for_catalog",
    "receipt_stat",
    "refusal_status",
    "submit_rejection",
]
