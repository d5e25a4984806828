"""Error bodies in each API family's own shape, from one exception type.

v1/v2 (and the preview, bulks, inbox endpoints): ``{"requestError": {"serviceException": {"messageId",
"text", "validationErrors"}}}``. v3: ``{"errorCode", "description", "action", "violations", "resources"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

V1_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "BAD_REQUEST",
    409: "CONFLICT",
    413: "BAD_REQUEST",
    414: "BAD_REQUEST",
    415: "BAD_REQUEST",
    429: "TOO_MANY_REQUESTS",
    500: "GENERAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
V3_TEXT = {
    400: ("Request cannot be processed.", "Check the syntax, violations and adjust the request."),
    401: (
        "The request lacks valid authentication credentials for the requested resource.",
        "Check the resources and adjust authentication credentials.",
    ),
    403: ("Access to the requested resource is forbidden.", "Check the API key's permissions."),
    404: ("Requested resource was not found.", "Check the request path and the resource identifiers."),
    405: ("Method not allowed.", "Use a method the endpoint supports."),
    413: ("Request body is too large.", "Split the request into smaller ones."),
    414: ("Request URL is too long.", "Send the data in the request body."),
    415: ("Unsupported media type.", "Send the body as application/json."),
    429: (
        "Too many requests sent.",
        "Check request rate limit specified in the API endpoint documentation resource.",
    ),
    500: ("Something went wrong.", "Contact the support."),
}
AUTH_RESOURCE = {
    "name": "API Authentication",
    "url": "https://www.infobip.com/docs/essentials/api-authentication",
}


@dataclass
class ApiFailure(Exception):
    """A request the gateway refuses. ``violations`` name the fields: ("messages[0].text", "must not be blank")."""

    status: int
    text: str
    violations: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def v1_body(self) -> dict[str, Any]:
        exc: dict[str, Any] = {"messageId": V1_CODES.get(self.status, "GENERAL_ERROR"), "text": self.text}
        if self.violations:
            errors: dict[str, list[str]] = {}
            for prop, msg in self.violations:
                errors.setdefault(prop, []).append(msg)
            exc["validationErrors"] = errors
        return {"requestError": {"serviceException": exc}}

    def v3_body(self) -> dict[str, Any]:
        description, action = V3_TEXT.get(self.status, V3_TEXT[500])
        if self.status != 500 and self.text and not self.violations:
            description = self.text
        return {
            "errorCode": f"E{self.status}",
            "description": description,
            "action": action,
            "violations": [{"property": p, "violation": v} for p, v in self.violations],
            "resources": [AUTH_RESOURCE] if self.status == 401 else [],
        }


def bad_request(prop: str | None, message: str) -> ApiFailure:
    text = f"{prop}: {message}" if prop else message
    return ApiFailure(400, text, [(prop, message)] if prop else [])
