"""Every auth scheme, each error shape for a stranger, and sessions."""

from __future__ import annotations

import base64

import httpx
import pytest
from helpers import send_v2, uid
from live import eventually


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_health_needs_no_auth(deployment):
    r = httpx.get(deployment.base_url + "/health")
    assert r.status_code == 200 and r.json()["status"] == "UP"


def test_app_key_and_basic_auth_send(deployment):
    a = deployment.alice
    msg = [{"from": "InfoSMS", "destinations": [{"to": "41793026727"}], "text": "hi"}]
    assert send_v2(deployment.base_url, a.app, msg).status_code == 200
    assert send_v2(deployment.base_url, _basic(a.username, a.password), msg).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "App not-a-key"},
        {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()},
        {"Authorization": "Basic !!!notbase64"},
        {"Authorization": "IBSSO not-a-token"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Digest abc"},
    ],
)
def test_wrong_credentials_get_401_in_v1_shape(deployment, headers):
    r = httpx.get(deployment.base_url + "/sms/1/logs", headers=headers)
    assert r.status_code == 401
    exc = r.json()["requestError"]["serviceException"]
    assert exc["messageId"] == "UNAUTHORIZED" and exc["text"]


def test_wrong_credentials_get_401_in_v3_shape(deployment):
    r = httpx.get(deployment.base_url + "/sms/3/logs", headers={"Authorization": "App nope"})
    assert r.status_code == 401
    body = r.json()
    assert set(body) == {"errorCode", "description", "action", "violations", "resources"}
    assert body["errorCode"] == "E401" and body["resources"][0]["url"].startswith("https://")


def test_v1_error_in_xml_when_asked(deployment):
    r = httpx.get(deployment.base_url + "/sms/1/reports", headers={"Accept": "application/xml"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/xml")
    assert "<messageId>UNAUTHORIZED</messageId>" in r.text


def test_ibsso_session_lifecycle(deployment):
    a = deployment.alice
    r = httpx.post(
        deployment.base_url + "/auth/1/session", json={"username": a.username, "password": a.password}
    )
    assert r.status_code == 200
    token = r.json()["token"]
    for scheme in ("IBSSO", "Bearer"):
        assert (
            httpx.get(
                deployment.base_url + "/sms/1/reports", headers={"Authorization": f"{scheme} {token}"}
            ).status_code
            == 200
        )
    r = httpx.delete(deployment.base_url + "/auth/1/session", headers={"Authorization": f"IBSSO {token}"})
    assert r.status_code == 204
    assert (
        httpx.get(
            deployment.base_url + "/sms/1/reports", headers={"Authorization": f"IBSSO {token}"}
        ).status_code
        == 401
    )


def test_session_with_wrong_password_is_401(deployment):
    r = httpx.post(deployment.base_url + "/auth/1/session", json={"username": "alice", "password": "nope"})
    assert (
        r.status_code == 401 and r.json()["requestError"]["serviceException"]["messageId"] == "UNAUTHORIZED"
    )


def test_session_without_password_names_the_field(deployment):
    r = httpx.post(deployment.base_url + "/auth/1/session", json={"username": "alice"})
    assert r.status_code == 400
    assert "password" in r.json()["requestError"]["serviceException"]["validationErrors"]


def test_query_send_authenticates_with_query_credentials(deployment):
    a = deployment.alice
    params = {"username": a.username, "password": a.password, "to": "41793026727", "text": "q"}
    r = httpx.get(deployment.base_url + "/sms/1/text/query", params=params)
    assert r.status_code == 200 and r.json()["messages"][0]["to"] == "41793026727"
    params["password"] = "wrong"
    assert httpx.get(deployment.base_url + "/sms/1/text/query", params=params).status_code == 401


def test_query_credentials_are_not_accepted_elsewhere(deployment):
    a = deployment.alice
    r = httpx.get(
        deployment.base_url + "/sms/1/logs", params={"username": a.username, "password": a.password}
    )
    assert r.status_code == 401


def test_revoked_key_and_disabled_account(deployment):
    gw = deployment.gateway
    name = uid("carol")
    creds = gw.create_account(name)
    url = deployment.base_url + "/sms/1/reports"
    assert httpx.get(url, headers=creds.app).status_code == 200
    second = gw.cli("apikey", "create", name).stdout.strip()
    assert httpx.get(url, headers={"Authorization": f"App {second}"}).status_code == 200

    # the gateway remembers a key for a second: changes made by the CLI bite within that
    def status(headers):
        return lambda: httpx.get(url, headers=headers).status_code

    gw.cli("apikey", "revoke", second)
    eventually(lambda: status({"Authorization": f"App {second}"})() == 401, timeout=3)
    assert status(creds.app)() == 200
    gw.cli("account", "disable", name)
    eventually(lambda: status(creds.app)() == 401, timeout=3)
    gw.cli("account", "enable", name)
    eventually(lambda: status(creds.app)() == 200, timeout=3)
