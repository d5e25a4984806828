"""The generic HTTP connector's templates, extractors and status table."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from smsgate.domain import statuses as st
from smsgate.domain.http_template import Extractor, StatusTable, check_template, json_pointer, render


def test_templates_name_known_placeholders_only():
    check_template("https://p.example/send?to={to}&text={text}&id={messageId}&cb={callbackUrl}")
    check_template("literal {{braces}} and {hex} {coding} {from}")
    with pytest.raises(ValueError, match=r"unknown placeholder \{phone\}"):
        check_template("{phone}")
    with pytest.raises(ValueError, match="format spec"):
        check_template("{to:>10}")
    with pytest.raises(ValueError, match="literal braces"):
        check_template("{to")


def test_render_escapes_only_when_asked():
    values = {"to": "41791234567", "text": "a&b c"}
    assert render("to={to}&t={text}", values, lambda v: quote(v, safe="")) == "to=41791234567&t=a%26b%20c"
    assert render("{text}", values) == "a&b c"
    assert render("{{x}} {to}", values) == "{x} 41791234567"


def test_json_pointer():
    doc = {"data": [{"id": "abc"}], "a/b": {"~": 1}}
    assert json_pointer(doc, "/data/0/id") == "abc"
    assert json_pointer(doc, "/a~1b/~0") == 1
    assert json_pointer(doc, "/data/5/id") is None
    assert json_pointer(doc, "") is doc
    with pytest.raises(ValueError):
        json_pointer(doc, "data")


def test_extractors_read_pointers_regexes_and_fields():
    assert Extractor("/result/msgid").find("", {"result": {"msgid": 42}}) == "42"
    assert Extractor(r"regex:ID: (\w+)").find("OK ID: x9z") == "x9z"
    assert Extractor(r"regex:\d+").find("queued 123") == "123"
    assert Extractor("ref").find("", None, {"ref": "r1"}) == "r1"
    assert Extractor("ref").find("", {"ref": "r2"}, {}) == "r2"
    assert Extractor("/missing").find("", {}) is None
    assert Extractor("/obj").find("", {"obj": {"a": 1}}) is None  # not a value
    with pytest.raises(ValueError, match="regular expression"):
        Extractor("regex:(")


def test_status_table_maps_provider_values_to_the_catalog():
    table = StatusTable.parse(
        {"DELIVRD": "DELIVERED_TO_HANDSET", "nope": "UNDELIVERABLE_NOT_DELIVERED:EC_UNKNOWN_SUBSCRIBER"}
    )
    assert table.get("DELIVRD") == (st.status("DELIVERED_TO_HANDSET").id, st.NO_ERROR.id)
    assert table.get("NOPE") == (
        st.status("UNDELIVERABLE_NOT_DELIVERED").id,
        st.error("EC_UNKNOWN_SUBSCRIBER").id,
    )
    assert table.get("other") is None
    with pytest.raises(ValueError, match="not a status of the catalog"):
        StatusTable.parse({"x": "DELIVERED_SOMEWHERE"})
    with pytest.raises(ValueError, match="not an error of the catalog"):
        StatusTable.parse({"x": "DELIVERED_TO_HANDSET:EC_NOPE"})
    with pytest.raises(ValueError, match="at least one"):
        StatusTable.parse({})
