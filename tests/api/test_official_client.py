"""Infobip's official Python client (infobip-api-python-client 6.0.0), unchanged, against a live gateway.

Every call goes through the client's own request building and response deserialization, so a field the
gateway names, types or nests differently than Infobip does shows up here as a client error. The module
works in an account of its own, so that reports (handed out once) and logs (newest first, paged) see
only what these tests sent."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from live import eventually
from official import ib

DEST_A, DEST_B = "41793026727", "41793026731"


def make_api(host: str, api_key: str) -> ib.SmsApi:
    """The configuration Infobip's README shows; 6.0.0 deprecates the dict form but still honours it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        config = ib.Configuration(
            host=host, api_key={"APIKeyHeader": api_key}, api_key_prefix={"APIKeyHeader": "App"}
        )
    return ib.SmsApi(ib.ApiClient(config))


def uid() -> str:
    return uuid.uuid4().hex[:12]


def text_message(destinations: list[ib.SmsDestination], text: str, **kwargs) -> ib.SmsMessage:
    content = ib.SmsMessageContent(ib.SmsTextContent(text=text))
    return ib.SmsMessage(destinations=destinations, content=content, **kwargs)


def request(*messages: ib.SmsMessage, bulk_id: str | None = None) -> ib.SmsRequest:
    options = None
    if bulk_id:
        options = ib.SmsMessageRequestOptions(schedule=ib.SmsRequestSchedulingSettings(bulk_id=bulk_id))
    return ib.SmsRequest(messages=list(messages), options=options)


def wait_delivered(api: ib.SmsApi, message_ids: list[str]) -> list:
    """Poll the logs (not the reports, which are handed out once) until every message is DELIVERED."""

    def done():
        logs = api.get_outbound_sms_message_logs(message_id=message_ids).results or []
        ok = len(logs) == len(message_ids) and all(
            log.status.group_name == ib.MessageGeneralStatus.DELIVERED for log in logs
        )
        return logs if ok else None

    return eventually(done, timeout=20, interval=0.3)


@pytest.fixture(scope="module")
def account(deployment):
    return deployment.gateway.create_account(f"client{uid()}")


@pytest.fixture(scope="module")
def api(deployment, account) -> ib.SmsApi:
    return make_api(deployment.base_url, account.api_key)


def test_send_returns_typed_response_with_custom_ids(api):
    bulk, mids = f"bulk-{uid()}", [f"mid-{uid()}", f"mid-{uid()}"]
    destinations = [ib.SmsDestination(to=to, message_id=mid) for to, mid in zip([DEST_A, DEST_B], mids)]
    response = api.send_sms_messages(
        request(
            text_message(
                destinations,
                "Hello from the official client",
                sender="InfoSMS",
                webhooks=ib.SmsWebhooks(callback_data="cb-typed"),
            ),
            bulk_id=bulk,
        )
    )
    assert isinstance(response, ib.SmsResponse)
    assert response.bulk_id == bulk
    assert [m.message_id for m in response.messages] == mids
    assert [m.destination for m in response.messages] == [DEST_A, DEST_B]
    for m in response.messages:
        assert m.status.group_name == ib.MessageGeneralStatus.PENDING
        assert m.status.group_id == 1
        assert isinstance(m.status.id, int) and m.status.name and m.status.description
        assert m.details.message_count == 1


def test_generated_ids_and_bulk_id(api):
    response = api.send_sms_messages(request(text_message([ib.SmsDestination(to=DEST_A)], "generated ids")))
    (m,) = response.messages
    assert isinstance(m.message_id, str) and m.message_id
    # v3 always names the bulk, even for a single destination.
    assert isinstance(response.bulk_id, str) and response.bulk_id


def test_message_count_follows_text_length(api):
    # GSM-7: 160 characters fit one message; concatenated parts carry 153 each.
    response = api.send_sms_messages(
        request(
            text_message([ib.SmsDestination(to=DEST_A)], "a" * 160),
            text_message([ib.SmsDestination(to=DEST_A)], "b" * 161),
            text_message([ib.SmsDestination(to=DEST_A)], "c" * 400),
        )
    )
    assert [m.details.message_count for m in response.messages] == [1, 2, 3]


def test_language_single_shift_keeps_turkish_in_one_message(api):
    text = "Artık Ulusal Dil Tanımlayıcısı ile Türkçe karakterli smslerinizi rahatlıkla iletebilirsiniz."
    plain = text_message([ib.SmsDestination(to=DEST_A)], text)
    shifted = ib.SmsMessage(
        destinations=[ib.SmsDestination(to=DEST_A)],
        content=ib.SmsMessageContent(
            ib.SmsTextContent(text=text, language=ib.SmsLanguage(language_code="TR", single_shift=True))
        ),
    )
    response = api.send_sms_messages(request(plain, shifted))
    # Without a national table "ı" forces UCS-2 (70 per message, 67 per part); with the Turkish single
    # shift table the 92 characters fit one GSM-7 message.
    assert [m.details.message_count for m in response.messages] == [2, 1]


def test_delivery_report_is_handed_out_once(api):
    bulk, mids = f"bulk-{uid()}", [f"mid-{uid()}", f"mid-{uid()}"]
    destinations = [ib.SmsDestination(to=to, message_id=mid) for to, mid in zip([DEST_A, DEST_B], mids)]
    api.send_sms_messages(
        request(
            text_message(
                destinations,
                "report me",
                sender="InfoSMS",
                webhooks=ib.SmsWebhooks(callback_data="cb-report"),
            ),
            bulk_id=bulk,
        )
    )
    wait_delivered(api, mids)

    first = api.get_outbound_sms_message_delivery_reports(message_id=mids[0])
    assert isinstance(first, ib.SmsDeliveryResult)
    assert len(first.results) == 1
    report = first.results[0]
    assert report.message_id == mids[0] and report.bulk_id == bulk
    assert report.to == DEST_A and report.sender == "InfoSMS"
    assert report.callback_data == "cb-report"
    assert report.message_count == 1
    assert report.status.group_name == ib.MessageGeneralStatus.DELIVERED
    assert (report.status.group_id, report.status.id, report.status.name) == (3, 5, "DELIVERED_TO_HANDSET")
    assert report.error.group_name == ib.MessageErrorGroup.OK
    assert (report.error.id, report.error.name, report.error.permanent) == (0, "NO_ERROR", False)
    assert report.sent_at.tzinfo is not None and report.done_at >= report.sent_at
    assert abs(datetime.now(UTC) - report.sent_at) < timedelta(minutes=5)
    assert isinstance(report.price.price_per_message, float) and report.price.currency

    assert api.get_outbound_sms_message_delivery_reports(message_id=mids[0]).results == []

    # The other destination of the bulk is still owed, once.
    by_bulk = api.get_outbound_sms_message_delivery_reports(bulk_id=bulk, limit=10).results
    assert [r.message_id for r in by_bulk] == [mids[1]]
    assert api.get_outbound_sms_message_delivery_reports(bulk_id=bulk).results == []


@pytest.fixture(scope="module")
def two_bulks(api):
    """Bulk A (two destinations, sender InfoSMS), then bulk B (one destination, sender SomeStore);
    both delivered."""
    bulk_a, bulk_b = f"logs-a-{uid()}", f"logs-b-{uid()}"
    a = api.send_sms_messages(
        request(
            text_message(
                [ib.SmsDestination(to=DEST_A), ib.SmsDestination(to=DEST_B)],
                "first bulk text",
                sender="InfoSMS",
            ),
            bulk_id=bulk_a,
        )
    )
    b = api.send_sms_messages(
        request(
            text_message([ib.SmsDestination(to=DEST_A)], "second bulk text", sender="SomeStore"),
            bulk_id=bulk_b,
        )
    )
    ids_a = [m.message_id for m in a.messages]
    ids_b = [m.message_id for m in b.messages]
    wait_delivered(api, ids_a + ids_b)
    return bulk_a, bulk_b, ids_a, ids_b


def test_logs_carry_content_and_read_repeatedly(api, two_bulks):
    bulk_a, _, ids_a, _ = two_bulks
    reads = [api.get_outbound_sms_message_logs(bulk_id=[bulk_a]) for _ in range(3)]
    assert all(isinstance(r, ib.SmsLogsResponse) for r in reads)
    assert reads[0].to_dict() == reads[1].to_dict() == reads[2].to_dict()
    logs = reads[0].results
    assert sorted(log.message_id for log in logs) == sorted(ids_a)
    for log in logs:
        assert isinstance(log.content.actual_instance, ib.SmsTextContent)
        assert log.content.actual_instance.text == "first bulk text"
        assert log.bulk_id == bulk_a and log.sender == "InfoSMS"
        assert log.message_count == 1
        assert log.status.group_name == ib.MessageGeneralStatus.DELIVERED and log.status.id == 5
        assert log.error.group_name == ib.MessageErrorGroup.OK
        assert log.sent_at is not None and log.done_at >= log.sent_at
        assert isinstance(log.mcc_mnc, str) and log.mcc_mnc.isdigit()
    assert sorted(log.destination for log in logs) == sorted([DEST_A, DEST_B])


def test_logs_filters(api, two_bulks):
    bulk_a, bulk_b, ids_a, ids_b = two_bulks
    both = [bulk_a, bulk_b]

    def ids(**filters) -> list[str]:
        return [log.message_id for log in api.get_outbound_sms_message_logs(**filters).results or []]

    assert sorted(ids(bulk_id=both)) == sorted(ids_a + ids_b)
    assert sorted(ids(message_id=[ids_a[0], ids_b[0]])) == sorted([ids_a[0], ids_b[0]])
    assert sorted(ids(bulk_id=both, general_status=ib.MessageGeneralStatus.DELIVERED)) == sorted(
        ids_a + ids_b
    )
    assert ids(bulk_id=both, general_status=ib.MessageGeneralStatus.PENDING) == []
    assert ids(bulk_id=both, destination=DEST_B) == [ids_a[1]]
    assert ids(bulk_id=both, sender="SomeStore") == ids_b
    # Newest first: the limit keeps bulk B, sent last.
    assert ids(bulk_id=both, limit=1) == ids_b
    # Dates go out in the client's own query format (2025-01-02T03:04:05.000000+0000).
    now = datetime.now(UTC)
    assert sorted(ids(bulk_id=both, sent_since=now - timedelta(hours=1))) == sorted(ids_a + ids_b)
    assert ids(bulk_id=both, sent_since=now + timedelta(hours=1)) == []
    assert ids(bulk_id=both, sent_until=now - timedelta(hours=1)) == []


def test_logs_cursor_paging(api):
    bulk = f"cursor-{uid()}"
    response = api.send_sms_messages(
        request(
            text_message([ib.SmsDestination(to=f"4179302{n:04d}") for n in range(5)], "page me"), bulk_id=bulk
        )
    )
    sent = {m.message_id for m in response.messages}
    assert len(sent) == 5

    pages, cursor = [], None
    for _ in range(5):
        page = api.get_outbound_sms_message_logs(bulk_id=[bulk], limit=2, use_cursor=True, cursor=cursor)
        assert page.cursor is not None and page.cursor.limit == 2
        pages.append([log.message_id for log in page.results])
        cursor = page.cursor.next_cursor
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [mid for p in pages for mid in p]
    assert len(seen) == len(set(seen)) and set(seen) == sent
    # The pages are the unpaged list cut in pieces.
    assert seen == [log.message_id for log in api.get_outbound_sms_message_logs(bulk_id=[bulk]).results]


def test_past_send_at_sends_now(api):
    mid = f"past-{uid()}"
    options = ib.SmsMessageRequestOptions(
        schedule=ib.SmsRequestSchedulingSettings(send_at=datetime.now(UTC) - timedelta(days=1))
    )
    response = api.send_sms_messages(
        ib.SmsRequest(
            messages=[text_message([ib.SmsDestination(to=DEST_A, message_id=mid)], "late")], options=options
        )
    )
    assert response.messages[0].message_id == mid
    (log,) = wait_delivered(api, [mid])
    assert log.status.name == "DELIVERED_TO_HANDSET"


def test_host_with_trailing_slash(deployment, account):
    api = make_api(deployment.base_url + "/", account.api_key)
    mid = f"slash-{uid()}"
    response = api.send_sms_messages(
        request(text_message([ib.SmsDestination(to=DEST_A, message_id=mid)], "slash"))
    )
    assert response.messages[0].message_id == mid
    logs = api.get_outbound_sms_message_logs(message_id=[mid]).results
    assert [log.message_id for log in logs] == [mid]
    reports = api.get_outbound_sms_message_delivery_reports(message_id="no-such-id")
    assert isinstance(reports, ib.SmsDeliveryResult) and reports.results == []


def test_plain_string_api_key(deployment, account):
    """6.0.0's recommended form, ``api_key="..."``, adds the App prefix itself."""
    api = ib.SmsApi(ib.ApiClient(ib.Configuration(host=deployment.base_url, api_key=account.api_key)))
    response = api.send_sms_messages(request(text_message([ib.SmsDestination(to=DEST_A)], "string key")))
    assert response.messages[0].status.group_name == ib.MessageGeneralStatus.PENDING


def _assert_api_error(exc, status: int) -> ib.ApiError:
    assert exc.status == status
    assert isinstance(exc.data, ib.ApiError)
    parsed = ib.ApiError.from_json(exc.body)
    assert parsed.error_code and parsed.description and parsed.action
    assert isinstance(parsed.violations, list) and isinstance(parsed.resources, list)
    return parsed


def test_wrong_api_key_raises_unauthorized(deployment, api):
    bad = make_api(deployment.base_url, "not-a-key-" + uid())
    mid = f"unauth-{uid()}"
    with pytest.raises(ib.UnauthorizedException) as caught:
        bad.send_sms_messages(request(text_message([ib.SmsDestination(to=DEST_A, message_id=mid)], "nope")))
    error = _assert_api_error(caught.value, 401)
    assert all(r.name and r.url for r in error.resources)
    with pytest.raises(ib.UnauthorizedException) as caught:
        bad.get_outbound_sms_message_logs()
    _assert_api_error(caught.value, 401)
    with pytest.raises(ib.UnauthorizedException) as caught:
        bad.get_outbound_sms_message_delivery_reports()
    _assert_api_error(caught.value, 401)
    # Nothing was sent under anyone's name.
    assert api.get_outbound_sms_message_logs(message_id=[mid]).results == []


def test_invalid_request_raises_bad_request_with_violations(api):
    with pytest.raises(ib.BadRequestException) as caught:
        api.send_sms_messages(request(text_message([ib.SmsDestination(to=DEST_A)], "x", sender="S" * 40)))
    error = _assert_api_error(caught.value, 400)
    assert error.violations and "sender" in error.violations[0].var_property
    assert error.violations[0].violation


def test_binary_content(api):
    hello, ucs2 = f"bin-{uid()}", f"bin-{uid()}"
    response = api.send_sms_messages(
        request(
            ib.SmsMessage(
                destinations=[ib.SmsDestination(to=DEST_A, message_id=hello)],
                content=ib.SmsMessageContent(
                    ib.SmsBinaryContent(hex="48 65 6c 6c 6f", data_coding=0, esm_class=0)
                ),
            ),
            ib.SmsMessage(
                destinations=[ib.SmsDestination(to=DEST_A, message_id=ucs2)],
                content=ib.SmsMessageContent(ib.SmsBinaryContent(hex="0048 0069", data_coding=8)),
            ),
            ib.SmsMessage(
                destinations=[ib.SmsDestination(to=DEST_A)],
                content=ib.SmsMessageContent(ib.SmsBinaryContent(hex="ab" * 200)),
            ),
        )
    )
    # 8-bit data: 140 octets in one message, 134 per concatenated part.
    assert [m.details.message_count for m in response.messages] == [1, 1, 2]
    logs = {log.message_id: log for log in wait_delivered(api, [hello, ucs2])}
    content = logs[hello].content.actual_instance
    assert isinstance(content, ib.SmsBinaryContent)
    assert content.hex.replace(" ", "").lower() == "48656c6c6f"
    assert (content.data_coding, content.esm_class) == (0, 0)
    content = logs[ucs2].content.actual_instance
    assert isinstance(content, ib.SmsBinaryContent)
    assert content.hex.replace(" ", "").lower() == "00480069" and content.data_coding == 8


def test_preview_seed_example(api):
    text = "Let's see how many characters will remain unused in this message."
    preview = api.preview_sms_message(ib.SmsPreviewRequest(text=text))
    assert preview.original_text == text
    first = preview.previews[0]
    assert first.text_preview == text
    assert first.message_count == 1
    assert first.characters_remaining == 95
