"""The scope decisions: the generated table is what Infobip's OpenAPI documents say, smsgate's own
table only covers what they do not list, and a key needs one of an operation's scopes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from smsgate.domain import scopes
from smsgate.domain.scope_data import DOCUMENTED
from smsgate.domain.scopes import OWN, Access, Requirement, requirement

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_scopes", ROOT / "scripts/gen_scopes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_table_matches_the_openapi_documents() -> None:
    """Rerun scripts/gen_scopes.py when a document in docs/reference/ changes."""
    assert _generator().documented() == DOCUMENTED
    assert DOCUMENTED[("GET", "/sms/3/logs")] == ("sms:logs:read", "sms:manage")
    assert ("POST", "/number/1/query") in DOCUMENTED  # documented, served or not


def test_own_table_covers_only_what_the_documents_do_not_list() -> None:
    assert not set(OWN) & set(DOCUMENTED)
    for key, own in OWN.items():
        assert own.same_as is None or own.same_as in DOCUMENTED, key
        assert own.access is not Access.SCOPED or own.same_as or own.scopes, key


def test_requirements() -> None:
    send, twin = requirement("POST", "/sms/1/text/single"), requirement("POST", "/sms/2/text/advanced")
    assert send is not None and twin is not None and send.access is Access.SCOPED
    assert send.scopes == twin.scopes == frozenset(DOCUMENTED[("POST", "/sms/2/text/advanced")])
    assert requirement("HEAD", "/sms/3/logs") == requirement("GET", "/sms/3/logs")
    assert requirement("get", "/sms/3/logs") == requirement("GET", "/sms/3/logs")
    assert requirement("DELETE", "/admin/1/anything/new") == Requirement(
        Access.ADMIN, why=scopes.ADMIN_REASON
    )
    assert requirement("GET", "/sms/9/unknown") is None
    assert requirement("GET", "/account/1/balance") is not None


def test_a_key_needs_one_of_the_scopes() -> None:
    logs = requirement("GET", "/sms/3/logs")
    assert logs is not None
    assert logs.allows(frozenset({"sms:logs:read"})) and logs.allows(frozenset({"sms:manage", "x"}))
    assert not logs.allows(frozenset({"sms:message:send"}))
    assert logs.allows(None)  # every scope: a key made without --scope, Basic, IBSSO
    health = requirement("GET", "/health")
    assert health is not None and health.allows(frozenset({"sms:message:send"}))


def test_known_scopes_and_unknown_names() -> None:
    assert {"sms:message:send", "sms:logs:read", "number-lookup:send"} <= scopes.KNOWN_SCOPES
    assert scopes.unknown_scopes(["sms:logs:read", "sms:mesage:send"]) == ["sms:mesage:send"]
    assert scopes.format_scopes(None) == "all"
    assert scopes.format_scopes(frozenset({"b", "a"})) == "a, b"
