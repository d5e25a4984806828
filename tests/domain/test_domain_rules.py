"""Dates, numbers, senders, the simulated network's rules, the XML codec and settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from smsgate.config import ConfigError, load_settings
from smsgate.domain.dates import format_ms, parse_datetime, parse_ms
from smsgate.domain.network import NetworkRules, OutcomeRule, PriceEntry
from smsgate.domain.numbers import normalize_destination
from smsgate.domain.senders import sender_problem
from smsgate.wire import xmlcodec

INSTANT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-02T03:04:05+00:00",
        "2025-01-02T03:04:05Z",
        "2025-01-02T03:04:05.000+0000",
        "2025-01-02T03:04:05.000000+0000",
        "2025-01-02T04:04:05+01:00",
        "2025-01-02T04:04:05.000+0100",
        "2025-01-01T22:04:05-0500",
        "2025-01-02 03:04:05",
        "2025-01-02T03:04:05",
    ],
)
def test_every_client_date_form_parses_to_the_same_instant(text):
    assert parse_datetime(text) == INSTANT


def test_dates_render_as_infobip_does():
    assert format_ms(int(INSTANT.timestamp() * 1000) + 123) == "2025-01-02T03:04:05.123+0000"


@given(hs.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=hs.just(UTC)))
def test_render_then_parse_round_trips_to_the_millisecond(dt):
    ms = int(dt.timestamp() * 1000)
    assert parse_ms(format_ms(ms)) == ms


@pytest.mark.parametrize(
    "bad", ["", "tomorrow", "2025-13-01", "2025-01-02T25:00:00Z", "2025-01-02T03:04:05+25"]
)
def test_bad_dates_are_refused(bad):
    with pytest.raises(ValueError):
        parse_datetime(bad)


@pytest.mark.parametrize(
    "raw, msisdn",
    [
        ("41793026727", "41793026727"),
        ("+41793026727", "41793026727"),
        ("0041793026727", "41793026727"),
        ("+385 98 123 4567", "385981234567"),
    ],
)
def test_destinations_normalize_to_international_digits(raw, msisdn):
    assert normalize_destination(raw).msisdn == msisdn


@pytest.mark.parametrize("raw", ["12", "abc", "4179302672712345678", "+999123456789", "41", ""])
def test_invalid_destinations(raw):
    assert normalize_destination(raw) is None


@pytest.mark.parametrize(
    "sender, ok",
    [
        ("InfoSMS", True),
        ("ABC", True),
        ("AB", False),
        ("CompanyName", True),
        ("CompanyNameX", False),
        ("385981234567", True),
        ("12", False),
        ("1234567890123456", True),
        ("12345678901234567", False),
        ("+41793026700", True),
    ],
)
def test_sender_rules(sender, ok):
    assert (sender_problem(sender) is None) is ok


def test_network_rules_pick_the_longest_prefix():
    rules = NetworkRules(
        outcomes=(
            OutcomeRule("41", "UNDELIVERABLE_NOT_DELIVERED", "EC_UNKNOWN_SUBSCRIBER"),
            OutcomeRule("4179", "EXPIRED_EXPIRED"),
        )
    )
    assert rules.outcome_for("41793026727").status == "EXPIRED_EXPIRED"
    assert rules.outcome_for("41443026727").error == "EC_UNKNOWN_SUBSCRIBER"
    assert rules.outcome_for("385981234567").status == "DELIVERED_TO_HANDSET"
    # the simulator names a network only where configured; the numbering table answers otherwise
    assert rules.price_for("385981234567") is None
    configured = NetworkRules(prices=(PriceEntry("385", "21999", 0.1), PriceEntry("38598", "21998", 0.1)))
    found = configured.price_for("385981234567")
    assert found is not None and found.mcc_mnc == "21998"
    with pytest.raises(ValueError):
        OutcomeRule("1", "PENDING_ENROUTE")
    with pytest.raises(ValueError):
        OutcomeRule("1", "NOT_A_STATUS")


def test_xml_lists_and_scalars():
    doc = xmlcodec.parse(
        b"<r><bulkId>b</bulkId><messages><message><to>1</to><to>2</to>"
        b"<destinations><destination><to>3</to></destination></destinations></message></messages></r>"
    )
    assert doc == {"bulkId": "b", "messages": [{"to": ["1", "2"], "destinations": [{"to": "3"}]}]}
    out = xmlcodec.render("smsResponse", {"messages": [{"to": "1", "flash": True, "n": 2, "none": None}]})
    assert out.endswith(
        b"<smsResponse><messages><message><to>1</to><flash>true</flash><n>2</n></message></messages></smsResponse>"
    )


@pytest.mark.parametrize("bad", [b"<r>", b"<!DOCTYPE r [<!ENTITY a 'x'>]><r>&a;</r>", b"not xml"])
def test_xml_refuses_malformed_and_entities(bad):
    with pytest.raises(xmlcodec.XmlError):
        xmlcodec.parse(bad)


def test_settings_precedence(tmp_path):
    toml = tmp_path / "smsgate.toml"
    toml.write_text(
        "port = 9000\n[simulator]\ndelivery_delay = 3.5\n"
        '[[simulator.outcomes]]\nprefix = "4179000"\nstatus = "EXPIRED_EXPIRED"\n'
    )
    s = load_settings(toml, env={"SMSGATE_PORT": "9100"})
    assert s.port == 9100 and s.simulator_delivery_delay == 3.5
    assert s.network.outcome_for("41790001234").status == "EXPIRED_EXPIRED"
    assert load_settings(toml, env={}, port=9200).port == 9200
    assert load_settings(None, env={"SMSGATE_DATA_DIR": str(tmp_path)}).resolved_database_url.endswith(
        "smsgate.db"
    )
    with pytest.raises(ConfigError):
        load_settings(None, env={"SMSGATE_PORT": "eighty"})
    bad = tmp_path / "bad.toml"
    bad.write_text("nonsense = 1\n")
    with pytest.raises(ConfigError):
        load_settings(bad, env={})


def test_xml_keys_that_are_not_names_stay_well_formed():
    from xml.etree.ElementTree import fromstring

    out = xmlcodec.render(
        "ApiException", {"validationErrors": {"messages[0].to": ["must not be blank"]}, "from": ["a", "b"]}
    )
    root = fromstring(out)
    field = root.find("validationErrors/field")
    assert field.get("name") == "messages[0].to" and field.find("item").text == "must not be blank"
    assert [e.text for e in root.findall("from/item")] == ["a", "b"]
