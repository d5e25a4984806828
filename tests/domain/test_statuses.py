"""The catalog carries every SMS status and GSM error of the reference catalog and the seed manual."""

from __future__ import annotations

from pathlib import Path

import yaml

from smsgate.domain import statuses as st

REF = Path(__file__).parents[2] / "docs" / "reference" / "infobip-status-and-error-codes.yml"


def _family(doc, name):
    return next(f for f in doc["families"] if f["family"] == name)


def test_every_general_status_and_error_of_the_reference_is_in_the_catalog():
    doc = yaml.safe_load(REF.read_text())
    groups: dict[int, set] = {}
    for group in _family(doc, "General status codes")["groups"]:
        for code in group["codes"]:
            groups.setdefault(code["id"], set()).add(group["group_id"])
            assert st.status_by_id(code["id"]).name == code["name"]
    # the reference lists SIGNALS_BLOCKED (87) under two groups; the catalog keeps one of them
    for ident, group_ids in groups.items():
        assert st.status_by_id(ident).group_id in group_ids
    error_groups: dict[int, set] = {}
    for group in _family(doc, "General error codes")["groups"]:
        for code in group["codes"]:
            error_groups.setdefault(code["id"], set()).add(group["group_id"])
            e = st.error_by_id(code["id"])
            assert (e.name, e.permanent) == (code["name"], code["permanent"])
    for ident, group_ids in error_groups.items():  # 4102 is listed under two groups too
        assert st.error_by_id(ident).group_id in group_ids


def test_seed_statuses_keep_their_wire_descriptions():
    assert st.DELIVERED_TO_HANDSET.as_dict() == {
        "groupId": 3,
        "groupName": "DELIVERED",
        "id": 5,
        "name": "DELIVERED_TO_HANDSET",
        "description": "Message delivered to handset",
    }
    assert st.status("REJECTED_NETWORK").as_dict()["action"] == "Contact account manager"
    assert st.status("MESSAGE_ACCEPTED").group_name == "ACCEPTED"
    assert st.error("EC_ABSENT_SUBSCRIBER").as_dict() == {
        "groupId": 1,
        "groupName": "HANDSET_ERRORS",
        "id": 27,
        "name": "EC_ABSENT_SUBSCRIBER",
        "description": "Absent Subscriber",
        "permanent": False,
    }


def test_group_names_are_the_clients_enumerations():
    # infobip-api-python-client accepts exactly these
    assert {s.group_name for s in st.STATUS_BY_ID.values()} <= {
        "ACCEPTED",
        "PENDING",
        "UNDELIVERABLE",
        "DELIVERED",
        "EXPIRED",
        "REJECTED",
    }
    assert {e.group_name for e in st.ERROR_BY_ID.values()} <= {
        "OK",
        "HANDSET_ERRORS",
        "USER_ERRORS",
        "OPERATOR_ERRORS",
    }


def test_finality_follows_the_group():
    assert not st.PENDING_ACCEPTED.is_final and st.status("EXPIRED_EXPIRED").is_final
    assert st.REJECTED_DESTINATION.is_final and st.REJECTED_DESTINATION.id == 52


def test_unknown_operator_error_codes_survive():
    e = st.error_by_id(99999)
    assert e.id == 99999 and e.group_name == "HANDSET_ERRORS"
