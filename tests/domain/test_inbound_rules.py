"""Inbound messages: keyword split and the legacy forwarding URL template of the seed manuals."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.domain import inbound as ib
from smsgate.domain.dates import parse_ms

# --- keywords -----------------------------------------------------------------------------------


def test_documented_example():
    assert ib.split_keyword("QUIZ Correct answer is Paris", ["QUIZ"]) == ("QUIZ", "Correct answer is Paris")


def test_match_ignores_case_and_returns_the_configured_keyword():
    assert ib.split_keyword("quiz Paris", ["Quiz"]) == ("Quiz", "Paris")
    assert ib.split_keyword("ÉTÉ soleil", ["été"]) == ("été", "soleil")


def test_keyword_alone_leaves_empty_clean_text():
    assert ib.split_keyword("QUIZ", ["QUIZ"]) == ("QUIZ", "")
    assert ib.split_keyword("  QUIZ \n", ["QUIZ"]) == ("QUIZ", "")


def test_leading_and_following_whitespace_is_dropped():
    assert ib.split_keyword("  QUIZ \t\n  Paris  is\nnice ", ["QUIZ"]) == ("QUIZ", "Paris  is\nnice ")


def test_keyword_must_be_a_whole_first_word():
    assert ib.split_keyword("QUIZZES are fun", ["QUIZ"]) == (None, "QUIZZES are fun")
    assert ib.split_keyword("QUIZ:Paris", ["QUIZ"]) == (None, "QUIZ:Paris")
    assert ib.split_keyword("The QUIZ answer", ["QUIZ"]) == (None, "The QUIZ answer")


def test_no_match_keeps_the_text_unchanged():
    assert ib.split_keyword("  hello there", ["QUIZ", "STOP"]) == (None, "  hello there")
    assert ib.split_keyword("hello", []) == (None, "hello")
    assert ib.split_keyword("", ["QUIZ"]) == (None, "")
    assert ib.split_keyword("hello", [""]) == (None, "hello")


def test_longest_keyword_wins_and_order_does_not_matter():
    for keywords in (["STOP", "STOP ALL"], ["STOP ALL", "STOP"]):
        assert ib.split_keyword("stop all now", keywords) == ("STOP ALL", "now")
        assert ib.split_keyword("stop now", keywords) == ("STOP", "now")
    assert ib.split_keyword("QUIZ2 x", ["QUIZ", "QUIZ2"]) == ("QUIZ2", "x")


def test_casefold_length_change_does_not_shift_the_cut():
    # "ß".casefold() is "ss": a keyword must still be cut by its own length in the text
    assert ib.split_keyword("STRASSE 5", ["straße"]) == (None, "STRASSE 5")
    assert ib.split_keyword("Straße 5", ["STRAßE"]) == ("STRAßE", "5")


WORDS = st.text(alphabet="abcXYZ", min_size=1, max_size=5)


@settings(max_examples=80, deadline=None)
@given(st.lists(WORDS, max_size=4), st.text(alphabet="abcXYZ \n", max_size=30))
def test_split_properties(keywords, text):
    keyword, clean = ib.split_keyword(text, keywords)
    if keyword is None:
        assert clean == text
        first = text.split()[0] if text.split() else ""
        assert first.casefold() not in {k.casefold() for k in keywords}
    else:
        assert keyword in keywords
        body = text.lstrip()
        assert body[: len(keyword)].casefold() == keyword.casefold()
        assert body.endswith(clean)
        assert clean == body[len(keyword) :].lstrip()


# --- forwarding URL -----------------------------------------------------------------------------

RECEIVED = parse_ms("2024-03-05T07:08:09.123+0000")


def expand(template: str, **overrides) -> str:
    values = {
        "sender": "+38598123123",
        "receiver": "385921004026",
        "text": "ABC",
        "binary_hex": "414243",
        "received_at_ms": RECEIVED,
        "message_id": "817790313235066447",
        "data_coding": 0,
        "esm_class": 0,
    }
    values.update(overrides)
    return ib.expand_forward_url(template, **values)


def test_seed_example_with_text_and_output_parameter():
    # seed 002: template with &output=xml is fetched as ...?who=38598123123&what=ABC
    template = "https://some.server.com/incoming_sms.php?who=%sender%&what=%text%&output=xml"
    assert expand(template) == "https://some.server.com/incoming_sms.php?who=38598123123&what=ABC"
    assert ib.forward_output(template) == "xml"


def test_seed_example_with_binary():
    template = "https://some.server.com/incoming_sms.php?who=%sender%&what=%bin%"
    assert expand(template) == "https://some.server.com/incoming_sms.php?who=38598123123&what=414243"
    assert ib.forward_output(template) is None


def test_both_text_and_bin_send_text_only_for_data_coding_0():
    template = "http://x/in?t=%text%&b=%bin%"
    assert expand(template, data_coding=0) == "http://x/in?t=ABC&b="
    assert expand(template, text="ü", binary_hex="00 fc", data_coding=8) == "http://x/in?t=&b=00FC"
    assert expand(template, data_coding=4) == "http://x/in?t=&b=414243"


def test_only_one_of_text_or_bin_gets_everything_whatever_the_data_coding():
    assert expand("http://x/in?t=%text%", text="ü", data_coding=8) == "http://x/in?t=%C3%BC"
    assert expand("http://x/in?b=%bin%", binary_hex="41 42", data_coding=0) == "http://x/in?b=4142"


def test_every_placeholder_and_datetime_format():
    template = (
        "http://x/in?s=%sender%&r=%receiver%&t=%text%&d=%datetime%&id=%messageid%"
        "&dc=%datacoding%&esm=%esmclass%"
    )
    url = expand(template, receiver="+385921004026", esm_class=64)
    assert parse_qs(urlsplit(url).query) == {
        "s": ["38598123123"],
        "r": ["385921004026"],
        "t": ["ABC"],
        "d": ["2024/03/05 07:08:09"],
        "id": ["817790313235066447"],
        "dc": ["0"],
        "esm": ["64"],
    }


def test_values_are_percent_encoded_as_utf8():
    url = expand("http://x/in?t=%text%", text="a b&c=d/e?f#g+h%i €")
    assert url == "http://x/in?t=a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25i%20%E2%82%AC"
    assert parse_qs(urlsplit(url).query)["t"] == ["a b&c=d/e?f#g+h%i €"]


def test_values_cannot_inject_placeholders():
    url = expand("http://x/in?t=%text%&s=%sender%", text="%sender%", sender="123")
    assert url == "http://x/in?t=%25sender%25&s=123"


def test_missing_receiver_is_empty_and_placeholders_ignore_case():
    assert (
        expand("http://x/in?r=%receiver%&S=%SENDER%&t=%Text%", receiver=None)
        == "http://x/in?r=&S=38598123123&t=ABC"
    )


def test_unknown_placeholders_and_other_percent_signs_are_kept():
    assert expand("http://x/in?a=%foo%&b=%20&t=%text%") == "http://x/in?a=%foo%&b=%20&t=ABC"


@pytest.mark.parametrize(
    ("template", "url", "output"),
    [
        ("http://x/in?output=json&t=%text%", "http://x/in?t=ABC", "json"),
        ("http://x/in?output=JSON", "http://x/in", "json"),
        ("http://x/in?t=%text%&Output=Xml#frag", "http://x/in?t=ABC#frag", "xml"),
        ("http://x/in?t=%text%&output=csv", "http://x/in?t=ABC&output=csv", None),
        ("http://x/in?myoutput=xml&t=%text%", "http://x/in?myoutput=xml&t=ABC", None),
        ("http://x/output=xml/%text%", "http://x/output=xml/ABC", None),
    ],
)
def test_output_parameter(template, url, output):
    assert expand(template) == url
    assert ib.forward_output(template) == output


def test_forward_values_seed_rules():
    values = ib.forward_values(
        sender="+1",
        receiver=None,
        text="hi",
        binary_hex="6869",
        received_at_ms=0,
        message_id="m",
        data_coding=0,
        esm_class=0,
    )
    assert values == {
        "sender": "1",
        "receiver": "",
        "text": "hi",
        "bin": "",
        "datetime": "1970/01/01 00:00:00",
        "messageid": "m",
        "datacoding": "0",
        "esmclass": "0",
    }


def test_format_forward_values_json_and_xml():
    values = ib.forward_values(
        sender="38598123123",
        receiver="1",
        text='<a&"b">',
        binary_hex="",
        received_at_ms=RECEIVED,
        message_id="7",
        data_coding=0,
        esm_class=0,
        has_bin=False,
    )
    ctype, body = ib.format_forward_values("json", values)
    assert ctype == "application/json"
    assert json.loads(body)["Text"] == '<a&"b">'
    assert json.loads(body)["Sender"] == "38598123123"
    ctype, body = ib.format_forward_values("xml", values)
    assert ctype == "application/xml"
    root = ET.fromstring(body.encode())
    assert root.findtext("Text") == '<a&"b">'
    assert root.findtext("Datetime") == "2024/03/05 07:08:09"
    assert root.findtext("MessageId") == "7"
