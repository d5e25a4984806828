"""API key scopes, table-driven from the app's routes and the decisions of domain/scopes.py (Infobip's
OpenAPI x-scopes, smsgate's own table for the rest): for every served operation, a key that lacks
its scopes gets 403 in the family's error shape and a key holding any one of them does not. A route
with no decision fails here, so each new route must decide."""

from __future__ import annotations

import base64
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from live import ADMIN

from smsgate.api.app import ROUTES
from smsgate.api.endpoint import UNDECIDED
from smsgate.domain.scopes import KNOWN_SCOPES, Access, requirement

SERVED = sorted({(m, r.path) for r in ROUTES for m in (r.methods or ()) if m != "HEAD"})


def _url(base_url: str, path: str) -> str:
    return base_url + re.sub(r"\{[^}]+\}", "41790000001", path)  # any value for path parameters


def _call(base_url: str, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    # no body, no query: past the scope check every operation refuses or answers harmlessly
    return httpx.request(method, _url(base_url, path), headers=headers, timeout=30)


def _is_forbidden_in_its_shape(path: str, r: httpx.Response) -> bool:
    if r.status_code != 403:
        return False
    if r.headers["content-type"].startswith("application/xml"):  # /sms/1/text/query.xml
        return "<messageId>FORBIDDEN</messageId>" in r.text
    body = r.json()
    if path.startswith("/sms/3/"):
        return body["errorCode"] == "E403" and set(body) >= {"description", "action", "violations"}
    if path.startswith(("/sms/1/", "/sms/2/")):
        return body["requestError"]["serviceException"]["messageId"] == "FORBIDDEN"
    # newer families: either shape, but one of them
    return body.get("errorCode") == "E403" or (
        body.get("requestError", {}).get("serviceException", {}).get("messageId") == "FORBIDDEN"
    )


@pytest.fixture(scope="module")
def scoped(deployment) -> dict[str, dict[str, str]]:
    """An account of its own (reports it hands out are nobody else's), with one key per known scope
    holding only that scope; plus "*": its default key, which holds every scope."""
    gw = deployment.gateway
    creds = gw.create_account("scopes")

    def key(scope: str) -> tuple[str, str]:
        return scope, gw.cli("apikey", "create", "scopes", "--scope", scope).stdout.strip()

    with ThreadPoolExecutor(4) as pool:
        keys = dict(pool.map(key, sorted(KNOWN_SCOPES)))
    headers = {scope: {"Authorization": f"App {k}"} for scope, k in keys.items()}
    headers["*"] = creds.app
    return headers


def test_every_served_operation_has_a_scope_decision() -> None:
    undecided = [f"{m} {p}" for m, p in SERVED if requirement(m, p) is None]
    assert not undecided, f"decide their scopes in smsgate/domain/scopes.py OWN: {undecided}"


@pytest.mark.parametrize(("method", "path"), SERVED, ids=[f"{m} {p}" for m, p in SERVED])
def test_operation_needs_one_of_its_scopes(deployment, scoped, method: str, path: str) -> None:
    needed = requirement(method, path)
    assert needed is not None, f"{method} {path}: no scope decision (smsgate/domain/scopes.py OWN)"
    base = deployment.base_url
    if needed.access is Access.SCOPED:
        assert needed.scopes, f"{method} {path}: a scoped operation names its scopes"
        for scope in sorted(KNOWN_SCOPES):
            r = _call(base, method, path, scoped[scope])
            if scope in needed.scopes:
                assert r.status_code not in (401, 403), (scope, r.status_code, r.text)
            else:
                assert _is_forbidden_in_its_shape(path, r), (scope, r.status_code, r.text)
        r = _call(base, method, path, scoped["*"])  # a key made without --scope has every scope
        assert r.status_code not in (401, 403), r.text
    elif needed.access is Access.SIGNED_IN:
        narrowest = scoped[min(KNOWN_SCOPES)]
        assert _call(base, method, path, narrowest).status_code not in (401, 403)
        assert _call(base, method, path, {}).status_code == 401
    elif needed.access is Access.PUBLIC:
        assert _call(base, method, path, {}).status_code not in (401, 403)
    else:  # the admin token, never an account's key, not even one with every scope
        assert needed.access is Access.ADMIN
        assert _call(base, method, path, scoped["*"]).status_code == 401
        assert _call(base, method, path, ADMIN).status_code not in (401, 403)


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_a_narrow_key_and_the_same_account_with_every_scope_elsewhere(deployment, scoped) -> None:
    base, logs_only = deployment.base_url, scoped["sms:logs:read"]
    body = {"messages": [{"from": "Shop", "destinations": [{"to": "41793026727"}], "text": "hi"}]}
    assert httpx.get(base + "/sms/3/logs", headers=logs_only).status_code == 200
    r = httpx.post(base + "/sms/2/text/advanced", json=body, headers=logs_only)
    assert r.status_code == 403
    text = r.json()["requestError"]["serviceException"]["text"]
    assert "message:send, sms:manage, sms:message:send" in text  # names what would do
    r = httpx.post(base + "/sms/3/messages", json=body, headers=logs_only)
    assert r.status_code == 403 and "sms:message:send" in r.json()["description"]
    # Basic credentials and IBSSO sessions have every scope
    alice = deployment.alice
    assert httpx.post(
        base + "/sms/2/text/advanced", json=body, headers=_basic(alice.username, alice.password)
    )
    token = httpx.post(
        base + "/auth/1/session", json={"username": alice.username, "password": alice.password}
    ).json()["token"]
    sso = {"Authorization": f"IBSSO {token}"}
    assert httpx.post(base + "/sms/2/text/advanced", json=body, headers=sso).status_code == 200
    assert httpx.get(base + "/sms/1/inbox/reports", headers=sso).status_code == 200


def test_apikey_list_shows_scopes_and_unknown_scopes_are_refused(deployment, scoped) -> None:
    gw = deployment.gateway
    key = gw.cli(
        "apikey", "create", "scopes", "--scope", "sms:logs:read", "--scope", "sms:manage"
    ).stdout.strip()
    listed = gw.cli("apikey", "list", "scopes").stdout
    row = next(line for line in listed.splitlines() if key[:8] in line)
    assert "sms:logs:read" in row and "scopes" in row
    assert "sms:manage" in listed  # the second scope (may wrap onto the next line)
    default_key = scoped["*"]["Authorization"].removeprefix("App ")
    assert "all" in next(line for line in listed.splitlines() if default_key[:8] in line)
    bad = gw.cli("apikey", "create", "scopes", "--scope", "sms:mesage:send", check=False)
    assert bad.returncode == 2 and "unknown scope 'sms:mesage:send'" in bad.stderr


def test_an_undecided_route_is_closed_to_narrow_keys() -> None:
    """What a route nothing decides gets until it is given a decision (the tests above fail meanwhile)."""
    assert not UNDECIDED.allows(frozenset(KNOWN_SCOPES))
    assert UNDECIDED.allows(None)  # credentials with every scope: Basic, IBSSO, a key without --scope
