"""How the gateway's log lines look: readable text (the default), or one JSON object per line
(``--log-format json``, ``SMSGATE_LOG_FORMAT``, config ``log_format``) for a log shipper.

A JSON line holds ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``event`` (the message),
``logger``, ``worker`` (``sup``, ``w0``, ``w1``, ... under ``serve --workers N``), and, when the log
call concerns one message or connector, ``messageId``, ``bulkId``, ``account`` and ``connector``,
passed at the call with ``extra=`` (see ``about``); ``exception`` holds a traceback."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# the record attributes a log call may set with extra= (and their JSON names)
FIELDS = ("messageId", "bulkId", "account", "connector")


def about(
    *,
    message_id: str | None = None,
    bulk_id: str | None = None,
    account: str | None = None,
    connector: str | None = None,
) -> dict[str, str]:
    """``extra=`` for a log call about one message or connector: only the fields that apply."""
    given = {"messageId": message_id, "bulkId": bulk_id, "account": account, "connector": connector}
    return {k: v for k, v in given.items() if v is not None}


class JsonFormatter(logging.Formatter):
    def __init__(self, worker: str | None = None) -> None:
        super().__init__()
        self.worker = worker

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        if self.worker is not None:
            line["worker"] = self.worker
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


_json = [False]


def json_lines() -> bool:
    """Whether this process logs JSON (the banner of ``serve`` goes through the log then)."""
    return _json[0]


def configure(level: str, fmt: str = "text", worker: str | None = None) -> None:
    """The root handler every logger (uvicorn's too) writes through; ``worker`` tags each line."""
    _json[0] = fmt == "json"
    if fmt == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter(worker))
        logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
        return
    text = TEXT_FORMAT if worker is None else TEXT_FORMAT.replace("%(name)s", f"[{worker}] %(name)s")
    logging.basicConfig(level=level.upper(), format=text)
