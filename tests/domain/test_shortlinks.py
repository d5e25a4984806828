"""URL shortening's pure part (domain/shortlinks.py) and how it meets the text engine: URLs found,
fixed-length links, unguessable codes, and part counts that hold for every destination's codes."""

from __future__ import annotations

import itertools
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from smsgate import text as textengine
from smsgate.domain import shortlinks as sl
from smsgate.text.charset import charset
from smsgate.text.national_tables import BY_IDENTIFIER

STYLE = sl.LinkStyle("https://go.example.com")


def test_urls_are_found_without_the_sentence_around_them() -> None:
    text = "See https://a.example/x?y=1&z=2. Or (http://b.example/p) and HTTPS://C.example, not ftp://d or http://"
    assert [s.url for s in sl.find_urls(text)] == [
        "https://a.example/x?y=1&z=2",
        "http://b.example/p",
        "HTTPS://C.example",
    ]
    assert sl.find_urls("no links here") == []
    # a bracket that belongs to the URL stays
    assert [s.url for s in sl.find_urls("https://en.wikipedia.org/wiki/SMS_(disambiguation)!")] == [
        "https://en.wikipedia.org/wiki/SMS_(disambiguation)"
    ]


def test_template_renders_each_link_in_its_place() -> None:
    t = sl.Template.of("a http://x.example/1 b https://y.example/2")
    assert t.urls == ("http://x.example/1", "https://y.example/2")
    assert t.render(["L1", "L2"]) == "a L1 b L2"
    assert t.fill("P") == "a P b P"
    assert sl.Template.around("a P b P", "P", t.urls) == sl.Template(("a ", " b ", ""), t.urls)
    assert sl.Template.around("a P b", "P", t.urls) is None
    with pytest.raises(ValueError):
        t.render(["only one"])


def test_links_have_a_fixed_length_and_remove_protocol_drops_the_scheme() -> None:
    codes = sl.new_codes(500)
    assert {len(STYLE.link(c)) for c in codes} == {STYLE.length} == {len("https://go.example.com/") + 12}
    short = sl.LinkStyle("https://go.example.com", remove_protocol=True)
    assert short.link("abcdefghijkl") == "go.example.com/abcdefghijkl"
    assert short.length == STYLE.length - len("https://")


def test_codes_are_random_not_sequential() -> None:
    codes = sl.new_codes(5000)
    assert len(set(codes)) == 5000
    assert all(sl.CODE_RE.fullmatch(c) for c in codes)
    # every character of the alphabet turns up in every position, about equally
    for pos in range(sl.CODE_LEN):
        seen = [c[pos] for c in codes]
        counts = [seen.count(ch) for ch in sl.CODE_ALPHABET]
        assert min(counts) > 5000 / 36 / 2
    # neighbours share no more characters than chance (1/36 a position)
    same = sum(a == b for x, y in itertools.pairwise(codes) for a, b in zip(x, y))
    assert same < 4999 * 12 / 36 * 1.5


def test_code_characters_cost_the_same_in_every_table() -> None:
    # what makes the part count the same for every destination's codes
    for ident, lang in [(0, None), *BY_IDENTIFIER.items()]:
        lockings = [0] + ([ident] if lang is not None and lang.locking else [])
        for locking in lockings:
            cs = charset(locking, ident)
            costs = {len(cs.encode_map[c]) for c in sl.CODE_ALPHABET}
            assert costs == {1}, (ident, locking)
            # the base's characters are the same for every destination: carried is enough
            assert all(c in cs.encode_map for c in "/.:-"), (ident, locking)


def test_bases_must_be_plain_origins() -> None:
    assert sl.base_problem("https://go.example.com") is None
    assert sl.base_problem("http://127.0.0.1:8080") is None
    assert "no path" in (sl.base_problem("https://go.example.com/s") or "")
    assert "http(s)" in (sl.base_problem("ftp://go.example.com") or "")
    assert "letters" in (sl.base_problem("https://gö.example.com") or "")


def _shortened(text: str, style: sl.LinkStyle = STYLE, **options: object) -> tuple[int, list[str]]:
    """The part count as accept computes it (placeholder links), and the texts of three destinations."""
    template = sl.Template.of(text)
    code = sl.placeholder_code(text)
    counted = textengine.encode(template.fill(style.link(code)), **options)  # type: ignore[arg-type]
    sent = sl.Template.around(counted.text, style.link(code), template.urls)
    assert sent is not None
    texts = [sent.render([style.link(c) for c in sl.new_codes(len(template.urls))]) for _ in range(3)]
    return counted.message_count, texts


def _parts(text: str, **options: object) -> int:
    return textengine.encode(text, **options).message_count  # type: ignore[arg-type]


def test_several_urls_each_get_their_own_link() -> None:
    text = "Sale: https://shop.example/a?ref=1 and https://shop.example/b, plus http://x.example"
    count, texts = _shortened(text)
    for sent in texts:
        assert len(sl.find_urls(sent)) == 3
        assert "shop.example" not in sent
        assert _parts(sent) == count
    assert len(set(texts)) == 3  # one destination's links are not another's


def test_a_url_across_a_part_boundary() -> None:
    # 150 characters, then a URL that crosses the 153-septet boundary of a concatenated part
    text = "x" * 150 + " https://a.example/" + "p" * 40 + " end"
    count, texts = _shortened(text)
    assert all(_parts(t) == count for t in texts)
    # the link itself ends where the text around it says: 150 + 1 + link + 4 characters
    assert len(texts[0]) == 150 + 1 + STYLE.length + 4
    assert count == 2


def test_a_text_that_grows_through_shortening() -> None:
    text = "x" * 140 + " http://a.b"  # 151 septets: one part; the link makes it longer than 160
    assert _parts(text) == 1
    count, texts = _shortened(text)
    assert count == 2 == _parts(texts[0])
    assert len(texts[0]) > len(text)


def test_ucs2_text_with_links() -> None:
    text = "Привет! Ваш заказ: https://shop.example/order/12345 — спасибо 😀"
    count, texts = _shortened(text)
    for sent in texts:
        assert textengine.encode(sent).encoding == "UCS2"
        assert _parts(sent) == count
        assert sent.startswith("Привет! Ваш заказ: https://go.example.com/")


def test_national_tables_and_transliteration_keep_the_links() -> None:
    text = "Ürün hazır: https://shop.example/ç?x=1 teşekkürler"
    count, texts = _shortened(text, language_code="TR", single_shift=True, locking_shift=True)
    assert all(_parts(t, language_code="TR", single_shift=True, locking_shift=True) == count for t in texts)
    count, texts = _shortened("Ваш код: https://a.example/x", transliteration="CYRILLIC")
    assert texts[0].startswith("Vash kod: https://go.example.com/") or "https://go.example.com/" in texts[0]


@settings(max_examples=150, deadline=None)
@given(
    words=hs.lists(
        hs.one_of(
            hs.text(alphabet=string.ascii_letters + " ,.!?", min_size=0, max_size=30),
            hs.text(alphabet="абвгдеёжзαβγ😀€[]{}", min_size=1, max_size=5),
            hs.builds(
                lambda host, path: f"https://{host}.example/{path}",
                hs.text(alphabet=string.ascii_lowercase, min_size=1, max_size=10),
                hs.text(alphabet=string.ascii_letters + string.digits + "/?=&%-_", max_size=60),
            ),
        ),
        max_size=12,
    ),
    remove=hs.booleans(),
)
def test_every_destinations_text_counts_as_the_placeholder_text(words: list[str], remove: bool) -> None:
    text = " ".join(words)
    style = sl.LinkStyle("http://127.0.0.1:8080", remove)
    count, texts = _shortened(text, style)
    for sent in texts:
        assert _parts(sent) == count
        assert len(sl.find_urls(sent)) == (0 if remove else len(sl.find_urls(text)))
