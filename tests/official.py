"""Infobip's official Python client (``infobip-api-python-client``), imported on first use.

Importing ``infobip_api_client`` costs ~3 s of CPU (it builds every model of every Infobip API), and
every test process collects the modules that use it, while only the one that runs their tests needs
it (the conftest keeps each such module on one worker per backend). ``ib.SmsApi``,
``ib.SmsRequest``, ``ib.BadRequestException``, ...: the package's API classes, models and exceptions
by their own names."""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = (
    "infobip_api_client",
    "infobip_api_client.api.sms_api",
    "infobip_api_client.models",
    "infobip_api_client.exceptions",
)


class _Lazy:
    def __getattr__(self, name: str) -> Any:
        for module in map(importlib.import_module, _MODULES):
            if hasattr(module, name):
                value = getattr(module, name)
                setattr(self, name, value)  # found once: later lookups are plain attributes
                return value
        raise AttributeError(f"infobip_api_client has no {name}")


ib = _Lazy()
