"""The OpenAPI document describes the endpoints as served."""

import json
import re

import httpx
from helpers import send_v2

from smsgate.api.app import ROUTES

FILTERED = ["/sms/1/logs", "/sms/2/logs", "/sms/3/logs", "/sms/1/reports", "/sms/2/reports", "/sms/3/reports"]


def _doc(deployment) -> dict:
    r = httpx.get(deployment.base_url + "/openapi.json")
    assert r.status_code == 200
    return r.json()


def test_openapi_lists_every_served_endpoint(deployment):
    doc = _doc(deployment)
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    for route in ROUTES:
        if route.path == "/openapi.json":
            continue
        for method in route.methods - {"HEAD"}:
            assert (route.path, method.lower()) in documented, route.path
    # and nothing it does not serve
    served = {(r.path, m.lower()) for r in ROUTES for m in r.methods}
    assert documented <= served


def test_query_xml_is_documented_as_xml(sqlite_deployment):
    op = _doc(sqlite_deployment)["paths"]["/sms/1/text/query.xml"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"application/xml"}


def test_filter_checks_are_documented(sqlite_deployment):
    doc = _doc(sqlite_deployment)
    for path in [*FILTERED, "/sms/1/inbox/reports"]:
        op = doc["paths"][path]["get"]
        bad = op["responses"]["400"]
        assert "cursor" in bad["description"] and "limit" in bad["description"], path
        schema = bad["content"]["application/json"]["schema"]["$ref"]
        assert schema.endswith("ApiError" if path.startswith("/sms/3/") else "ApiException"), path
        assert "414" in op["responses"]
        limit = next(p for p in op["parameters"] if p["name"] == "limit")
        assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000), path
        entity = next(p for p in op["parameters"] if p["name"] == "entityId")
        assert "Not supported yet" in entity["description"]


def test_dates_are_described_as_served(sqlite_deployment):
    doc = _doc(sqlite_deployment)
    assert '"date-time"' not in json.dumps(doc)  # the served form (+0000) is not RFC 3339
    since = next(p for p in doc["paths"]["/sms/1/logs"]["get"]["parameters"] if p["name"] == "sentSince")
    pattern = re.compile(since["schema"]["pattern"])
    # every form the gateway accepts, and the one it serves, match the documented pattern
    for value in (
        "2025-01-02T03:04:05.000+0000",
        "2025-01-02T03:04:05+00:00",
        "2025-01-02T03:04:05Z",
        "2025-01-02",
    ):
        assert pattern.match(value), value
    deployment = sqlite_deployment
    r = send_v2(
        deployment.base_url, deployment.alice.app, [{"destinations": [{"to": "41793026727"}], "text": "x"}]
    )
    message_id = r.json()["messages"][0]["messageId"]
    log = httpx.get(
        deployment.base_url + "/sms/1/logs", params={"messageId": message_id}, headers=deployment.alice.app
    ).json()["results"][0]
    assert pattern.match(log["sentAt"]), log["sentAt"]
