"""The legacy AddOn/SMSService API (seed 004) against a live gateway: every example of the seed as
written, each return code provoked, reports pushed and pulled, and what it sent in the v1 and v3 logs."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx
import pytest
from helpers import uid
from job_queue import jobs_of
from live import ADMIN, LiveGateway, eventually
from receiver import Receiver

from smsgate.wire.legacy import format_credits

XML_PATH = "/AddOn/SMSService/XML/XMLInput.aspx"
GET_PATH = "/Addon/SMSService/SendSMS.aspx"  # as the seed's GET examples write it
COMMAND_PATH = "/Addon/SMSService/command.aspx"


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def legacy(deployment):
    """An account of its own for the legacy API (its reports are nobody else's)."""
    return deployment.gateway.create_account(uid("legacy"))


def sms_xml(creds, recipients: str, message: str = "<sender>Friend</sender><text>hello</text>") -> str:
    return (
        f"<SMS><authentification><username>{creds.username}</username>"
        f"<password>{creds.password}</password></authentification>"
        f"<message>{message}</message><recipients>{recipients}</recipients></SMS>"
    )


def post_xml(base: str, body: str | bytes, **kw) -> ET.Element:
    data = body.encode() if isinstance(body, str) else body
    r = httpx.post(base + XML_PATH, content=data, timeout=30, **kw)
    assert r.status_code == 200, r.text
    return ET.fromstring(r.content)


def status_of(response: ET.Element) -> int:
    assert response.tag == "RESPONSE"
    return int(response.findtext("status"))


def get_sms(base: str, creds, **params) -> str:
    query = {"user": creds.username, "password": creds.password, **params}
    r = httpx.get(base + GET_PATH, params=query, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return r.text


def v1_log(base: str, creds, message_id: str) -> dict:
    r = httpx.get(base + "/sms/1/logs", params={"messageId": message_id}, headers=creds.app, timeout=30)
    (found,) = r.json()["results"]
    return found


def balance(base: str, creds) -> float:
    """The balance as the balance API answers it: the one the legacy API must report."""
    r = httpx.get(base + "/account/1/balance", headers=creds.app, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["balance"]


def prepaid(gw: LiveGateway, credit: float):
    name = uid("prepaid")
    creds = gw.create_account(name)
    gw.cli("account", "prepaid", name)
    if credit:
        gw.cli("account", "credit", name, str(credit))
    return creds


def credits_command(base: str, creds) -> str:
    params = {"username": creds.username, "password": creds.password, "cmd": "CREDITS"}
    r = httpx.get(base + COMMAND_PATH, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.text


def final_v1_log(base: str, creds, message_id: str) -> dict | None:
    found = v1_log(base, creds, message_id)
    return found if found["status"]["groupName"] not in ("PENDING", "ACCEPTED") else None


def test_xml_post_without_registered_delivery_form_encoded(deployment, legacy):
    # the seed's first XML form, form-encoded; the duplicate recipient is filtered
    recipients = "<gsm>41793026727</gsm><gsm>41793026728</gsm><gsm>41793026727</gsm>"
    body = "XML=" + quote(sms_xml(legacy, recipients))
    response = post_xml(
        deployment.base_url, body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status_of(response) == 2
    # <credits> is the account's balance after the request (a postpaid account: below zero)
    assert float(response.findtext("credits")) == pytest.approx(
        balance(deployment.base_url, legacy), abs=1e-4
    )


def test_xml_post_with_registered_delivery_raw_and_as_the_seed_quotes_it(deployment, legacy):
    a, b = uid("client"), uid("client")
    # raw XML= (as old clients post it), and the seed's typographic quotes around messageId
    recipients = f'<gsm messageId="{a}">41793026729</gsm><gsm messageId=“{b}”>41793026730</gsm>'
    response = post_xml(deployment.base_url, "XML=" + sms_xml(legacy, recipients))
    assert status_of(response) == 2
    # the client's ids are the messages' ids in the v1 and v3 logs
    assert v1_log(deployment.base_url, legacy, a)["to"] == "41793026729"
    r = httpx.get(deployment.base_url + "/sms/3/logs", params={"messageId": b}, headers=legacy.app)
    assert [m["destination"] for m in r.json()["results"]] == ["41793026730"]


def test_xml_return_codes(deployment, legacy):
    base = deployment.base_url
    wrong = type(legacy)(legacy.name, "", legacy.username, "wrong-password")
    assert status_of(post_xml(base, "XML=" + sms_xml(wrong, "<gsm>41793026727</gsm>"))) == -1
    assert status_of(post_xml(base, "XML=<SMS><authentification>")) == -2
    assert status_of(post_xml(base, "XML=" + sms_xml(legacy, ""))) == -4
    assert status_of(post_xml(base, "XML=" + sms_xml(legacy, "<gsm>123</gsm><gsm>abc</gsm>"))) == -4
    # text and binary together: "Cannot be used together"
    both = "<sender>Friend</sender><text>hi</text><binary>41424344</binary>"
    assert status_of(post_xml(base, "XML=" + sms_xml(legacy, "<gsm>41793026727</gsm>", both))) == -2
    many = "".join(f"<gsm>4179{n:07d}</gsm>" for n in range(10_001))
    assert status_of(post_xml(base, "XML=" + sms_xml(legacy, many))) == -2
    huge = f"<sender>Friend</sender><text>{'x' * 40000}</text><type>longSMS</type>"  # over 255 parts
    assert status_of(post_xml(base, "XML=" + sms_xml(legacy, "<gsm>41793026727</gsm>", huge))) == -2
    bad_ton = "<sender>Friend</sender><text>hi</text><srcton>7</srcton>"
    assert status_of(post_xml(base, "XML=" + sms_xml(legacy, "<gsm>41793026727</gsm>", bad_ton))) == -2


@pytest.mark.parametrize(
    "hostile",
    [
        '<?xml version="1.0"?><!DOCTYPE SMS [<!ENTITY x "41793026727">]><SMS><recipients><gsm>&x;</gsm></recipients></SMS>',
        '<?xml version="1.0"?><!DOCTYPE SMS SYSTEM "http://example.com/sms.dtd"><SMS></SMS>',
        "<SMS>" + "<a>" * 100 + "</a>" * 100 + "</SMS>",
    ],
    ids=["entity", "dtd", "deep"],
)
def test_hostile_xml_is_refused_and_nothing_stored(deployment, hostile):
    creds = deployment.gateway.create_account(uid("hostile"))
    doc = hostile.replace("<SMS>", sms_xml(creds, "<gsm>41793026727</gsm>")[:-6].replace("</SMS>", ""), 1)
    assert status_of(post_xml(deployment.base_url, "XML=" + doc)) == -2
    r = httpx.get(deployment.base_url + "/sms/1/logs", headers=creds.app)
    assert r.json()["results"] == []


def test_twenty_megabytes_are_refused_and_nothing_stored(deployment):
    creds = deployment.gateway.create_account(uid("big"))
    doc = sms_xml(creds, "<gsm>41793026727</gsm>" * (20 * 1024 * 1024 // 22))
    assert len(doc) > 20 * 1024 * 1024
    assert status_of(post_xml(deployment.base_url, "XML=" + doc)) == -2
    assert httpx.get(deployment.base_url + "/sms/1/logs", headers=creds.app).json()["results"] == []


def test_http_get_examples_of_the_seed(deployment, legacy):
    base = deployment.base_url
    # 1: a normal text message
    text_id = get_sms(base, legacy, sender="Friend", SMSText="messagetext", IsFlash="0", GSM="38598514674")
    # 2: binary
    binary_id = get_sms(base, legacy, sender="Friend", binary="41424344", GSM="38598514674")
    # 3: binary with its own UDH (esmclass 64)
    udh_id = get_sms(
        base, legacy, sender="Friend", binary="06050400010241424344", GSM="38598514674", esmclass="64"
    )
    for message_id in (text_id, binary_id, udh_id):
        assert re.fullmatch(r"[1-9][0-9]*", message_id), message_id  # a positive integer
    assert len({text_id, binary_id, udh_id}) == 3
    # the same numeric ids in the v1 and v3 logs
    logged = v1_log(base, legacy, text_id)
    assert logged["text"] == "messagetext" and logged["from"] == "Friend" and logged["to"] == "38598514674"
    r = httpx.get(base + "/sms/3/logs", params={"messageId": udh_id}, headers=legacy.app).json()
    assert [m["messageId"] for m in r["results"]] == [udh_id]


def test_http_get_return_codes(deployment, legacy):
    base = deployment.base_url
    ok = {"sender": "Friend", "SMSText": "hi", "GSM": "41793026727"}

    def get(**params) -> str:
        return httpx.get(base + GET_PATH, params=params, timeout=30).text

    assert get(password="x", **ok) == "-10"
    assert get(user=legacy.username, **ok) == "-11"
    assert get(user=legacy.username, password="wrong", **ok) == "-5"
    assert get_sms(base, legacy, sender="Friend", SMSText="hi") == "-6"
    assert get_sms(base, legacy, sender="Friend", GSM="41793026727") == "-7"
    assert get_sms(base, legacy, SMSText="hi", GSM="41793026727") == "-8"
    assert get_sms(base, legacy, sender="Friend", SMSText="hi", GSM="4179abc") == "-9"
    assert get_sms(base, legacy, sender="Friend", SMSText="hi", GSM="1234") == "-13"
    assert get_sms(base, legacy, sender="FriendFriend", SMSText="hi", GSM="41793026727") == "-8"


def test_charset_of_the_query_latin1_or_utf8(deployment, legacy):
    base = deployment.base_url
    query = f"user={legacy.username}&password={legacy.password}&sender=Friend&GSM=41793026727"
    latin1 = httpx.get(f"{base}{GET_PATH}?{query}&SMSText=%E9t%E9").text  # ISO-8859-1 "été"
    utf8 = httpx.get(f"{base}{GET_PATH}?{query}&SMSText=%C3%A9t%C3%A9").text  # UTF-8 "été"
    assert v1_log(base, legacy, latin1)["text"] == "été"
    assert v1_log(base, legacy, utf8)["text"] == "été"


def test_a_long_text_is_cut_to_one_part_unless_long_sms(deployment, legacy):
    base = deployment.base_url
    text = "x" * 200
    short = get_sms(base, legacy, sender="Friend", SMSText=text, GSM="41793026727")
    long = get_sms(base, legacy, sender="Friend", SMSText=text, GSM="41793026727", Type="LongSMS")
    assert v1_log(base, legacy, short)["text"] == "x" * 160
    assert v1_log(base, legacy, short)["smsCount"] == 1
    assert v1_log(base, legacy, long)["text"] == text
    assert v1_log(base, legacy, long)["smsCount"] == 2


def test_credits_command(deployment, legacy):
    base = deployment.base_url

    def command(**params) -> str:
        r = httpx.get(base + COMMAND_PATH, params=params, timeout=30)
        assert r.status_code == 200
        return r.text

    creds = {"username": legacy.username, "password": legacy.password}
    assert command(cmd="CREDITS", **creds) == format_credits(balance(base, legacy))
    assert command(cmd="credits", **creds) == format_credits(balance(base, legacy))
    assert command(cmd="NOSUCH", **creds) == "-1"
    assert command(cmd="CREDITS", username=legacy.username, password="wrong") == "-5"
    assert command(cmd="CREDITS", password="x") == "-10"
    assert command(cmd="CREDITS", username=legacy.username) == "-11"


def test_credits_are_the_balance_after_the_request(deployment):
    base = deployment.base_url
    creds = prepaid(deployment.gateway, 1.0)
    assert credits_command(base, creds) == "1"
    a, b = uid("paid"), uid("paid")
    recipients = f'<gsm messageId="{a}">41793026731</gsm><gsm messageId="{b}">38598303175</gsm>'
    response = post_xml(base, "XML=" + sms_xml(creds, recipients))
    assert status_of(response) == 2
    charged = sum(
        v1_log(base, creds, i)["price"]["pricePerMessage"] * v1_log(base, creds, i)["smsCount"]
        for i in (a, b)
    )
    assert charged > 0
    assert response.findtext("credits") == format_credits(1.0 - charged)
    assert (
        credits_command(base, creds) == format_credits(1.0 - charged) == format_credits(balance(base, creds))
    )
    # a GET send moves it too
    sent = get_sms(base, creds, sender="Friend", SMSText="hi", GSM="41793026732")
    price = v1_log(base, creds, sent)["price"]["pricePerMessage"]
    assert credits_command(base, creds) == format_credits(1.0 - charged - price)


def test_not_enough_credits_end_to_end(deployment):
    base = deployment.base_url
    creds = prepaid(deployment.gateway, 0.0)
    a = uid("broke")
    response = post_xml(
        base, "XML=" + sms_xml(creds, f'<gsm messageId="{a}">41793026733</gsm><gsm>41793026734</gsm>')
    )
    assert status_of(response) == -3  # NOT_ENOUGH_CREDITS
    assert response.findtext("credits") == "0"
    assert v1_log(base, creds, a)["status"]["name"] == "REJECTED_NOT_ENOUGH_CREDITS"
    assert get_sms(base, creds, sender="Friend", SMSText="hi", GSM="41793026735") == "-2"  # NOT_ENOUGHCREDITS
    assert credits_command(base, creds) == "0"
    # what the balance pays for is sent, the rest is not: the status counts the sent ones
    deployment.gateway.cli("account", "credit", creds.name, "0.065")  # the default plan's part to 41
    b, c = uid("half"), uid("half")
    recipients = f'<gsm messageId="{b}">41793026736</gsm><gsm messageId="{c}">41793026737</gsm>'
    response = post_xml(base, "XML=" + sms_xml(creds, recipients))
    assert status_of(response) == 1 and response.findtext("credits") == "0"
    assert v1_log(base, creds, c)["status"]["name"] == "REJECTED_NOT_ENOUGH_CREDITS"


def test_not_enough_credits_is_pushed_to_the_report_url(deployment, receiver):
    gw, base = deployment.gateway, deployment.base_url
    creds = prepaid(gw, 0.0)
    path = f"/{uid('broke-dlr')}"
    gw.cli("account", "legacy", creds.name, "--report-url", receiver.url(path))
    own = uid("broke")
    assert (
        status_of(post_xml(base, "XML=" + sms_xml(creds, f'<gsm messageId="{own}">41793026738</gsm>'))) == -3
    )
    (push,) = eventually(lambda: receiver.to(path) or None)
    (line,) = _lines(push.body)
    assert line["id"] == own and line["status"] == "NOT_ENOUGH_CREDITS" and DATE.match(line["donedate"])


def _lines(body: bytes) -> list[dict[str, str]]:
    root = ET.fromstring(body)
    assert root.tag == "DeliveryReport"
    return [dict(m.attrib) for m in root]


DATE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}$")


def test_reports_pulled_once_unless_asked_by_id(deployment):
    base = deployment.base_url
    creds = deployment.gateway.create_account(uid("pull"))
    own = uid("mine")
    post_xml(base, "XML=" + sms_xml(creds, f'<gsm messageId="{own}">41793026727</gsm>'))
    sent = get_sms(base, creds, sender="Friend", SMSText="hi", GSM="41793026728")
    eventually(lambda: final_v1_log(base, creds, sent) and final_v1_log(base, creds, own))
    pull = {"user": creds.username, "password": creds.password}

    def pulled(**extra) -> list[dict[str, str]]:
        r = httpx.get(base + "/api/dlrpull", params={**pull, **extra})
        assert r.status_code == 200
        return _lines(r.content)

    lines = eventually(lambda: pulled() or None)
    while len(lines) < 2:  # the second may end a moment later
        lines += eventually(lambda: pulled() or None)
    assert {line["id"] for line in lines} == {own, sent}
    for line in lines:
        assert line["status"] == "DELIVERED" and DATE.match(line["sentdate"]) and DATE.match(line["donedate"])
    assert pulled() == []  # handed out once
    again = pulled(messageid=f"{sent},{own}")  # unless asked for by id
    assert [line["id"] for line in again] == [sent, own]
    assert httpx.get(base + "/api/dlrpull", params={"password": "x"}).text == "10"
    assert httpx.get(base + "/api/dlrpull", params={"user": creds.username}).text == "11"
    assert httpx.get(base + "/api/dlrpull", params={"user": creds.username, "password": "no"}).text == "5"


def test_reports_pushed_to_the_accounts_url(deployment, receiver):
    gw, base = deployment.gateway, deployment.base_url
    creds = gw.create_account(uid("push"))
    path = f"/{uid('dlr')}"
    shown = gw.cli("account", "legacy", creds.name, "--report-url", receiver.url(path)).stdout
    assert receiver.url(path) in shown
    own = [uid("c"), uid("c")]
    recipients = "".join(f'<gsm messageId="{i}">4179302673{n}</gsm>' for n, i in enumerate(own))
    assert status_of(post_xml(base, "XML=" + sms_xml(creds, recipients))) == 2
    sent = get_sms(base, creds, sender="Friend", SMSText="hi", GSM="41793026739")
    got = eventually(lambda: len({line["id"] for r in receiver.to(path) for line in _lines(r.body)}) == 3)
    assert got
    lines = [line for r in receiver.to(path) for line in _lines(r.body)]
    assert {line["id"] for line in lines} == {*own, sent}
    assert all(line["status"] == "DELIVERED" for line in lines)
    assert receiver.to(path)[0].headers["content-type"].startswith("text/xml")
    # pushed reports are not pulled as well
    r = httpx.get(base + "/api/dlrpull", params={"user": creds.username, "password": creds.password})
    assert _lines(r.content) == []
    assert "pulled" in gw.cli("account", "legacy", creds.name, "--remove").stdout
    assert "pulled" in gw.cli("account", "legacy", creds.name).stdout
    assert gw.cli("account", "legacy", creds.name, "--report-url", "ftp://x", check=False).returncode == 1


def test_admin_sets_the_report_url(deployment, receiver):
    base = deployment.base_url
    creds = deployment.gateway.create_account(uid("adm"))
    url = base + f"/admin/1/accounts/{creds.name}/legacy"
    r = httpx.put(url, json={"deliveryReportUrl": receiver.url("/x")}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["deliveryReportUrl"] == receiver.url("/x")
    assert httpx.get(url, headers=ADMIN).json()["deliveryReportUrl"] == receiver.url("/x")
    assert httpx.put(url, json={"deliveryReportUrl": "ftp://x"}, headers=ADMIN).status_code == 400
    assert httpx.put(url, json={"deliveryReportUrl": None}, headers=ADMIN).json()["deliveryReportUrl"] is None
    assert httpx.get(base + "/admin/1/accounts/nobody-here/legacy", headers=ADMIN).status_code == 404


def test_push_retry_schedule_across_a_restart(tmp_path, own_database, receiver):
    """The seed's schedule (60 s, 5 min, then hourly) with a minute of 0.02 s: 1, 5 and 60 units."""
    unit = 0.02
    gw = LiveGateway(tmp_path, own_database, env_extra={"SMSGATE_WEBHOOK_RETRY_UNIT": str(unit)})
    creds = gw.create_account("erin")
    path = f"/{uid('retry')}"
    gw.cli("account", "legacy", "erin", "--report-url", receiver.url(path))
    # the first try, retries 1 and 2 and the first hourly retry fail; the second hourly one succeeds
    receiver.answer = lambda n, req: 500 if req.path == path and len(receiver.to(path)) <= 4 else 200
    try:
        gw.start()
        message_id = get_sms(gw.base_url, creds, sender="Friend", SMSText="hi", GSM="41793026727")
        eventually(lambda: len(receiver.to(path)) >= 4, timeout=30)
        at = [r.at for r in receiver.to(path)]
        assert at[1] - at[0] >= 1 * unit * 0.9
        assert at[2] - at[1] >= 5 * unit * 0.9
        assert at[3] - at[2] >= 60 * unit * 0.9
        # the fourth failure is recorded (its retry some 60 units ahead) before the kill: a kill before
        # that would rightly repeat the unrecorded attempt at once
        fourth_failed_ms = time.time() * 1000
        eventually(
            lambda: any(
                kind == "legacy_push" and attempts == 4 and due > fourth_failed_ms + 30 * unit * 1000
                for kind, attempts, due in jobs_of(gw, message_id)
            ),
            timeout=10,
        )
        gw.kill()
        gw.start()
        eventually(lambda: len(receiver.to(path)) >= 5, timeout=30)
        # the hourly retry came an "hour" after the fourth failure: the restart did not reset it
        assert receiver.to(path)[4].at - receiver.to(path)[3].at >= 60 * unit * 0.9
        assert len({r.body for r in receiver.to(path)}) == 1  # the same report each time
    finally:
        receiver.answer = lambda n, req: 200
        gw.stop()
    assert len(receiver.to(path)) == 5


def test_inbound_get_forwarding_of_chapter_six(deployment, receiver):
    """Seed 004, chapter 6, line by line: every parameter of its table, no leading "+", the two
    example URLs, binary in hex, and "send only binary or only text" by the data coding."""
    base, creds = deployment.base_url, deployment.gateway.create_account(uid("mo"))

    def forward_to(template: str) -> str:
        number = f"4179{uid('')[-7:].translate(str.maketrans('abcdef', '123456'))}"
        body = {"number": number, "account": creds.name, "action": "forward", "forwardUrl": template}
        r = httpx.post(base + "/admin/1/numbers", headers=ADMIN, json={**body, "forwardMethod": "GET"})
        assert r.status_code == 201, r.text
        return number

    def simulate(to: str, **content) -> None:
        r = httpx.post(
            base + "/admin/1/simulate/inbound",
            headers=ADMIN,
            json={"from": "+38598123123", "to": to, **content},
        )
        assert r.status_code == 200, r.text

    text_path, bin_path, all_path = f"/{uid('t')}", f"/{uid('b')}", f"/{uid('a')}"
    # the seed's examples: ?who=%sender%&what=%text% and ?who=%sender%&what=%bin%
    simulate(forward_to(receiver.url(text_path) + "?who=%sender%&what=%text%"), text="ABC")
    simulate(forward_to(receiver.url(bin_path) + "?who=%sender%&what=%bin%"), text="ABC")
    assert eventually(lambda: receiver.to(text_path))[0].query == {"who": ["38598123123"], "what": ["ABC"]}
    assert eventually(lambda: receiver.to(bin_path))[0].query == {"who": ["38598123123"], "what": ["414243"]}
    # every parameter; both text and bin in the URL: text only for data coding 0, binary only otherwise
    every = "?s=%Sender%&r=%Receiver%&t=%Text%&b=%Bin%&d=%Datetime%&dc=%Datacoding%&e=%Esmclass%"
    number = forward_to(receiver.url(all_path) + every)
    simulate(number, text="ABC")
    simulate(number, binary="00FC", dataCoding=8)
    got = eventually(lambda: len(receiver.to(all_path)) >= 2 and receiver.to(all_path))
    by_coding = {r.query["dc"][0]: r.query for r in got}
    gsm, ucs2 = by_coding["0"], by_coding["8"]
    assert gsm["s"] == ["38598123123"] and gsm["r"] == [number] and gsm["e"] == ["0"]
    assert (gsm["t"], gsm["b"]) == (["ABC"], [""])
    assert (ucs2["t"], ucs2["b"]) == ([""], ["00FC"])
    assert DATE.match(gsm["d"][0])  # yyyy/mm/dd hh:mm:ss


def test_bookmark_ucs2_and_flash_options(deployment, legacy):
    from smsgate.text.wap import wap_push_si

    base = deployment.base_url
    url = "www.infobiiip.com/something.jpg"  # the seed's wapurl example
    bookmark = get_sms(
        base, legacy, sender="Friend", SMSText="Look", GSM="41793026727", Type="bookmark", Bookmark=url
    )
    r = httpx.get(base + "/sms/3/logs", params={"messageId": bookmark}, headers=legacy.app).json()
    (logged,) = r["results"]
    assert logged["destination"] == "41793026727" and logged["messageCount"] == 1
    # the XML form: <type>bookmark</type> with <bookmark><wapurl>
    own = uid("bm")
    message = f"<sender>Friend</sender><text>Look</text><type>bookmark</type><bookmark><wapurl>{url}</wapurl></bookmark>"
    assert (
        status_of(
            post_xml(base, "XML=" + sms_xml(legacy, f'<gsm messageId="{own}">41793026727</gsm>', message))
        )
        == 1
    )
    assert v1_log(base, legacy, own)["smsCount"] == 1
    # the bytes the network is handed are the WAP Push SI (checked against WAP-167 in tests/text)
    assert len(wap_push_si(url, "Look")) <= 140
    # a bookmark needs its URL
    assert get_sms(base, legacy, sender="Friend", SMSText="Look", GSM="41793026727", Type="bookmark") == "-7"
    # datacoding 8: UCS-2, one part of 70 characters unless longSMS
    ucs2 = get_sms(base, legacy, sender="Friend", SMSText="a" * 80, GSM="41793026727", DataCoding="8")
    assert v1_log(base, legacy, ucs2)["smsCount"] == 1
    long_ucs2 = get_sms(
        base, legacy, sender="Friend", SMSText="a" * 80, GSM="41793026727", DataCoding="8", Type="longSMS"
    )
    assert v1_log(base, legacy, long_ucs2)["smsCount"] == 2
    cyrillic = get_sms(base, legacy, sender="Friend", SMSText="ж" * 80, GSM="41793026727", DataCoding="8")
    assert v1_log(base, legacy, cyrillic)["text"] == "ж" * 70  # UCS-2 text stays text, one part
    assert get_sms(base, legacy, sender="Friend", SMSText="hi", GSM="41793026727", DataCoding="3") == "-1"
    flash = get_sms(base, legacy, sender="Friend", SMSText="hi", GSM="41793026727", IsFlash="1")
    assert flash.isdigit()
    assert get_sms(base, legacy, sender="Friend", SMSText="hi", GSM="41793026727", IsFlash="2") == "-1"
    # binary beyond one message is refused, not cut
    assert get_sms(base, legacy, sender="Friend", binary="41" * 141, GSM="41793026727") == "-1"


SEED_SKELETON = """<SMS>
<authentification>
<username>{username}</username>
<password>{password}</password>
</authentification>
<message>
<sender>Friend</sender>
<text>seed example</text>
<flash>0</flash>
<type></type>
<bookmark></bookmark>
<binary></binary>
<datacoding></datacoding>
<esmclass></esmclass>
<srcton></srcton>
<srcnpi></srcnpi>
<destton></destton>
<destnpi></destnpi>
</message>
<recipients>
{recipients}
</recipients>
</SMS>"""


def test_the_seeds_xml_skeletons_as_written(deployment):
    """Seed 004 1.1's two forms with every element present (empty ones meaning the defaults), the
    registered one with the seed's own ñ...ñ quotes around messageId."""
    base = deployment.base_url
    creds = deployment.gateway.create_account(uid("seed"))
    plain = "\n".join(f"<gsm>4179302675{n}</gsm>" for n in range(4))
    doc = SEED_SKELETON.format(username=creds.username, password=creds.password, recipients=plain)
    assert status_of(post_xml(base, "XML=" + doc)) == 4
    ids = [uid("clientmsgID") for _ in range(4)]
    registered = "\n".join(f"<gsm messageId=ñ{i}ñ>4179302676{n}</gsm>" for n, i in enumerate(ids))
    doc = SEED_SKELETON.format(username=creds.username, password=creds.password, recipients=registered)
    assert status_of(post_xml(base, ("XML=" + doc).encode())) == 4
    for n, i in enumerate(ids):
        logged = v1_log(base, creds, i)
        assert logged["to"] == f"4179302676{n}" and logged["text"] == "seed example"
    # registered delivery: the reports come under the client's ids
    pull = {"user": creds.username, "password": creds.password, "messageid": ",".join(ids)}

    def all_delivered() -> bool:
        lines = _lines(httpx.get(base + "/api/dlrpull", params=pull).content)
        return [line["id"] for line in lines] == ids and all(line["status"] == "DELIVERED" for line in lines)

    eventually(all_delivered)


def test_a_destination_the_plan_does_not_cover_is_network_notcovered(deployment):
    """-3 NETWORK_NOTCOVERED: the account's price plan has a price for Switzerland only (no
    catch-all), so a German number is not covered. It is refused on its own line, never charged; the
    other generations see REJECTED_ROUTE_NOT_AVAILABLE."""
    gw, base = deployment.gateway, deployment.base_url
    name, plan = uid("covered"), uid("ch-only")
    creds = gw.create_account(name)
    # through the admin API, which the gateway applies at once (the CLI's change, from another process,
    # within the plan cache's second; meanwhile sends would be priced by the default plan)
    priced = httpx.post(
        f"{base}/admin/1/plans/{plan}/prices", json={"prefix": "41", "price": 0.05}, headers=ADMIN, timeout=30
    )
    assert priced.status_code == 200, priced.text
    assigned = httpx.put(
        f"{base}/admin/1/accounts/{name}/billing", json={"plan": plan}, headers=ADMIN, timeout=30
    )
    assert assigned.status_code == 200, assigned.text
    assert get_sms(base, creds, sender="Friend", SMSText="hi", GSM="4915112345678") == "-3"
    swiss = get_sms(base, creds, sender="Friend", SMSText="hi", GSM="41793026735")
    assert int(swiss) > 0 and v1_log(base, creds, swiss)["price"]["pricePerMessage"] == 0.05
    r = httpx.post(
        base + "/sms/2/text/advanced",
        headers=creds.app,
        json={"messages": [{"destinations": [{"to": "4915112345678"}, {"to": "41793026736"}], "text": "x"}]},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    german, other = r.json()["messages"]
    assert german["status"]["name"] == "REJECTED_ROUTE_NOT_AVAILABLE"
    assert other["status"]["groupName"] == "PENDING"
    log = v1_log(base, creds, german["messageId"])
    assert log["status"]["name"] == "REJECTED_ROUTE_NOT_AVAILABLE" and log["price"]["pricePerMessage"] == 0
    # charged: the two Swiss messages only
    assert balance(base, creds) == pytest.approx(-0.10)
