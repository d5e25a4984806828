"""Report ids (``X-Smsgate-Report-Ids``): the same report always gets the same id, a different report
never does; derived from the message and the report, not from a database row."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as hs

from smsgate.domain.ids import report_id

ACCEPTED = 1_893_456_000_000  # 2030-01-01T00:00:00Z
PENDING_ENROUTE, ABSENT = 7, 27


def test_an_id_is_32_hex_digits_and_the_same_every_time():
    first = report_id(1, "MESSAGE-ID-123-xyz", ACCEPTED)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert report_id(1, "MESSAGE-ID-123-xyz", ACCEPTED) == first  # a retry, a restart, another process
    assert report_id(1, "MESSAGE-ID-123-xyz", ACCEPTED, (PENDING_ENROUTE, ABSENT)) == report_id(
        1, "MESSAGE-ID-123-xyz", ACCEPTED, (PENDING_ENROUTE, ABSENT)
    )


def test_every_part_of_the_key_tells_reports_apart():
    base = report_id(1, "m-1", ACCEPTED)
    different = {
        "another account, same messageId": report_id(2, "m-1", ACCEPTED),
        "the messageId reused after a purge": report_id(1, "m-1", ACCEPTED + 1),
        "another message": report_id(1, "m-2", ACCEPTED),
        "an intermediate report": report_id(1, "m-1", ACCEPTED, (PENDING_ENROUTE, ABSENT)),
        "another intermediate state": report_id(1, "m-1", ACCEPTED, (PENDING_ENROUTE, ABSENT + 1)),
        "status and error the other way round": report_id(1, "m-1", ACCEPTED, (ABSENT, PENDING_ENROUTE)),
    }
    ids = [base, *different.values()]
    assert len(set(ids)) == len(ids), different


def test_a_message_id_cannot_pose_as_another_key():
    # the free-form messageId, whatever it holds, cannot make one key read like another
    assert report_id(1, "2:final:x", ACCEPTED) != report_id(1, "x", ACCEPTED)
    assert report_id(12, "3", ACCEPTED) != report_id(1, "23", ACCEPTED)
    assert report_id(1, "final:m", ACCEPTED, (1, 2)) != report_id(1, "m", ACCEPTED)
    # any messageId a client can send: NUL, a comma (the header's separator), a lone surrogate
    for odd in ("\x00", "a,b", "\ud800", "é" * 200):
        assert re.fullmatch(r"[0-9a-f]{32}", report_id(1, odd, ACCEPTED))


@given(
    hs.lists(
        hs.tuples(
            hs.integers(1, 5),
            hs.text(max_size=8),
            hs.integers(ACCEPTED, ACCEPTED + 3),
            hs.none() | hs.tuples(hs.integers(0, 3), hs.integers(0, 3)),
        ),
        unique=True,
        max_size=40,
    )
)
def test_distinct_reports_get_distinct_ids(keys):
    assert len({report_id(*k) for k in keys}) == len(keys)
