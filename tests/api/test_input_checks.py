"""Input that used to get a 500, or to be stored or ignored, gets a 4xx in the family's error shape
naming what is wrong (issue 10, items 5 to 12)."""

from __future__ import annotations

import copy
import http.client
import json
import random
import typing
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import logs, uid
from pydantic import BaseModel

from smsgate.api import limits
from smsgate.api.bodies import common, v1, v2, v3
from smsgate.wire import xmlcodec

TO = "41793026727"
ALL_DAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


def _v1_error(r: httpx.Response) -> dict:
    return r.json()["requestError"]["serviceException"]


def _v1_fields(r: httpx.Response) -> set[str]:
    return set(_v1_error(r).get("validationErrors", {}))


def _v3_fields(r: httpx.Response) -> set[str]:
    return {v["property"] for v in r.json()["violations"]}


# --- item 5: null is the same as leaving the field out -------------------------------------------

# The smallest valid body of each model that has required fields; models without any start from {}.
# A new model with required fields fails test_every_model_with_required_fields_has_a_minimal_body.
MINIMAL: dict[type[BaseModel], dict] = {
    common.Destination: {"to": TO},
    common.TimeOfDay: {"hour": 0, "minute": 0},
    common.DeliveryTimeWindow: {"days": ALL_DAYS},
    common.SendingSpeedLimit: {"amount": 100},
    v2.V2TextMessage: {"destinations": [{"to": TO}], "text": "null test"},
    v2.BinaryContent: {"hex": "41"},
    v2.V2BinaryMessage: {"destinations": [{"to": TO}], "binary": {"hex": "41"}},
    v2.V2TextRequest: {"messages": [{"destinations": [{"to": TO}], "text": "null test"}]},
    v2.V2BinaryRequest: {"messages": [{"destinations": [{"to": TO}], "binary": {"hex": "41"}}]},
    v1.V1Message: {"to": TO, "text": "null test"},
    v1.V1MultiRequest: {"messages": [{"to": TO, "text": "null test"}]},
    v3.V3Content: {"text": "null test"},
    v3.V3Validity: {"amount": 5},
    v3.V3Message: {"destinations": [{"to": TO}], "content": {"text": "null test"}},
    v3.V3Request: {"messages": [{"destinations": [{"to": TO}], "content": {"text": "null test"}}]},
}
SEND_MODELS = {
    "/sms/1/text/single": v1.V1Message,
    "/sms/1/text/multi": v1.V1MultiRequest,
    "/sms/1/text/advanced": v2.V2TextRequest,
    "/sms/2/text/advanced": v2.V2TextRequest,
    "/sms/1/binary/advanced": v2.V2BinaryRequest,
    "/sms/2/binary/advanced": v2.V2BinaryRequest,
    "/sms/3/messages": v3.V3Request,
}


def _nested(annotation) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds, and whether in a list: ``list[Destination]`` -> (Destination, True)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        model, _ = _nested(args[0])
        return model, model is not None
    for arg in args:  # Union, Optional, Annotated
        model, in_list = _nested(arg)
        if model is not None:
            return model, in_list
    return None, False


def _with(body: dict, path: list, value) -> dict:
    out = copy.deepcopy(body)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def _without(body: dict, path: list) -> dict:
    out = copy.deepcopy(body)
    target = out
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return out


def null_cases(model: type[BaseModel], body: dict, path: list | None = None):
    """(field path, body with that optional field null, the same body without it) for every optional
    field, nested models included."""
    path = path or []
    for name, field in model.model_fields.items():
        key = field.alias or name
        if not field.is_required():
            with_null = _with(body, path + [key], None)
            yield ".".join(map(str, path + [key])), with_null, _without(with_null, path + [key])
        sub, in_list = _nested(field.annotation)
        if sub is None:
            continue
        sub_body = MINIMAL.get(sub, {})
        if field.is_required():  # already in the minimal body
            sub_path = path + [key, 0] if in_list else path + [key]
            yield from null_cases(sub, body, sub_path)
        else:
            with_sub = _with(body, path + [key], [sub_body] if in_list else sub_body)
            yield from null_cases(sub, with_sub, path + [key, 0] if in_list else path + [key])


def _all_null_cases():
    for endpoint, model in SEND_MODELS.items():
        for field, with_null, without in null_cases(model, MINIMAL[model]):
            yield pytest.param(endpoint, with_null, without, id=f"{endpoint}:{field}")


def test_every_model_with_required_fields_has_a_minimal_body():
    models = {
        v
        for module in (common, v1, v2, v3)
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, common.Model)
    }
    missing = [
        m.__name__
        for m in models
        if any(f.is_required() for f in m.model_fields.values()) and m not in MINIMAL
    ]
    # abstract mixins that no endpoint validates on their own
    assert set(missing) <= {"V2Common"}, missing


def test_null_cases_reach_nested_fields():
    fields = {f for f, _, _ in null_cases(v3.V3Request, MINIMAL[v3.V3Request])}
    assert "messages.0.options.validityPeriod" in fields
    assert "messages.0.options.deliveryTimeWindow.from" in fields
    assert "options.schedule.sendingSpeedLimit.timeUnit" in fields
    assert "messages.0.validityPeriod" in {
        f for f, _, _ in null_cases(v2.V2TextRequest, MINIMAL[v2.V2TextRequest])
    }


@pytest.mark.parametrize("endpoint, with_null, without", list(_all_null_cases()))
def test_null_for_an_optional_field_is_leaving_it_out(sqlite_deployment, endpoint, with_null, without):
    def send(body):
        return httpx.post(
            sqlite_deployment.base_url + endpoint, json=body, headers=sqlite_deployment.alice.app
        )

    null, left_out = send(with_null), send(without)
    assert null.status_code == left_out.status_code, (null.text, left_out.text)
    if null.status_code != 200:  # e.g. deliveryTimeWindow without days: the same refusal either way
        fields = _v3_fields if endpoint.startswith("/sms/3/") else _v1_fields
        assert null.status_code == 400 and fields(null) == fields(left_out), null.text


def test_null_on_preview(sqlite_deployment):
    r = httpx.post(
        sqlite_deployment.base_url + "/sms/1/preview",
        json={"text": "hi", "languageCode": None, "transliteration": None},
        headers=sqlite_deployment.alice.app,
    )
    assert r.status_code == 200, r.text


def test_empty_xml_validity_period_is_absent(sqlite_deployment):
    xml = (
        f"<request><messages><message><destinations><destination><to>{TO}</to></destination></destinations>"
        "<text>x</text><validityPeriod></validityPeriod></message></messages></request>"
    )
    r = httpx.post(
        sqlite_deployment.base_url + "/sms/2/text/advanced",
        content=xml,
        headers={**sqlite_deployment.alice.app, "Content-Type": "application/xml"},
    )
    assert r.status_code == 200, r.text


# --- item 6: NUL is refused, naming the field, on both backends ------------------------------------

MESSAGE = {"destinations": [{"to": TO}], "text": "x"}


@pytest.mark.parametrize(
    "endpoint, body, field",
    [
        ("/sms/2/text/advanced", {"messages": [{**MESSAGE, "text": "a\x00b"}]}, "messages[0].text"),
        (
            "/sms/2/text/advanced",
            {"messages": [{**MESSAGE, "callbackData": "\x00"}]},
            "messages[0].callbackData",
        ),
        (
            "/sms/2/text/advanced",
            {"messages": [{**MESSAGE, "destinations": [{"to": TO, "messageId": "m\x00"}]}]},
            "messages[0].destinations[0].messageId",
        ),
        ("/sms/1/text/single", {"to": TO, "text": "a\x00"}, "text"),
        ("/sms/1/preview", {"text": "a\x00"}, "text"),
        ("/sms/2/text/advanced", {"messages": [{**MESSAGE, "from": "Info\x00"}]}, "messages[0].from"),
    ],
)
def test_nul_in_a_body_is_400_naming_the_field(deployment, endpoint, body, field):
    bulk = uid("nul")
    r = httpx.post(
        deployment.base_url + endpoint, json={"bulkId": bulk, **body}, headers=deployment.alice.app
    )
    assert r.status_code == 400, r.text
    assert field in _v1_fields(r) and "NUL" in _v1_error(r)["text"]
    assert logs(deployment.base_url, deployment.alice.app, bulkId=bulk) == []


def test_nul_in_a_v3_body(deployment):
    bulk = uid("nul")
    body = {
        "messages": [
            {"destinations": [{"to": TO}], "content": {"text": "x"}, "webhooks": {"callbackData": "\x00"}}
        ],
        "options": {"schedule": {"bulkId": bulk}},
    }
    r = httpx.post(deployment.base_url + "/sms/3/messages", json=body, headers=deployment.alice.app)
    assert r.status_code == 400, r.text
    assert _v3_fields(r) == {"messages[0].webhooks.callbackData"}
    assert logs(deployment.base_url, deployment.alice.app, bulkId=bulk) == []


@pytest.mark.parametrize(
    "path, param",
    [
        ("/sms/1/logs?bulkId=a%00b", "bulkId"),
        ("/sms/2/logs?messageId=%00", "messageId"),
        ("/sms/3/logs?sender=%00", "sender"),
        ("/sms/1/reports?messageId=a%00", "messageId"),
        ("/sms/3/reports?bulkId=a%00", "bulkId"),
        ("/sms/1/bulks?bulkId=a%00", "bulkId"),
        ("/sms/1/bulks/status?bulkId=a%00", "bulkId"),
        ("/sms/1/inbox/reports?limit=%00", "limit"),
        ("/sms/1/text/query?to=41793026727&text=a%00", "text"),
        ("/sms/3/text/query?to=41793026727&text=a%00", "text"),
    ],
)
def test_nul_in_a_query_is_400_naming_the_parameter(deployment, path, param):
    status, _, body = _raw_get(deployment.base_url, path, deployment.alice.app)
    assert status == 400, body
    doc = json.loads(body)
    if path.startswith("/sms/3/"):
        assert {v["property"] for v in doc["violations"]} == {param}, doc
    else:
        assert set(doc["requestError"]["serviceException"]["validationErrors"]) == {param}, doc


def test_nul_in_credentials_is_401(deployment):
    import base64

    basic = base64.b64encode(b"alice\x00:pw").decode()
    r = httpx.get(deployment.base_url + "/sms/1/reports", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 401, r.text
    # a control character in a header is the HTTP parser's refusal, in the family's shape
    r = httpx.get(deployment.base_url + "/sms/1/reports", headers={"Authorization": "App key\x01"})
    assert r.status_code == 400 and _v1_error(r)["messageId"] == "BAD_REQUEST", r.text
    r = httpx.post(deployment.base_url + "/auth/1/session", json={"username": "alice\x00", "password": "x"})
    assert r.status_code == 400 and "username" in _v1_fields(r), r.text


# --- item 7: deeply nested XML ---------------------------------------------------------------------

XML_ENDPOINTS = [
    ("POST", "/sms/1/text/single", "request"),
    ("POST", "/sms/1/text/multi", "request"),
    ("POST", "/sms/1/text/advanced", "SMSAdvancedTextualRequest"),
    ("POST", "/sms/2/text/advanced", "SMSAdvancedTextualRequest"),
    ("POST", "/sms/1/binary/advanced", "SMSAdvancedBinaryRequest"),
    ("POST", "/sms/2/binary/advanced", "SMSAdvancedBinaryRequest"),
    ("POST", "/sms/3/messages", "SmsRequestEnvelope"),
    ("POST", "/sms/1/preview", "PreviewRequest"),
    ("PUT", "/sms/1/bulks?bulkId=b1", "BulkRequest"),
    ("PUT", "/sms/1/bulks/status?bulkId=b1", "UpdateStatusRequest"),
    ("POST", "/auth/1/session", "request"),
]


@pytest.mark.parametrize("method, path, root", XML_ENDPOINTS, ids=[p for _, p, _ in XML_ENDPOINTS])
def test_deeply_nested_xml_is_400(sqlite_deployment, method, path, root):
    deep = f"<{root}>" + "<a>" * 1000 + "x" + "</a>" * 1000 + f"</{root}>"
    r = httpx.request(
        method,
        sqlite_deployment.base_url + path,
        content=deep.encode(),
        headers={**sqlite_deployment.alice.app, "Content-Type": "application/xml"},
    )
    assert r.status_code == 400, r.text
    text = r.json()["violations"][0]["violation"] if path.startswith("/sms/3/") else _v1_error(r)["text"]
    assert f"deeper than {xmlcodec.MAX_XML_DEPTH}" in text, r.text


def test_xml_depth_limit_is_exact():
    def nested(levels: int) -> bytes:
        return ("<r>" + "<a>" * (levels - 1) + "x" + "</a>" * (levels - 1) + "</r>").encode()

    assert xmlcodec.parse(nested(xmlcodec.MAX_XML_DEPTH))
    with pytest.raises(xmlcodec.XmlError, match="deeper"):
        xmlcodec.parse(nested(xmlcodec.MAX_XML_DEPTH + 1))


# --- item 8: preview with values of the wrong type ---------------------------------------------------


@pytest.mark.parametrize("field", ["languageCode", "transliteration"])
@pytest.mark.parametrize("value", [5, True, ["TR"], {"code": "TR"}])
def test_preview_non_string_options_are_400(sqlite_deployment, field, value):
    r = httpx.post(
        sqlite_deployment.base_url + "/sms/1/preview",
        json={"text": "hi", field: value},
        headers=sqlite_deployment.alice.app,
    )
    assert r.status_code == 400, r.text
    assert _v1_fields(r) == {field}


# --- item 9: XML root element --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/sms/1/text/advanced", "/sms/2/text/advanced"])
def test_wrong_xml_root_is_400_and_nothing_sent(deployment, path):
    bulk = uid("root")
    inner = (
        f"<bulkId>{bulk}</bulkId><messages><message><destinations><destination><to>{TO}</to></destination>"
        "</destinations><text>x</text></message></messages>"
    )
    headers = {**deployment.alice.app, "Content-Type": "application/xml"}
    r = httpx.post(deployment.base_url + path, content=f"<wrong>{inner}</wrong>", headers=headers)
    assert r.status_code == 400, r.text
    assert "<SMSAdvancedTextualRequest>" in _v1_error(r)["text"]
    assert logs(deployment.base_url, deployment.alice.app, bulkId=bulk) == []
    for root in ("SMSAdvancedTextualRequest", "request"):
        r = httpx.post(deployment.base_url + path, content=f"<{root}>{inner}</{root}>", headers=headers)
        assert r.status_code == 200, r.text


# --- item 10: request-line limits and malformed filters ------------------------------------------------


def _raw_get(base_url: str, target: str, headers: dict) -> tuple[int, str, bytes]:
    """A GET with the request target exactly as given (httpx would re-encode it)."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("GET", target, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheader("content-type", ""), r.read()
    finally:
        conn.close()


@pytest.mark.parametrize("size", [40_000, 100_000])
@pytest.mark.parametrize("path", ["/sms/1/logs", "/sms/3/logs"])
def test_overlong_url_is_414_in_the_family_shape(sqlite_deployment, path, size):
    status, ctype, body = _raw_get(
        sqlite_deployment.base_url, f"{path}?bulkId={'a' * size}", sqlite_deployment.alice.app
    )
    assert status == 414 and ctype.startswith("application/json"), body[:200]
    doc = json.loads(body)
    if path.startswith("/sms/3/"):
        assert doc["errorCode"] == "E414"
    else:
        assert str(limits.MAX_URL_BYTES) in doc["requestError"]["serviceException"]["text"]


@pytest.mark.parametrize("count", [limits.MAX_QUERY_PARAMS + 1, 10_000])
def test_too_many_query_parameters_is_4xx_in_the_family_shape(sqlite_deployment, count):
    query = "&".join(f"p{i}=1" for i in range(count))
    status, ctype, body = _raw_get(
        sqlite_deployment.base_url, f"/sms/1/logs?{query}", sqlite_deployment.alice.app
    )
    assert status in (400, 414) and ctype.startswith("application/json"), body[:200]
    assert json.loads(body)["requestError"]["serviceException"]["messageId"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "path, param",
    [
        ("/sms/1/reports?bulkId=%FF", "bulkId"),
        ("/sms/2/reports?messageId=%FFx", "messageId"),
        ("/sms/3/reports?bulkId=%C3", "bulkId"),
        ("/sms/1/logs?from=%FF", "from"),
        ("/sms/2/logs?to=%FE", "to"),
        ("/sms/3/logs?destination=%FF", "destination"),
        ("/sms/1/inbox/reports?limit=%FF", "limit"),
        ("/sms/1/bulks?bulkId=%FF", "bulkId"),
        ("/sms/1/bulks/status?bulkId=%FF", "bulkId"),
        ("/sms/3/logs?cursor=" + "OTk5OTk5OTk5OTk5OTk5OTk5OTk6MQ==", "cursor"),  # 99...9:1, beyond an int64
        ("/sms/3/logs?cursor=not-a-cursor", "cursor"),
        ("/sms/3/logs?useCursor=maybe", "useCursor"),
        ("/sms/1/logs?sentSince=yesterday", "sentSince"),
        ("/sms/3/logs?sentUntil=2025-13-45", "sentUntil"),
        ("/sms/1/logs?mcc=abc", "mcc"),
        ("/sms/3/logs?mcc=219&mnc=1", "mnc"),
        ("/sms/1/logs?limit=0", "limit"),
        ("/sms/3/reports?limit=many", "limit"),
        ("/sms/1/inbox/reports?limit=1001", "limit"),
        ("/sms/1/logs?entityId=e1", "entityId"),
        ("/sms/3/reports?campaignReferenceId=c1", "campaignReferenceId"),
        ("/sms/1/inbox/reports?applicationId=a1", "applicationId"),
    ],
)
def test_malformed_filters_are_400_naming_the_parameter(sqlite_deployment, path, param):
    status, _, body = _raw_get(sqlite_deployment.base_url, path, sqlite_deployment.alice.app)
    assert status == 400, body
    doc = json.loads(body)
    if path.startswith("/sms/3/"):
        assert param in {v["property"] for v in doc["violations"]}, doc
    else:
        assert param in doc["requestError"]["serviceException"]["validationErrors"], doc


# --- item 11: the query send names `to` -----------------------------------------------------------------


def test_query_send_without_to_names_to_in_the_text(sqlite_deployment):
    alice = sqlite_deployment.alice
    r = httpx.get(
        sqlite_deployment.base_url + "/sms/1/text/query",
        params={"username": alice.username, "password": alice.password, "text": "hi"},
    )
    assert r.status_code == 400
    error = _v1_error(r)
    assert error["text"].startswith("to:") and "destinations" not in error["text"]
    assert set(error["validationErrors"]) == {"to"}


# --- item 12: options smsgate does not carry out --------------------------------------------------------

V2 = {"messages": [MESSAGE]}
V3 = {"messages": [{"destinations": [{"to": TO}], "content": {"text": "x"}}]}
V2_BINARY = {"messages": [{"destinations": [{"to": TO}], "binary": {"hex": "41"}}]}


@pytest.mark.parametrize(
    "endpoint, body, field",
    [
        ("/sms/2/binary/advanced", {**V2_BINARY, "urlOptions": {"shortenUrl": True}}, "urlOptions"),
        ("/sms/2/binary/advanced", {**V2_BINARY, "tracking": {"track": "SMS"}}, "tracking"),
        ("/sms/2/text/advanced", {"messages": [{**MESSAGE, "entityId": "e"}]}, "messages[0].entityId"),
        (
            "/sms/2/text/advanced",
            {"messages": [{**MESSAGE, "campaignReferenceId": "c"}]},
            "messages[0].campaignReferenceId",
        ),
        (
            "/sms/2/text/advanced",
            {"messages": [{**MESSAGE, "regional": {"indiaDlt": {"principalEntityId": "p"}}}]},
            "messages[0].regional",
        ),
        (
            "/sms/2/text/advanced",
            {"messages": [{**MESSAGE, "destinations": [{"to": TO, "networkId": 13}]}]},
            "messages[0].destinations[0].networkId",
        ),
    ],
)
def test_unsupported_v2_options_are_400(deployment, endpoint, body, field):
    bulk = uid("unsup")
    r = httpx.post(
        deployment.base_url + endpoint, json={"bulkId": bulk, **body}, headers=deployment.alice.app
    )
    assert r.status_code == 400, r.text
    assert field in _v1_fields(r) and "not supported yet" in _v1_error(r)["text"]
    assert logs(deployment.base_url, deployment.alice.app, bulkId=bulk) == []


@pytest.mark.parametrize(
    "options",
    [{"tracking": {"shortenUrl": True}}, {"conversionTracking": {"useConversionTracking": True}}],
)
def test_v3_tracking_options_are_carried_out(sqlite_deployment, options):
    # issue 15: no longer refused (tests/api/test_tracking.py follows them through)
    r = httpx.post(
        sqlite_deployment.base_url + "/sms/3/messages",
        json={**V3, "options": options},
        headers=sqlite_deployment.alice.app,
    )
    assert r.status_code == 200, r.text


def test_unsupported_v3_message_options_are_400(sqlite_deployment):
    for options, field in [
        ({"platform": {"entityId": "e"}}, "messages[0].options.platform"),
        ({"campaignReferenceId": "c"}, "messages[0].options.campaignReferenceId"),
        ({"regional": {"turkeyIys": {"brandCode": 7}}}, "messages[0].options.regional"),
    ]:
        body = {"messages": [{**V3["messages"][0], "options": options}]}
        r = httpx.post(
            sqlite_deployment.base_url + "/sms/3/messages", json=body, headers=sqlite_deployment.alice.app
        )
        assert r.status_code == 400, r.text
        assert _v3_fields(r) == {field}


@pytest.mark.parametrize(
    "body",
    [
        {**V2, "urlOptions": {"shortenUrl": False, "trackClicks": False}},
        {**V2, "urlOptions": None, "tracking": None},
        {**V2, "urlOptions": {}},
        {"messages": [{**MESSAGE, "regional": None, "entityId": None}]},
    ],
)
def test_options_that_ask_for_nothing_pass(sqlite_deployment, body):
    r = httpx.post(
        sqlite_deployment.base_url + "/sms/2/text/advanced", json=body, headers=sqlite_deployment.alice.app
    )
    assert r.status_code == 200, r.text


def test_v3_tracking_off_passes(sqlite_deployment):
    body = {
        **V3,
        "options": {
            "tracking": {"shortenUrl": False},
            "conversionTracking": {"useConversionTracking": False},
        },
    }
    r = httpx.post(
        sqlite_deployment.base_url + "/sms/3/messages", json=body, headers=sqlite_deployment.alice.app
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "path, param",
    [
        ("/sms/1/text/query", "indiaDltPrincipalEntityId"),
        ("/sms/3/text/query", "turkeyIysBrandCode"),
    ],
)
def test_unsupported_query_send_options_are_400(sqlite_deployment, path, param):
    alice = sqlite_deployment.alice
    r = httpx.get(
        sqlite_deployment.base_url + path,
        params={"username": alice.username, "password": alice.password, "to": TO, "text": "x", param: "SMS"},
    )
    assert r.status_code == 400, r.text
    fields = _v3_fields(r) if path.startswith("/sms/3/") else _v1_fields(r)
    assert fields == {param}


def test_query_send_flags_are_checked(sqlite_deployment):
    alice = sqlite_deployment.alice
    params = {"username": alice.username, "password": alice.password, "to": TO, "text": "x"}
    r = httpx.get(sqlite_deployment.base_url + "/sms/1/text/query", params={**params, "flash": "maybe"})
    assert r.status_code == 400 and set(_v1_fields(r)) == {"flash"}, r.text
    r = httpx.get(sqlite_deployment.base_url + "/sms/1/text/query", params={**params, "flash": "TRUE"})
    assert r.status_code == 200, r.text


# --- the admin API: null is absent, NUL is refused ------------------------------------------------------


def test_admin_null_optional_fields_are_absent(deployment):
    from live import ADMIN_TOKEN

    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    number = f"4179{random.randrange(10**6, 10**7)}"
    body = {"number": number, "account": "alice", "keywords": None, "action": None, "forwardUrl": None}
    r = httpx.post(deployment.base_url + "/admin/1/numbers", headers=admin, json={**body, "price": None})
    assert r.status_code == 201, r.text
    r = httpx.post(
        deployment.base_url + "/admin/1/simulate/inbound",
        headers=admin,
        json={"from": "38598123123", "to": number, "text": "hi", "binary": None, "dataCoding": None},
    )
    assert r.status_code == 200, r.text
    r = httpx.delete(deployment.base_url + "/admin/1/numbers/4179%00", headers=admin)
    assert r.status_code == 400 and r.json()["errorCode"] == "E400", r.text
