"""The subscriber model number lookups and SMS delivery share: the numbering plan, MCC/MNC, the rules
by prefix, stable IMSI and serving MSC, packages, and the legacy HLR line."""

from __future__ import annotations

import pytest

from smsgate.config import ConfigError, load_settings
from smsgate.domain import statuses as st
from smsgate.domain.lookup import PACKAGE_FIELDS, hlr_line, look_up, shown, subscriber_details
from smsgate.domain.mccmnc import mcc_mnc_for
from smsgate.domain.numbering import carrier_of, country_of
from smsgate.domain.subscribers import SubscriberModel, SubscriberRule, SubscriberState, network_of


@pytest.mark.parametrize(
    "number, mcc_mnc, name",
    [
        ("41793026727", "22801", "Swisscom"),
        ("41763026727", "22802", "Sunrise"),
        ("38598514674", "21901", "Hrvatski Telekom"),
        ("38591234567", "21910", "A1 Telekom"),
        ("46739123456", "24007", "Tele2 Sverige"),
        ("4915123456789", "26201", "T-Mobile"),
    ],
)
def test_original_network_from_the_numbering_plan(number, mcc_mnc, name):
    assert mcc_mnc_for(number) == mcc_mnc
    carrier = carrier_of(number)
    assert carrier is not None and carrier.name == name
    assert number.startswith(carrier.prefix)
    network = network_of(number)
    assert network.mcc_mnc == mcc_mnc and network.network_id == int(mcc_mnc)
    assert number.startswith(network.country_prefix + network.prefix)


def test_a_number_without_a_known_network_gets_its_countrys_mcc():
    # a Zurich landline: no carrier; every destination gets an mccMnc (issue 13), its country's first
    # operational network (domain/mccmnc.py)
    assert (mcc_mnc_for("41441234567") or "").startswith("228")
    network = network_of("41441234567")
    assert network.country_name == "Switzerland" and network.country_prefix == "41" and network.name is None
    assert country_of("999") is None


MODEL = SubscriberModel(
    [
        SubscriberRule("4179", state="live"),
        SubscriberRule("4179000", state="unknown"),
        SubscriberRule("4179111", state="absent"),
        SubscriberRule("4179555", ported_to="4176"),
        SubscriberRule("4179666", roaming_in="46739"),
    ]
)


def test_rules_by_longest_prefix():
    assert MODEL.state_of("41790001234") is SubscriberState.UNKNOWN
    assert MODEL.state_of("41791111234") is SubscriberState.ABSENT
    assert MODEL.state_of("41793026727") is SubscriberState.LIVE
    assert MODEL.state_of("38598514674") is SubscriberState.LIVE  # no rule: live


def test_ported_and_roaming_subscribers():
    ported = MODEL.subscriber("41795551234")
    assert ported.original.name == "Swisscom"
    assert ported.ported_to is not None and ported.ported_to.name == "Sunrise"
    assert ported.mcc_mnc == "22802"  # where it is now
    assert ported.imsi is not None and ported.imsi.startswith("22802") and len(ported.imsi) == 15
    roaming = MODEL.subscriber("41796661234")
    assert roaming.mcc_mnc == "22801" and roaming.roaming_in is not None
    assert roaming.roaming_in.country_name == "Sweden"
    assert roaming.serving_msc is not None and roaming.serving_msc.startswith("46739")


def test_imsi_and_msc_are_stable_and_differ_between_numbers():
    again = SubscriberModel(MODEL.rules)
    a, b = MODEL.subscriber("41793026727"), again.subscriber("41793026727")
    assert (a.imsi, a.serving_msc) == (b.imsi, b.serving_msc)
    assert a.imsi != MODEL.subscriber("41793026728").imsi
    unknown = MODEL.subscriber("41790001234")
    assert unknown.imsi is None and unknown.serving_msc is None
    assert MODEL.subscriber("41791111234").serving_msc is None


def test_lookup_verdicts():
    assert (look_up("41793026727", MODEL, None).status_id, look_up("41793026727", MODEL, None).error_id) == (
        st.DELIVERED_TO_HANDSET.id,
        0,
    )
    unknown = look_up("41790001234", MODEL, None)
    assert unknown.status_id == st.UNDELIVERABLE_NOT_DELIVERED.id
    assert unknown.error_id == st.error("EC_UNKNOWN_SUBSCRIBER").id
    assert look_up("41791111234", MODEL, None).error_id == st.error("EC_ABSENT_SUBSCRIBER").id
    malformed = look_up("x" * 300, MODEL, None)
    assert malformed.status_id == st.REJECTED_DESTINATION.id and not malformed.looked_up
    assert malformed.to == "x" * 256  # clipped, as the document says


def test_packages_keep_only_their_fields():
    details = subscriber_details(MODEL.subscriber("41795551234"))
    assert set(shown(details, "cleaning")) == {"originalNetwork"}
    assert set(shown(details, "portability")) == {
        "originalNetwork",
        "mccMnc",
        "imsi",
        "ported",
        "portedNetwork",
    }
    assert shown(details, None) == details
    assert PACKAGE_FIELDS["cleaning"] < PACKAGE_FIELDS["portability"] < PACKAGE_FIELDS["roaming"]


def test_hlr_lines():
    assert hlr_line("385", "AB-1", st.DELIVERED_TO_HANDSET.id, 0, {"imsi": "2190", "servingMSC": "385"}) == (
        "385;AB-1;DELIVRD;2190;385;0"
    )
    assert hlr_line("385", "AB-2", st.UNDELIVERABLE_NOT_DELIVERED.id, 1, {}) == "385;AB-2;UNDELIV;;;1"
    assert hlr_line("385", "AB-3", st.REJECTED_DESTINATION.id, 0, {}).split(";")[2] == "UNKNOWN"


def test_subscriber_rules_from_the_config_file(tmp_path):
    toml = tmp_path / "smsgate.toml"
    toml.write_text('[[simulator.subscribers]]\nprefix = "4179555"\nported_to = "4176"\n')
    (rule,) = load_settings(toml, env={}).network.subscribers
    assert rule == SubscriberRule("4179555", "live", "4176", None)
    for bad in ('state = "gone"', 'ported_to = "x"', "colour = 1"):
        toml.write_text(f'[[simulator.subscribers]]\nprefix = "41"\n{bad}\n')
        with pytest.raises(ConfigError, match=r"simulator\.subscribers"):
            load_settings(toml, env={})


def test_lookup_connectors_from_the_config_file(tmp_path):
    toml = tmp_path / "smsgate.toml"
    toml.write_text('[[lookup_connectors]]\nname = "ib"\nurl = "https://api.example.com"\napi_key = "k"\n')
    (connector,) = load_settings(toml, env={}).lookup_connectors
    assert (connector.name, connector.url, connector.timeout) == ("ib", "https://api.example.com", 5.0)
    for bad in (
        'url = "ftp://x"\napi_key = "k"',
        'url = "https://x"',
        'url = "https://x"\napi_key = "k"\ntimeout = 0',
    ):
        toml.write_text(f'[[lookup_connectors]]\nname = "ib"\n{bad}\n')
        with pytest.raises(ConfigError, match="lookup_connectors"):
            load_settings(toml, env={})
