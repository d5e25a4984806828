"""Build smsgate/api/openapi.json: Infobip's SMS OpenAPI document cut down to the endpoints smsgate
serves, plus the ones it serves that the current document no longer lists (v1 single/multi/advanced,
v2 reports/logs, IBSSO sessions, health). Rerun when an endpoint is added:

    python scripts/build_openapi.py
"""

import copy
import json
from pathlib import Path

from smsgate.api.app import ROUTES
from smsgate.api.bodies.common import UNSUPPORTED_QUERY

ROOT = Path(__file__).resolve().parents[1]
reference = json.loads((ROOT / "docs/reference/infobip-sms-openapi.json").read_text())
# Number lookup (/number/1/query, notify, logs): Infobip's own document, merged in
lookup_reference = json.loads((ROOT / "docs/reference/infobip-number-lookup-openapi.json").read_text())
served = {(r.path, m.lower()) for r in ROUTES for m in (r.methods or []) if m != "HEAD"}

paths: dict = {}
for path, ops in reference["paths"].items():
    for method, op in ops.items():
        if (path, method) in served:
            paths.setdefault(path, {})[method] = op


for path, ops in lookup_reference["paths"].items():
    for method, op in ops.items():
        if (path, method) in served:
            paths.setdefault(path, {})[method] = copy.deepcopy(op)


def alias(source: str, target: str, method: str, summary: str) -> None:
    op = copy.deepcopy(reference["paths"][source][method])
    op["operationId"] = op["operationId"] + "-" + target.strip("/").replace("/", "-")
    op["summary"] = summary
    op.pop("deprecated", None)
    paths.setdefault(target, {})[method] = op


alias(
    "/sms/2/text/advanced", "/sms/1/text/advanced", "post", "Send SMS message (v1 advanced, same body as v2)"
)
alias("/sms/2/binary/advanced", "/sms/1/binary/advanced", "post", "Send binary SMS message (v1)")
alias("/sms/1/reports", "/sms/2/reports", "get", "Get outbound SMS message delivery reports (v2)")
alias("/sms/1/logs", "/sms/2/logs", "get", "Get outbound SMS message logs (v2)")
error = {"$ref": "#/components/schemas/ApiException"}
v1_errors = {
    str(c): {"description": d, "content": {"application/json": {"schema": error}}}
    for c, d in ((400, "Bad request"), (401, "Unauthorized"))
}
single = {
    "type": "object",
    "required": ["to"],
    "properties": {
        "from": {"type": "string"},
        "to": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "text": {"type": "string"},
    },
}
v2_ok = reference["paths"]["/sms/2/text/advanced"]["post"]["responses"]["200"]
send_ok = {
    "200": {"description": "OK", "content": {"application/json": v2_ok["content"]["application/json"]}},
    **v1_errors,
}
paths["/sms/1/text/single"] = {
    "post": {
        "operationId": "send-sms-v1-single",
        "summary": "Send single textual message",
        "tags": ["Send SMS (v1)"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": single}, "application/xml": {"schema": single}},
        },
        "responses": send_ok,
    }
}
multi = {
    "type": "object",
    "required": ["messages"],
    "properties": {"messages": {"type": "array", "minItems": 1, "items": single}},
}
paths["/sms/1/text/multi"] = {
    "post": {
        "operationId": "send-sms-v1-multi",
        "summary": "Send multiple textual messages",
        "tags": ["Send SMS (v1)"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": multi}, "application/xml": {"schema": multi}},
        },
        "responses": send_ok,
    }
}
paths["/auth/1/session"] = {
    "post": {
        "operationId": "create-session",
        "summary": "Start an IBSSO session",
        "tags": ["Authentication"],
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "Use the token as `Authorization: IBSSO <token>`",
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"token": {"type": "string"}}}
                    }
                },
            },
            **v1_errors,
        },
    },
    "delete": {
        "operationId": "destroy-session",
        "summary": "End the IBSSO session of the Authorization header",
        "tags": ["Authentication"],
        "responses": {"204": {"description": "Session ended"}, **v1_errors},
    },
}
paths["/health"] = {
    "get": {
        "operationId": "health",
        "summary": "Liveness and database check (no authentication)",
        "tags": ["Operations"],
        "security": [],
        "responses": {"200": {"description": "UP"}, "503": {"description": "Database unreachable"}},
    }
}
admin_security = [{"AdminToken": []}]
admin_errors = {
    "401": {"description": "Missing or wrong admin token"},
    "403": {"description": "The admin API is off (SMSGATE_ADMIN_TOKEN not set)"},
}


def admin_operation(
    operation_id: str,
    summary: str,
    responses: dict[str, str],
    *,
    body: dict | None = None,
    parameters: list[dict] | None = None,
) -> dict:
    """One operation of the admin API: its token, its tag and its 401/403 come with it."""
    operation: dict = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["Admin"],
        "security": admin_security,
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    operation["responses"] = {
        **{code: {"description": text} for code, text in responses.items()},
        **admin_errors,
    }
    return operation


number_schema = {
    "type": "object",
    "required": ["number", "account"],
    "properties": {
        "number": {"type": "string", "example": "41793026700"},
        "account": {"type": "string"},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "action": {"type": "string", "enum": ["pull", "forward"], "default": "pull"},
        "forwardUrl": {
            "type": "string",
            "description": "POST target, or with forwardMethod GET a template with "
            "%sender%, %receiver%, %text%, %bin%, %datetime%, %messageid%, %datacoding%, %esmclass%",
        },
        "forwardMethod": {"type": "string", "enum": ["POST", "GET"], "default": "POST"},
        "contentType": {"type": "string", "enum": ["application/json", "application/xml"]},
        "price": {"type": "number", "default": 0},
    },
}
paths["/admin/1/numbers"] = {
    "get": admin_operation("admin-list-numbers", "List inbound numbers", {"200": "`{numbers: [...]}`"}),
    "post": admin_operation(
        "admin-add-number",
        "Give an account an inbound number",
        {"201": "The number as stored", "400": "Invalid"},
        body=number_schema,
    ),
}
paths["/admin/1/numbers/{number}"] = {
    "delete": admin_operation(
        "admin-remove-number",
        "Remove an inbound number",
        {"204": "Removed", "404": "No such number"},
        parameters=[{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
    )
}
paths["/admin/1/simulate/inbound"] = {
    "post": admin_operation(
        "admin-simulate-inbound",
        "The simulated network originates an inbound message",
        {"200": "`{messageId, to, action}`", "404": "Unknown number"},
        body={
            "type": "object",
            "required": ["from", "to"],
            "properties": {
                "from": {"type": "string"},
                "to": {"type": "string"},
                "text": {"type": "string"},
                "binary": {"type": "string", "description": "hex, instead of text"},
                "dataCoding": {"type": "integer"},
            },
        },
    )
}
paths["/admin/1/connectors"] = {
    "get": admin_operation(
        "admin-list-connectors",
        "Connectors with their state and counters",
        {"200": "`{connectors: [{name, kind, state, address, counters}]}`"},
    )
}
paths["/admin/1/database/stats"] = {
    "get": admin_operation(
        "admin-database-stats",
        "Statements sent and write transactions committed since the gateway started",
        {"200": "`{statements, commits, backend}`: backend is sqlite or postgresql"},
    )
}
paths["/metrics"] = {
    "get": admin_operation(
        "admin-metrics",
        "Prometheus metrics in the text exposition format (README, Metrics): message counters, latency "
        "histograms, queue depth, connector and customer bind gauges; also on SMSGATE_METRICS_PORT "
        "without a token when set",
        {
            "200": "text/plain; version=0.0.4: the Prometheus text format",
            "503": "The primary worker does not answer",
        },
    )
}
# the upstream connectors' webhooks (api/upstream.py): what an upstream provider calls back with
upstream_params = [
    {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "the connector",
    },
    {
        "name": "secret",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "the connector's webhook_secret (or the X-Smsgate-Secret header)",
    },
]
upstream_answers = {
    "400": {"description": "A body the connector cannot read (or a status value its table lacks)"},
    "403": {"description": "Wrong or missing secret"},
    "404": {"description": "No upstream connector of that name takes webhooks (none, or no webhook_secret)"},
}


def upstream_operation(operation_id: str, summary: str, ok: str) -> dict:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["Upstream connectors"],
        "security": [],
        "parameters": upstream_params,
        "responses": {"200": {"description": ok}, **upstream_answers},
    }


paths["/connectors/1/{name}/reports"] = {
    "post": upstream_operation(
        "upstream-reports",
        "Delivery reports from an upstream connector: an Infobip-compatible report push "
        "(`{results: [...]}`), or a generic provider's callback (form, query or JSON, read as configured)",
        "`{matched, kept}`: reports applied, and kept until their message's answer is recorded",
    ),
    "get": upstream_operation(
        "upstream-reports-get",
        "A generic provider's receipt callback as a GET with query parameters",
        "`{matched, kept}`",
    ),
}
paths["/connectors/1/{name}/inbound"] = {
    "post": upstream_operation(
        "upstream-inbound",
        "Inbound messages an Infobip-compatible upstream forwards (the inbox shape), for the number's owner",
        "`{stored}`: messages taken in (an unknown number's are dropped and logged)",
    )
}
paths["/admin/1/clock"] = {
    "post": admin_operation(
        "admin-advance-clock",
        "Move the gateway's test clock on (only when it runs with SMSGATE_CLOCK_START)",
        {
            "200": "`{now}`: the gateway's time after the move",
            "400": "advanceMs is not a whole number of milliseconds, 0 or more",
            "409": "The gateway runs on the real clock",
        },
        body={
            "type": "object",
            "required": ["advanceMs"],
            "properties": {"advanceMs": {"type": "integer", "minimum": 0}},
        },
    )
}
paths["/admin/1/tracking/bulks"] = {
    "get": admin_operation(
        "admin-tracking-bulk-stats",
        "A bulk's click-through and conversion statistics, per conversion type",
        {
            "200": "`{bulkId, results: [{conversionType, sent, delivered, clickedRecipients, totalClicks, "
            "converted, clickThroughRate, conversionRate, medianSecondsToClick, medianSecondsToConversion}]}`",
            "400": "account or bulkId missing",
            "404": "No such account",
        },
        parameters=[
            {"name": "account", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "bulkId", "in": "query", "required": True, "schema": {"type": "string"}},
        ],
    )
}

lookup_settings = {
    "type": "object",
    "properties": {
        "package": {
            "type": "string",
            "enum": ["cleaning", "portability", "roaming", "all"],
            "description": "Which lookup fields the account gets; all (the default): every field",
        },
        "hlrReportUrl": {"type": "string", "description": "Where legacy HLR reports are POSTed; '' clears"},
    },
}
account_param = [{"name": "account", "in": "path", "required": True, "schema": {"type": "string"}}]
paths["/admin/1/accounts/{account}/lookup"] = {
    "get": admin_operation(
        "admin-get-lookup-settings",
        "An account's number lookup package and HLR report URL",
        {"200": "`{package, hlrReportUrl}`", "404": "No such account"},
        parameters=account_param,
    ),
    "put": admin_operation(
        "admin-set-lookup-settings",
        "Change an account's number lookup package and/or HLR report URL",
        {"200": "`{package, hlrReportUrl}` as stored", "400": "Invalid", "404": "No such account"},
        body=lookup_settings,
        parameters=account_param,
    ),
}
hlr_params = [
    {"name": "user", "in": "query", "required": True, "schema": {"type": "string"}},
    {"name": "pass", "in": "query", "required": True, "schema": {"type": "string"}},
    {
        "name": "destinations",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "description": "Numbers separated by ';' (at most 1000)",
        "example": "38598303174;38598514674",
    },
]
hlr_answer = {
    "200": {
        "description": "`OK`, then `destination;OK;messageId` or `destination;FAILED;` per destination in "
        "the order submitted; or just `FAILED` (bad credentials, a parameter missing). The results "
        "are then POSTed to the account's HLR report URL as the form field `dlr`, lines of "
        "`destinationAddress;messageId;status;IMSI;servingMSC;errorCode`, at most 100 a request.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}
hlr_form = {
    "type": "object",
    "properties": {
        "user": {"type": "string"},
        "pass": {"type": "string"},
        "destinations": {"type": "string"},
    },
}
paths["/api/hlr/query.aspx"] = {
    "get": {
        "operationId": "legacy-hlr-query",
        "summary": "Legacy HLR query (plain text answer)",
        "tags": ["Legacy HLR"],
        "security": [],
        "parameters": hlr_params,
        "responses": hlr_answer,
    },
    "post": {
        "operationId": "legacy-hlr-query-post",
        "summary": "Legacy HLR query, parameters in a form body (plain text answer)",
        "tags": ["Legacy HLR"],
        "security": [],
        "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": hlr_form}}},
        "responses": hlr_answer,
    },
}

# --- money (engine/charging.py) ----------------------------------------------------------------
paths["/account/1/balance"] = {
    "get": {
        "operationId": "get-account-balance",
        "summary": "Get the account's balance, in its price plan's currency (as Infobip's account API)",
        "tags": ["Account"],
        "responses": {
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "balance": {"type": "number", "example": 47.79134},
                                "currency": {"type": "string", "example": "EUR"},
                            },
                        }
                    }
                },
            },
            **v1_errors,
        },
    }
}
name_param = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
plan_price_schema = {
    "type": "object",
    "required": ["price"],
    "properties": {
        "price": {
            "type": "number",
            "minimum": 0,
            "description": "per message part (or inbound part, or lookup)",
        },
        "prefix": {"type": "string", "description": 'destination number prefix; "" is everywhere else'},
        "mccMnc": {"type": "string", "description": "a network (MCC+MNC) or a country's networks (MCC)"},
        "kind": {"type": "string", "enum": ["inbound", "lookup"], "description": "instead of prefix/mccMnc"},
        "currency": {"type": "string", "description": "the plan's currency (a new plan: EUR unless given)"},
    },
}
billing_text = "`{account, plan, currency, mode, balance, creditLimit, ledgerSum}`"
paths["/admin/1/plans"] = {
    "get": admin_operation(
        "admin-list-plans",
        "Price plans",
        {"200": "`{plans: [{name, currency, inboundPrice, lookupPrice, prices}]}`"},
    )
}
paths["/admin/1/plans/{name}"] = {
    "get": admin_operation(
        "admin-show-plan",
        "One price plan",
        {"200": "`{name, currency, inboundPrice, lookupPrice, prices}`", "404": "No such plan"},
        parameters=name_param,
    )
}
paths["/admin/1/plans/{name}/prices"] = {
    "post": admin_operation(
        "admin-set-plan-price",
        "Set one price of a plan (creating the plan when it does not exist)",
        {"200": "The plan", "400": "Invalid"},
        body=plan_price_schema,
        parameters=name_param,
    )
}
paths["/admin/1/accounts/{name}"] = {
    "get": admin_operation(
        "admin-show-account-billing",
        "An account's plan, mode and balance",
        {"200": billing_text, "404": "No such account"},
        parameters=name_param,
    )
}
paths["/admin/1/accounts/{name}/billing"] = {
    "put": admin_operation(
        "admin-configure-account-billing",
        "Change an account's plan, mode (prepaid keeps the balance) or postpaid credit limit (null: none)",
        {"200": billing_text, "400": "Invalid", "404": "No such account or plan"},
        body={
            "type": "object",
            "properties": {
                "plan": {"type": "string"},
                "mode": {"type": "string", "enum": ["prepaid", "postpaid"]},
                "creditLimit": {"type": "number", "minimum": 0, "nullable": True},
            },
        },
        parameters=name_param,
    )
}
paths["/admin/1/accounts/{name}/credit"] = {
    "post": admin_operation(
        "admin-credit-account",
        "Top up a balance (a negative amount debits it), with a ledger row",
        {"200": billing_text, "400": "Invalid", "404": "No such account"},
        body={
            "type": "object",
            "required": ["amount"],
            "properties": {"amount": {"type": "number"}, "note": {"type": "string"}},
        },
        parameters=name_param,
    )
}
paths["/admin/1/accounts/{name}/ledger"] = {
    "get": admin_operation(
        "admin-account-ledger",
        "An account's ledger (charges, refunds, top-ups, inbound, lookups), oldest first; the rows sum to the balance",
        {
            "200": billing_text[:-2]
            + ", entries: [{id, at, kind, amount, currency, messages, reference, note}]}`",
            "404": "No such account",
        },
        parameters=[
            *name_param,
            {
                "name": "after",
                "in": "query",
                "schema": {"type": "integer", "default": 0},
                "description": "rows after this id",
            },
            {"name": "limit", "in": "query", "schema": {"type": "integer"}},
        ],
    )
}

# --- what smsgate answers beyond the reference's responses ----------------------------------------
# GET /sms/1/text/query.xml: the query send answering in XML ("specify the format .xml extension").
query_xml = copy.deepcopy(paths["/sms/1/text/query"]["get"])
query_xml["operationId"] += "-xml"
query_xml["summary"] += " (XML response)"
for response in query_xml["responses"].values():
    content = response.get("content", {})
    if "application/json" in content:
        response["content"] = {"application/xml": content.get("application/xml", content["application/json"])}
paths["/sms/1/text/query.xml"] = {"get": query_xml}

V1_ERROR = {"$ref": "#/components/schemas/ApiException"}
V3_ERROR = {"$ref": "#/components/schemas/ApiError"}
FILTER_CHECKS = (
    "Refused with 400 naming the parameter: `limit` not an integer from 1 to 1000, a `cursor` this "
    "gateway did not hand out, `useCursor` not true/false, a date that is not a date, `mcc` not 3 digits "
    "or `mnc` not 2-3 digits (or without `mcc`), an unknown `generalStatus`, a value that is not UTF-8 "
    "once percent-decoded or holds NUL (%00), and a filter smsgate cannot apply yet (entityId, "
    "applicationId, campaignReferenceId). A URL over 32 KiB is 414; more than 1000 parameters, 400."
)
# the query parameters smsgate refuses as not supported yet: the same set the request bodies refuse
UNSUPPORTED_PARAMS = set(UNSUPPORTED_QUERY)


QUERY_SENDS = ("/sms/1/text/query", "/sms/3/text/query")


def error_response(path: str, status: int, description: str) -> dict:
    schema = V3_ERROR if path.startswith(("/sms/3/", "/admin/")) else V1_ERROR
    content = {"application/json": {"schema": schema}}
    if schema is V1_ERROR:
        content["application/xml"] = {"schema": schema}
    return {"description": description, "content": content}


for path, ops in paths.items():
    for method, op in ops.items():
        responses = op.setdefault("responses", {})
        if method == "get" and op.get("parameters") and not path.startswith((*QUERY_SENDS, "/api/hlr/")):
            existing = responses.get("400", {})
            responses["400"] = {**error_response(path, 400, ""), **existing, "description": FILTER_CHECKS}
        responses.setdefault("414", error_response(path, 414, "The URL is longer than 32 KiB"))
        for param in op.get("parameters", []):
            if param.get("in") == "query" and param["name"] == "limit":
                param["schema"] = {**param.get("schema", {}), "minimum": 1, "maximum": 1000, "default": 50}
            if param.get("in") == "query" and param["name"] in UNSUPPORTED_PARAMS:
                param["description"] = "Not supported yet: refused with 400 when it asks for anything."
                param.pop("example", None)

# Dates as served and accepted. Responses render 2025-01-02T03:04:05.000+0000 (Infobip's form, an offset
# without a colon: not RFC 3339 `date-time`); requests may also use +00:00, Z, 0-9 fraction digits,
# a space for T, or a bare date.
DATE_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
DATE_NOTE = (
    "Served as yyyy-MM-dd'T'HH:mm:ss.SSSZ (2025-01-02T03:04:05.000+0000); accepted also with +00:00 or Z, "
    "0 to 9 fraction digits, a space for T, or as a bare date (UTC)."
)


def served_dates(node):
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            node.pop("format")
            node["pattern"] = DATE_PATTERN
            node["description"] = (node.get("description", "") + " " + DATE_NOTE).strip()
            node["example"] = "2025-01-02T03:04:05.000+0000"
        for value in node.values():
            served_dates(value)
    elif isinstance(node, list):
        for value in node:
            served_dates(value)


components = copy.deepcopy(reference["components"])
for section, entries in lookup_reference["components"].items():
    for name, value in entries.items():
        components.setdefault(section, {}).setdefault(name, copy.deepcopy(value))
components.setdefault("securitySchemes", {})["AdminToken"] = {
    "type": "http",
    "scheme": "bearer",
    "description": "The gateway's SMSGATE_ADMIN_TOKEN",
}
paths["/admin/1/worker"] = {
    "get": {
        "operationId": "admin-worker",
        "summary": "Which worker process answered (smsgate serve --workers N)",
        "tags": ["Admin"],
        "security": admin_security,
        "responses": {
            "200": {
                "description": "`{index, workers, pid, role, wakeups, jobsLeased}`: index 0 (role "
                "primary) runs the engine; role solo for a single process; wakeups counts the wake-up "
                "datagrams sent to the primary (sent, dropped) or received by it; jobsLeased the jobs "
                "each job loop of this process leased, by kind"
            },
            **admin_errors,
        },
    }
}


# --- the legacy AddOn/SMSService API (seed 004): credentials in the request, answers in the body ---
def legacy_operation(operation_id: str, summary: str, answer: str, params: list[str], media: str) -> dict:
    operation: dict = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["Legacy AddOn/SMSService"],
        "security": [],
        "responses": {"200": {"description": answer, "content": {media: {"schema": {"type": "string"}}}}},
    }
    if params:
        operation["parameters"] = [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in params
        ]
    return operation


LEGACY_SEND = ["user", "password", "sender", "SMSText", "IsFlash", "GSM", "Type", "Bookmark", "DataCoding"]
LEGACY_SEND += ["Esmclass", "Binary", "Srcton", "Srcnpi", "Destton", "Destnpi"]
paths["/AddOn/SMSService/XML/XMLInput.aspx"] = {
    "post": legacy_operation(
        "legacy-xml-input",
        "Send by XML POST: the body XML=<SMS>...</SMS> (form-encoded or raw)",
        "<RESPONSE><status>N</status><credits>C</credits></RESPONSE>: messages to be sent, or -1 AUTH_FAILED, "
        "-2 XML_ERROR, -3 NOT_ENOUGH_CREDITS, -4 NO_RECIPIENTS, -5 GENERAL_ERROR",
        [],
        "text/xml",
    )
}
paths["/AddOn/SMSService/XML/XMLInput.aspx"]["post"]["requestBody"] = {
    "required": True,
    "content": {"application/x-www-form-urlencoded": {"schema": {"type": "string"}}},
}
paths["/AddOn/SMSService/SendSMS.aspx"] = {
    "get": legacy_operation(
        "legacy-send-sms",
        "Send by HTTP GET (query values UTF-8 or ISO-8859-1)",
        "The message id (a positive integer), or -1, -2, -3, -5, -6, -7, -8, -9, -10, -11, -13 (README)",
        LEGACY_SEND,
        "text/plain",
    )
}
paths["/AddOn/SMSService/command.aspx"] = {
    "get": legacy_operation(
        "legacy-command",
        "A command: cmd=CREDITS answers the balance",
        "The balance; -10, -11, -5 for missing or bad credentials, -1 for an unknown command",
        ["username", "password", "cmd"],
        "text/plain",
    )
}
paths["/api/dlrpull"] = {
    "get": legacy_operation(
        "legacy-dlr-pull",
        "Delivery reports of the legacy API, each once (by messageid: any number of times)",
        "<DeliveryReport><message id sentdate donedate status/>...</DeliveryReport>, or 5, 10, 11",
        ["user", "password", "messageid"],
        "text/xml",
    )
}
legacy_settings = {
    "type": "object",
    "properties": {"deliveryReportUrl": {"type": "string", "nullable": True}},
}
name_param = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
paths["/admin/1/accounts/{name}/legacy"] = {
    "get": admin_operation(
        "admin-legacy-settings",
        "An account's legacy API settings (its delivery report URL)",
        {"200": "`{account, deliveryReportUrl}`", "404": "No such account"},
        parameters=name_param,
    ),
    "put": admin_operation(
        "admin-set-legacy-settings",
        "Set where the legacy API's delivery reports are pushed (null: pulled from /api/dlrpull)",
        {"200": "`{account, deliveryReportUrl}`", "400": "Not an http(s) URL", "404": "No such account"},
        body=legacy_settings,
        parameters=name_param,
    ),
}

doc = {
    "openapi": reference["openapi"],
    "info": {
        "title": "smsgate",
        "version": "0.1.0",
        "description": "The Infobip SMS HTTP API as served by smsgate, a self-hosted SMS gateway. Shapes are "
        "Infobip's; endpoints smsgate does not serve yet are left out.",
    },
    "servers": [{"url": "http://127.0.0.1:8080"}],
    "security": reference.get("security", []),
    "tags": reference.get("tags", [])
    + [t for t in lookup_reference.get("tags", []) if t["name"] == "number-lookup"],
    "paths": dict(sorted(paths.items())),
    "components": components,
}
served_dates(doc)
missing = served - {(p, m) for p, ops in paths.items() for m in ops} - {("/openapi.json", "get")}
assert not missing, f"served but undocumented: {missing}"
(ROOT / "smsgate/api/openapi.json").write_text(json.dumps(doc, indent=1))
print(f"wrote {len(paths)} paths")
