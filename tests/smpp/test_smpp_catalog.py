"""Receipt stat/err <-> catalog status/error mapping."""

from __future__ import annotations

import pytest

from smsgate.domain.statuses import ERROR_BY_NAME, STATUS_BY_NAME, error, status
from smsgate.smpp.constants import FINAL_MESSAGE_STATES
from smsgate.smpp.receipts import ReceiptStat
from smsgate.smpp_io.catalog import GENERIC_ERROR, catalog_for_receipt, receipt_for_catalog

FAILURE_ERRORS = ["EC_ABSENT_SUBSCRIBER", "EC_UNKNOWN_SUBSCRIBER", "EC_CALL_BARRED", "EC_DEST_OVERLOADED"]


@pytest.mark.parametrize(
    "stat,err,expected",
    [
        ("DELIVRD", 0, ("DELIVERED_TO_HANDSET", "NO_ERROR")),
        ("DELIVRD", 27, ("DELIVERED_TO_HANDSET", "NO_ERROR")),  # delivered never carries an error
        ("UNDELIV", 27, ("UNDELIVERABLE_NOT_DELIVERED", "EC_ABSENT_SUBSCRIBER")),
        ("UNDELIV", 1, ("UNDELIVERABLE_NOT_DELIVERED", "EC_UNKNOWN_SUBSCRIBER")),
        ("UNDELIV", 0, ("UNDELIVERABLE_NOT_DELIVERED", GENERIC_ERROR)),
        ("UNDELIV", None, ("UNDELIVERABLE_NOT_DELIVERED", GENERIC_ERROR)),
        ("UNDELIV", 9999, ("UNDELIVERABLE_NOT_DELIVERED", GENERIC_ERROR)),  # operator's own code
        ("EXPIRED", None, ("EXPIRED_EXPIRED", "EC_MESSAGE_EXPIRED")),
        ("EXPIRED", 27, ("EXPIRED_EXPIRED", "EC_ABSENT_SUBSCRIBER")),
        ("REJECTD", 0, ("REJECTED_NETWORK", "NO_ERROR")),
        ("REJECTD", 632, ("REJECTED_NETWORK", "EC_SMS_REJECTED_BY_MOBILE_OPERATOR")),
        ("REJECTD", 9999, ("REJECTED_NETWORK", GENERIC_ERROR)),
        ("DELETED", 0, ("UNDELIVERABLE_NOT_SENT", "EC_MESSAGE_CANCELED")),
        ("ENROUTE", 27, ("PENDING_ENROUTE", "EC_ABSENT_SUBSCRIBER")),
        ("ENROUTE", 0, ("PENDING_ENROUTE", "NO_ERROR")),
        ("ACCEPTD", 0, ("PENDING_ACCEPTED", "NO_ERROR")),
        ("UNKNOWN", 0, ("PENDING_WAITING_DELIVERY", "NO_ERROR")),
        ("delivered", 0, ("DELIVERED_TO_HANDSET", "NO_ERROR")),  # alias, any case
        (ReceiptStat.UNDELIV, 6, ("UNDELIVERABLE_NOT_DELIVERED", "EC_ABSENT_SUBSCRIBER_SM")),
    ],
)
def test_catalog_for_receipt(stat: str, err: int | None, expected: tuple[str, str]) -> None:
    assert catalog_for_receipt(stat, err) == expected


@pytest.mark.parametrize("stat", ["FOOBAR", "", "  ", None])
def test_unknown_stats_are_tolerated_as_pending(stat: str | None) -> None:
    name, err = catalog_for_receipt(stat, 0)
    assert not status(name).is_final and err == "NO_ERROR"
    assert catalog_for_receipt(stat, 27) == (name, "EC_ABSENT_SUBSCRIBER")


def test_network_error_tlv_wins_over_text_err() -> None:
    assert catalog_for_receipt("UNDELIV", 1, network_error=27) == (
        "UNDELIVERABLE_NOT_DELIVERED",
        "EC_ABSENT_SUBSCRIBER",
    )
    # ...unless it names nothing in the catalog; then the text's code is used.
    assert catalog_for_receipt("UNDELIV", 1, network_error=9999) == (
        "UNDELIVERABLE_NOT_DELIVERED",
        "EC_UNKNOWN_SUBSCRIBER",
    )
    assert catalog_for_receipt("UNDELIV", None, network_error=0)[1] == GENERIC_ERROR


def test_every_mapping_names_catalog_entries() -> None:
    for stat in [*ReceiptStat, "WEIRD"]:
        for err in (None, 0, 1, 27, 4100, 65535):
            name, err_name = catalog_for_receipt(stat, err)
            assert name in STATUS_BY_NAME and err_name in ERROR_BY_NAME


@pytest.mark.parametrize(
    "pair",
    [
        ("DELIVERED_TO_HANDSET", "NO_ERROR"),
        ("UNDELIVERABLE_NOT_DELIVERED", "EC_ABSENT_SUBSCRIBER"),
        ("UNDELIVERABLE_NOT_DELIVERED", GENERIC_ERROR),
        ("EXPIRED_EXPIRED", "EC_MESSAGE_EXPIRED"),
        ("EXPIRED_EXPIRED", "EC_ABSENT_SUBSCRIBER"),
        ("REJECTED_NETWORK", "NO_ERROR"),
        ("REJECTED_NETWORK", "EC_CALL_BARRED"),
        ("UNDELIVERABLE_NOT_SENT", "EC_MESSAGE_CANCELED"),
        ("PENDING_ENROUTE", "NO_ERROR"),
        ("PENDING_ENROUTE", "EC_ABSENT_SUBSCRIBER"),
        ("PENDING_ACCEPTED", "NO_ERROR"),
    ],
)
def test_canonical_pairs_round_trip_exactly(pair: tuple[str, str]) -> None:
    stat, code = receipt_for_catalog(*pair)
    assert code == error(pair[1]).id
    assert catalog_for_receipt(stat, code) == pair


def test_reverse_examples() -> None:
    assert receipt_for_catalog("DELIVERED_TO_HANDSET", "NO_ERROR") == (ReceiptStat.DELIVRD, 0)
    assert receipt_for_catalog("UNDELIVERABLE_REJECTED_OPERATOR", "EC_ABSENT_SUBSCRIBER") == (
        ReceiptStat.UNDELIV,
        27,
    )
    assert receipt_for_catalog("UNDELIVERABLE_NOT_DELIVERED", "EC_MESSAGE_CANCELED") == (
        ReceiptStat.DELETED,
        4100,
    )
    assert receipt_for_catalog("EXPIRED_DLR_UNKNOWN") == (ReceiptStat.EXPIRED, 0)
    assert receipt_for_catalog("REJECTED_DESTINATION", "EC_INVALID_DESTINATION_ADDRESS") == (
        ReceiptStat.REJECTD,
        351,
    )
    assert receipt_for_catalog("PENDING_WAITING_DELIVERY") == (ReceiptStat.ENROUTE, 0)
    assert receipt_for_catalog("MESSAGE_ACCEPTED") == (ReceiptStat.ACCEPTD, 0)
    with pytest.raises(KeyError):
        receipt_for_catalog("NOT_A_STATUS")
    with pytest.raises(KeyError):
        receipt_for_catalog("DELIVERED_TO_HANDSET", "NOT_AN_ERROR")


@pytest.mark.parametrize("name", sorted(STATUS_BY_NAME))
def test_every_status_maps_to_a_stat_and_back_keeping_finality(name: str) -> None:
    final = status(name).is_final
    for err_name in ["NO_ERROR", *FAILURE_ERRORS]:
        stat, code = receipt_for_catalog(name, err_name)
        assert isinstance(stat, ReceiptStat)
        assert (stat.message_state in FINAL_MESSAGE_STATES) == final
        back_status, back_error = catalog_for_receipt(stat, code)
        assert status(back_status).is_final == final
        if final:
            # The outcome group survives (delivered stays delivered, a failure stays a failure)...
            assert (status(back_status).group_name == "DELIVERED") == (status(name).group_name == "DELIVERED")
            # ...and so does a failure's GSM error.
            if stat is not ReceiptStat.DELIVRD and err_name != "NO_ERROR":
                assert back_error == err_name
