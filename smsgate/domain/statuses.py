"""The one catalog of message statuses and GSM errors, shared by every API generation.

The data comes from Infobip's status and error catalog and the seed manual (see catalog_data.py);
this module gives it types and lookups. Renderers call ``Status.as_dict()`` / ``GsmError.as_dict()``
so the wire shape is the same in v1, v2, v3, webhooks and the legacy API.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from .catalog_data import ERROR_GROUPS, ERRORS, STATUS_GROUPS, STATUSES


class StatusGroup(enum.IntEnum):
    """Infobip's status groups (``groupId``/``groupName`` of every status)."""

    ACCEPTED = 0
    PENDING = 1
    UNDELIVERABLE = 2
    DELIVERED = 3
    EXPIRED = 4
    REJECTED = 5


if {g.value: g.name for g in StatusGroup} != STATUS_GROUPS:  # pragma: no cover - catalog and enum agree
    raise TypeError("StatusGroup differs from the catalog's status groups")

#: Status groups whose statuses end a message's life.
FINAL_GROUPS = frozenset(
    {StatusGroup.UNDELIVERABLE, StatusGroup.DELIVERED, StatusGroup.EXPIRED, StatusGroup.REJECTED}
)


class StatusJson(TypedDict):
    """A status as every API renders it."""

    groupId: int
    groupName: str
    id: int
    name: str
    description: str
    action: NotRequired[str]


class GsmErrorJson(TypedDict):
    """A GSM error as every API renders it."""

    groupId: int
    groupName: str
    id: int
    name: str
    description: str
    permanent: bool


@dataclass(frozen=True, slots=True)
class Status:
    id: int
    group_id: StatusGroup
    name: str
    description: str
    action: str | None = None

    @property
    def group_name(self) -> str:
        return STATUS_GROUPS[self.group_id]

    @property
    def is_final(self) -> bool:
        return self.group_id in FINAL_GROUPS

    def as_dict(self) -> StatusJson:
        out: StatusJson = {
            "groupId": int(self.group_id),
            "groupName": self.group_name,
            "id": self.id,
            "name": self.name,
            "description": self.description,
        }
        if self.action:
            out["action"] = self.action
        return out


@dataclass(frozen=True, slots=True)
class GsmError:
    id: int
    group_id: int
    name: str
    description: str
    permanent: bool

    @property
    def group_name(self) -> str:
        return ERROR_GROUPS[self.group_id]

    def as_dict(self) -> GsmErrorJson:
        return {
            "groupId": self.group_id,
            "groupName": self.group_name,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "permanent": self.permanent,
        }


STATUS_BY_ID: dict[int, Status] = {
    i: Status(i, StatusGroup(g), n, d, a) for i, (g, n, d, a) in STATUSES.items()
}
STATUS_BY_NAME: dict[str, Status] = {s.name: s for s in STATUS_BY_ID.values()}
ERROR_BY_ID: dict[int, GsmError] = {i: GsmError(i, g, n, d, p) for i, (g, n, d, p) in ERRORS.items()}
ERROR_BY_NAME: dict[str, GsmError] = {e.name: e for e in ERROR_BY_ID.values()}
STATUS_GROUP_NAMES = frozenset(STATUS_GROUPS.values())


def status(name: str) -> Status:
    return STATUS_BY_NAME[name]


def error(name: str) -> GsmError:
    return ERROR_BY_NAME[name]


def status_by_id(ident: int) -> Status:
    return STATUS_BY_ID[ident]


def error_by_id(ident: int) -> GsmError:
    """An error by id; an id outside the catalog (an operator's own code) renders as EC_UNKNOWN_ERROR's
    group with its own number, so nothing is lost on the way to the client."""
    found = ERROR_BY_ID.get(ident)
    if found is not None:
        return found
    return GsmError(ident, 1, f"EC_{ident}", "Unknown Error", False)


# The statuses the engine moves messages through; named here so code reads as the lifecycle does.
PENDING_ACCEPTED = status("PENDING_ACCEPTED")
PENDING_ENROUTE = status("PENDING_ENROUTE")
PENDING_WAITING_DELIVERY = status("PENDING_WAITING_DELIVERY")
DELIVERED_TO_HANDSET = status("DELIVERED_TO_HANDSET")
REJECTED_DESTINATION = status("REJECTED_DESTINATION")
REJECTED_DUPLICATE_MESSAGE_ID = status("REJECTED_DUPLICATE_MESSAGE_ID")
UNDELIVERABLE_NOT_DELIVERED = status("UNDELIVERABLE_NOT_DELIVERED")
NO_ERROR = error("NO_ERROR")
