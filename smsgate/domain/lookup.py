"""Number lookups as answers: what ``/number/1/query`` says of one number (Infobip's
NcResponseDetails), which of it an account's package shows, and the legacy HLR report line. Pure:
the subscribers come from ``domain.subscribers``, storage and I/O are the engine's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import statuses as st
from .numbers import normalize_destination
from .subscribers import Network, Subscriber, SubscriberModel, SubscriberState

MAX_NUMBERS = 1000  # per request (NcQueryRequest maxItems)
MAX_NUMBER_CHARS = 256  # longer numbers are clipped, as the document says

# Packages (seed 002): Database Cleaning says whether a number is in use and where it belongs;
# Portability adds where it is now (and includes Cleaning); Roaming adds where it is served. Every
# field is always named here so a package hides exactly what it does not list.
PACKAGE_FIELDS: dict[str, frozenset[str]] = {
    "cleaning": frozenset({"originalNetwork"}),
    "portability": frozenset({"originalNetwork", "mccMnc", "imsi", "ported", "portedNetwork"}),
    "roaming": frozenset(
        {
            "originalNetwork",
            "mccMnc",
            "imsi",
            "ported",
            "portedNetwork",
            "roaming",
            "roamingNetwork",
            "servingMSC",
        }
    ),
}
PACKAGES = tuple(PACKAGE_FIELDS)
# NcResponseDetails' network fields, in the document's order
DETAIL_FIELDS = (
    "mccMnc",
    "imsi",
    "originalNetwork",
    "ported",
    "portedNetwork",
    "roaming",
    "roamingNetwork",
    "servingMSC",
)

UNKNOWN_SUBSCRIBER = st.error("EC_UNKNOWN_SUBSCRIBER")
ABSENT_SUBSCRIBER = st.error("EC_ABSENT_SUBSCRIBER")


@dataclass(frozen=True, slots=True)
class LookupOutcome:
    """One number's answer before storage: ``details`` are the network fields, in the document's
    order, as the account's package shows them; ``looked_up`` is False for a malformed number."""

    to: str
    status_id: int
    error_id: int
    details: dict[str, Any]
    looked_up: bool

    @property
    def mcc_mnc(self) -> str | None:
        value = self.details.get("mccMnc")
        return value if isinstance(value, str) else None


def network_json(network: Network) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if network.name:
        out["networkName"] = network.name
    out["networkPrefix"] = network.prefix
    if network.country_name:
        out["countryName"] = network.country_name
    out["countryPrefix"] = network.country_prefix
    out["networkId"] = network.network_id
    return out


def subscriber_details(sub: Subscriber) -> dict[str, Any]:
    """Every network field the subscriber has, in NcResponseDetails' order."""
    out: dict[str, Any] = {}
    if sub.mcc_mnc:
        out["mccMnc"] = sub.mcc_mnc
    if sub.imsi:
        out["imsi"] = sub.imsi
    out["originalNetwork"] = network_json(sub.original)
    out["ported"] = sub.ported_to is not None
    if sub.ported_to is not None:
        out["portedNetwork"] = network_json(sub.ported_to)
    out["roaming"] = sub.roaming_in is not None
    if sub.roaming_in is not None:
        out["roamingNetwork"] = network_json(sub.roaming_in)
    if sub.serving_msc:
        out["servingMSC"] = sub.serving_msc
    return out


def verdict(sub: Subscriber) -> tuple[st.Status, st.GsmError]:
    if sub.state is SubscriberState.UNKNOWN:
        return st.UNDELIVERABLE_NOT_DELIVERED, UNKNOWN_SUBSCRIBER
    if sub.state is SubscriberState.ABSENT:
        return st.UNDELIVERABLE_NOT_DELIVERED, ABSENT_SUBSCRIBER
    return st.DELIVERED_TO_HANDSET, st.NO_ERROR


def shown(details: dict[str, Any], package: str | None) -> dict[str, Any]:
    """The fields ``package`` gives (None: every field)."""
    if package is None:
        return details
    allowed = PACKAGE_FIELDS[package]
    return {k: v for k, v in details.items() if k in allowed}


def malformed(raw: str) -> LookupOutcome | None:
    """The answer for a number that cannot be looked up (rejected on its own line), else None."""
    if normalize_destination(raw) is None:
        return LookupOutcome(raw[:MAX_NUMBER_CHARS], st.REJECTED_DESTINATION.id, st.NO_ERROR.id, {}, False)
    return None


def look_up(raw: str, model: SubscriberModel, package: str | None) -> LookupOutcome:
    """The answer for one number as given: a malformed one is rejected on its own line."""
    number = normalize_destination(raw)
    if number is None:
        return LookupOutcome(raw[:MAX_NUMBER_CHARS], st.REJECTED_DESTINATION.id, st.NO_ERROR.id, {}, False)
    sub = model.subscriber(number.msisdn)
    status, error = verdict(sub)
    return LookupOutcome(number.msisdn, status.id, error.id, shown(subscriber_details(sub), package), True)


def result_json(to: str, details: dict[str, Any], status_id: int, error_id: int) -> dict[str, Any]:
    """One NcResponseDetails: to, the network fields, status, error."""
    return {
        "to": to,
        **details,
        "status": st.status_by_id(status_id).as_dict(),
        "error": st.error_by_id(error_id).as_dict(),
    }


def hlr_status(status_id: int) -> str:
    """The legacy report's status word: DELIVRD for a lookup done, UNDELIV for a subscriber the
    network refused, UNKNOWN for anything else."""
    group = st.status_by_id(status_id).group_name
    return {"DELIVERED": "DELIVRD", "UNDELIVERABLE": "UNDELIV"}.get(group, "UNKNOWN")


def hlr_line(to: str, message_id: str, status_id: int, error_id: int, details: dict[str, Any]) -> str:
    """``destinationAddress;messageId;status;IMSI;servingMSC;errorCode``; a missing field is empty."""
    imsi = details.get("imsi") or ""
    msc = details.get("servingMSC") or ""
    return f"{to};{message_id};{hlr_status(status_id)};{imsi};{msc};{error_id}"
