"""API key scopes: which scope an operation needs, decided by method and path template.

The decision comes, in this order, from:

1. ``OWN``: smsgate's own choices for the operations Infobip's OpenAPI documents do not list (the v1
   forms of documented sends, v2 reports and logs, the balance, sessions), each either the scopes of a
   documented twin (``same_as``) or scopes chosen here;
2. ``scope_data.DOCUMENTED``: the ``x-scopes`` of every operation the documents list, generated from
   them (``scripts/gen_scopes.py``), so an endpoint added later that Infobip documents needs no entry;
3. ``/admin/...``: the operator's API, behind the admin token, never an account's key.

Anything else has no decision: ``requirement`` returns None, the app lets only credentials with every
scope through (fail closed), and tests/api/test_scopes.py fails until the route is given one.

A key needs ONE of the scopes listed for an operation. A key made without scopes has every scope (as
Infobip's default key); Basic credentials and IBSSO sessions too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .scope_data import DOCUMENTED


class Access(Enum):
    SCOPED = "scoped"  # an account's credentials holding one of ``scopes``
    SIGNED_IN = "signed in"  # an account's credentials, whatever their scopes
    PUBLIC = "public"  # no credentials at all
    ADMIN = "admin"  # the admin token (SMSGATE_ADMIN_TOKEN), not an account's credentials


@dataclass(frozen=True, slots=True)
class Requirement:
    access: Access
    scopes: frozenset[str] = frozenset()  # SCOPED: any one of these
    why: str = ""  # where the decision comes from, for the docs and error messages

    def allows(self, held: frozenset[str] | None) -> bool:
        """Whether credentials holding ``held`` (None: every scope) may call the operation."""
        if self.access is not Access.SCOPED or held is None:
            return True
        return not held.isdisjoint(self.scopes)


@dataclass(frozen=True, slots=True)
class Own:
    """One of smsgate's decisions: ``same_as`` a documented operation, or ``scopes`` with ``access``."""

    access: Access = Access.SCOPED
    scopes: tuple[str, ...] = ()
    same_as: tuple[str, str] | None = None
    why: str = ""


_LEGACY_REASON = "the legacy API: username and password in the request, not an API key"

# The operations smsgate serves that Infobip's documents do not list, and what each needs.
OWN: dict[tuple[str, str], Own] = {
    # older forms of documented operations: the scopes of the documented twin
    ("POST", "/sms/1/text/single"): Own(same_as=("POST", "/sms/2/text/advanced")),
    ("POST", "/sms/1/text/multi"): Own(same_as=("POST", "/sms/2/text/advanced")),
    ("POST", "/sms/1/text/advanced"): Own(same_as=("POST", "/sms/2/text/advanced")),
    ("POST", "/sms/1/binary/advanced"): Own(same_as=("POST", "/sms/2/binary/advanced")),
    ("GET", "/sms/1/text/query.xml"): Own(same_as=("GET", "/sms/1/text/query")),
    ("GET", "/sms/2/reports"): Own(same_as=("GET", "/sms/1/reports")),
    ("GET", "/sms/2/logs"): Own(same_as=("GET", "/sms/1/logs")),
    # the legacy HLR query (seed 004) signs in with user and pass in the request, never a key
    ("GET", "/api/hlr/query.aspx"): Own(Access.PUBLIC, why="user and pass in the query (seed 004)"),
    ("POST", "/api/hlr/query.aspx"): Own(Access.PUBLIC, why="user and pass in the query or form"),
    # Infobip's account API, not in the SMS document: its account-management scope
    ("GET", "/account/1/balance"): Own(
        scopes=("account-management:manage",), why="the account's money, not an SMS operation"
    ),
    # starting a session takes a username and password in the body; ending one takes the session
    ("POST", "/auth/1/session"): Own(Access.PUBLIC, why="the body carries the username and password"),
    ("DELETE", "/auth/1/session"): Own(Access.SIGNED_IN, why="ends the caller's own session"),
    ("GET", "/health"): Own(Access.PUBLIC, why="load balancers ask it"),
    # the legacy AddOn/SMSService API (seed 004): username and password in the request (credentials
    # with every scope), never an API key, so no key's scopes decide anything
    **{
        (method, path): Own(Access.PUBLIC, why=_LEGACY_REASON)
        for method, path in (
            ("POST", "/AddOn/SMSService/XML/XMLInput.aspx"),
            ("GET", "/AddOn/SMSService/SendSMS.aspx"),
            ("GET", "/AddOn/SMSService/command.aspx"),
            ("GET", "/api/dlrpull"),
        )
    },
    ("GET", "/openapi.json"): Own(Access.PUBLIC, why="the API's description"),
    # upstream providers call back with the connector's webhook secret (api/upstream.py checks it)
    **{
        (method, path): Own(Access.PUBLIC, why="an upstream connector's webhook: its secret, not a key")
        for method, path in (
            ("GET", "/connectors/1/{name}/reports"),
            ("POST", "/connectors/1/{name}/reports"),
            ("POST", "/connectors/1/{name}/inbound"),
        )
    },
    # Prometheus scrapes with the admin token (or on metrics_port, outside this app)
    ("GET", "/metrics"): Own(Access.ADMIN, why="the operator's metrics, behind the admin token"),
}

ADMIN_PREFIX = "/admin/"
ADMIN_REASON = "the operator's API, behind the admin token"


def _resolve(key: tuple[str, str], own: Own) -> Requirement:
    if own.same_as is not None:
        return Requirement(
            Access.SCOPED,
            frozenset(DOCUMENTED[own.same_as]),
            f"as {own.same_as[0]} {own.same_as[1]} in Infobip's OpenAPI document",
        )
    return Requirement(own.access, frozenset(own.scopes), own.why or "smsgate's choice")


_OWN_RESOLVED = {key: _resolve(key, own) for key, own in OWN.items()}
_DOCUMENTED = {
    key: Requirement(Access.SCOPED, frozenset(scopes), "Infobip's OpenAPI document")
    for key, scopes in DOCUMENTED.items()
}

# every scope a key may be given: what the documents list and what smsgate's own table names
KNOWN_SCOPES: frozenset[str] = frozenset(
    s for r in (*_OWN_RESOLVED.values(), *_DOCUMENTED.values()) for s in r.scopes
)


def requirement(method: str, path: str) -> Requirement | None:
    """What calling ``method path`` (the route's template, ``/ct/1/log/end/{messageId}``) needs;
    None when nothing decides it. HEAD is GET."""
    method = "GET" if method.upper() == "HEAD" else method.upper()
    key = (method, path)
    found = _OWN_RESOLVED.get(key) or _DOCUMENTED.get(key)
    if found is None and path.startswith(ADMIN_PREFIX):
        return Requirement(Access.ADMIN, why=ADMIN_REASON)
    return found


def unknown_scopes(names: list[str]) -> list[str]:
    """The names among ``names`` that no operation knows (a typo would make a key that can do nothing)."""
    return [n for n in names if n not in KNOWN_SCOPES]


def format_scopes(scopes: frozenset[str] | None) -> str:
    """How keys' scopes are shown: sorted, comma-separated; "all" for a key with every scope."""
    return "all" if scopes is None else ", ".join(sorted(scopes))
