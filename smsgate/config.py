"""Settings: defaults that run, overridden by a TOML file, then by SMSGATE_* variables, then CLI flags.

Example ``smsgate.toml``::

    data_dir = "/var/lib/smsgate"
    database_url = "postgresql+asyncpg://smsgate@db/smsgate"

    [simulator]
    delivery_delay = 2.0
    [[simulator.outcomes]]          # rehearse failures by destination prefix
    prefix = "4179000"
    status = "UNDELIVERABLE_NOT_DELIVERED"
    error = "EC_UNKNOWN_SUBSCRIBER"
    [[simulator.prices]]
    prefix = "385"
    mcc_mnc = "21901"
    price = 0.045
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .domain.network import DEFAULT_PRICES, NetworkRules, OutcomeRule, PriceEntry


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./smsgate-data")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    simulator_delivery_delay: float = 1.0
    network: NetworkRules = field(default_factory=NetworkRules)
    logs_rate_per_minute: int = 120
    log_retention_hours: float = 48.0
    default_sender: str = "InfoSMS"
    max_body_bytes: int = 4 * 1024 * 1024
    session_ttl_minutes: int = 60
    worker_batch: int = 500
    poll_interval: float = 0.05
    log_level: str = "info"
    # Outbound webhooks (reports to notify URLs, inbound forwarding). Hosts resolving to loopback,
    # private, link-local or reserved addresses are refused unless a network in webhook_allow holds them.
    webhook_allow: tuple[str, ...] = ()
    webhook_deny: tuple[str, ...] = ()
    webhook_timeout: float = 10.0
    webhook_per_host: int = 4
    # The retry schedule's minute: attempt n waits unit x (1 + n^2). Shorten it to rehearse retries.
    webhook_retry_unit: float = 60.0
    admin_token: str | None = None  # enables the /admin/1 API (Authorization: Bearer <token>)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'smsgate.db').resolve()}"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


# environment variable -> (settings field, converter)
_ENV: dict[str, tuple[str, Any]] = {
    "SMSGATE_DATA_DIR": ("data_dir", Path),
    "SMSGATE_DATABASE_URL": ("database_url", str),
    "SMSGATE_HOST": ("host", str),
    "SMSGATE_PORT": ("port", int),
    "SMSGATE_SIMULATOR_DELIVERY_DELAY": ("simulator_delivery_delay", float),
    "SMSGATE_LOGS_RATE_PER_MINUTE": ("logs_rate_per_minute", int),
    "SMSGATE_LOG_RETENTION_HOURS": ("log_retention_hours", float),
    "SMSGATE_DEFAULT_SENDER": ("default_sender", str),
    "SMSGATE_MAX_BODY_BYTES": ("max_body_bytes", int),
    "SMSGATE_LOG_LEVEL": ("log_level", str),
    "SMSGATE_WEBHOOK_ALLOW": ("webhook_allow", _csv),
    "SMSGATE_WEBHOOK_DENY": ("webhook_deny", _csv),
    "SMSGATE_WEBHOOK_TIMEOUT": ("webhook_timeout", float),
    "SMSGATE_WEBHOOK_PER_HOST": ("webhook_per_host", int),
    "SMSGATE_WEBHOOK_RETRY_UNIT": ("webhook_retry_unit", float),
    "SMSGATE_ADMIN_TOKEN": ("admin_token", str),
}


class ConfigError(ValueError):
    pass


def load_settings(config_file: Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    path = config_file or (Path(env["SMSGATE_CONFIG"]) if env.get("SMSGATE_CONFIG") else None)
    if path is not None:
        try:
            values.update(_from_toml(tomllib.loads(Path(path).read_text())))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    for name, (attr, convert) in _ENV.items():
        if env.get(name):
            try:
                values[attr] = convert(env[name])
            except ValueError as exc:
                raise ConfigError(f"{name}={env[name]!r}: {exc}") from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    return replace(Settings(), **values)


def _from_toml(doc: dict[str, Any]) -> dict[str, Any]:
    doc = dict(doc)
    out: dict[str, Any] = {}
    sim = doc.pop("simulator", {}) or {}
    if "delivery_delay" in sim:
        out["simulator_delivery_delay"] = float(sim["delivery_delay"])
    try:
        outcomes = tuple(OutcomeRule(**rule) for rule in sim.get("outcomes", []))
        prices = tuple(PriceEntry(**p) for p in sim.get("prices", [])) + DEFAULT_PRICES
    except TypeError as exc:
        raise ConfigError(f"[simulator]: {exc}") from exc
    out["network"] = NetworkRules(prices=prices, outcomes=outcomes, currency=sim.get("currency", "EUR"))
    for key in ("webhook_allow", "webhook_deny"):
        if key in doc:
            doc[key] = tuple(doc[key])
    if "data_dir" in doc:
        doc["data_dir"] = Path(doc["data_dir"])
    out.update(doc)
    return out
