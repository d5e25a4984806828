"""The legacy API's pure rules (domain/legacy.py): the status table, the push retry schedule, the
one-part cut, senders."""

from __future__ import annotations

import pytest

from smsgate.domain import legacy as lg
from smsgate.domain.statuses import STATUS_BY_ID, status


def test_every_catalog_status_has_one_legacy_status_of_the_seed():
    missing = [s.name for s in STATUS_BY_ID.values() if s.name not in lg.LEGACY_STATUS]
    assert not missing, f"add them to domain/legacy.py LEGACY_STATUS: {missing}"
    assert set(lg.LEGACY_STATUS) <= {s.name for s in STATUS_BY_ID.values()}  # no stale names
    assert set(lg.LEGACY_STATUS.values()) == lg.LEGACY_STATUSES  # each of the seed's ten is reachable


@pytest.mark.parametrize(
    ("name", "legacy"),
    [
        ("DELIVERED_TO_HANDSET", "DELIVERED"),
        ("DELIVERED_TO_OPERATOR", "SENT"),
        ("UNDELIVERABLE_NOT_DELIVERED", "NOT_DELIVERED"),
        ("EXPIRED_EXPIRED", "NOT_DELIVERED"),
        ("REJECTED_NETWORK", "NOT_ALLOWED"),
        ("REJECTED_DESTINATION", "INVALID_DESTINATION_ADDRESS"),
        ("REJECTED_SOURCE", "INVALID_SOURCE_ADDRESS"),
        ("REJECTED_ROUTE_NOT_AVAILABLE", "ROUTE_NOT_AVAILABLE"),
        ("REJECTED_NOT_ENOUGH_CREDITS", "NOT_ENOUGH_CREDITS"),
        ("REJECTED_INVALID_UDH", "INVALID_MESSAGE_FORMAT"),
        ("PENDING_ACCEPTED", "NOT_SENT"),
    ],
)
def test_status_mapping(name, legacy):
    assert lg.legacy_status(status(name).id) == legacy


def test_not_enough_credits_answers_minus_three_and_minus_two():
    # the money code's rejection (id 12) maps without any money code here
    assert status("REJECTED_NOT_ENOUGH_CREDITS").id == 12
    assert lg.XML_REJECTION["REJECTED_NOT_ENOUGH_CREDITS"] == lg.XmlStatus.NOT_ENOUGH_CREDITS == -3
    assert lg.GET_REJECTION["REJECTED_NOT_ENOUGH_CREDITS"] == lg.GetCode.NOT_ENOUGHCREDITS == -2


def test_answers_from_the_acceptors_outcomes():
    pending, broke = status("PENDING_ACCEPTED").id, status("REJECTED_NOT_ENOUGH_CREDITS").id
    duplicate = status("REJECTED_DUPLICATE_MESSAGE_ID").id
    assert lg.xml_answer([pending, pending, broke]) == 2  # what will be sent
    assert lg.xml_answer([broke, broke]) == -3  # the balance could not pay any
    assert lg.xml_answer([duplicate]) == -4
    assert lg.xml_answer([]) == -4
    assert lg.get_answer(pending) is None  # answered with its id
    assert lg.get_answer(broke) == -2
    assert lg.get_answer(status("REJECTED_NETWORK").id) == -3
    assert lg.get_answer(duplicate) == -1


def test_retry_schedule_is_the_seeds():
    minute = 60_000
    delays = [lg.legacy_retry_delay_ms(n, minute) for n in range(1, 30)]
    assert delays[:3] == [minute, 5 * minute, 60 * minute]  # 60 s, five minutes, then hourly
    assert delays[2:26] == [60 * minute] * 24  # every hour for 24 hours
    assert delays[26:] == [None] * 3  # then the report is lost
    assert lg.legacy_retry_delay_ms(0, minute) is None


def test_one_part_cuts_to_what_one_sms_holds():
    assert lg.one_part("x" * 160) == "x" * 160
    assert lg.one_part("x" * 161) == "x" * 160
    assert lg.one_part("€" * 100) == "€" * 80  # an extension character takes two septets
    assert lg.one_part("ж" * 71) == "ж" * 70  # UCS-2


def test_senders():
    assert lg.sender_problem("Friend") is None
    assert lg.sender_problem("12345678901234") is None
    assert lg.sender_problem("+12345678901234") is None
    assert lg.sender_problem("123456789012345") is not None
    assert lg.sender_problem("FriendFriend") is not None
