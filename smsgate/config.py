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

    [[connectors]]                  # an operator's SMSC over SMPP 3.4
    name = "operator-a"
    host = "smsc.example.net"
    port = 2775
    system_id = "me"
    password = "secret"
    window = 10                     # submits in flight
    throughput = 100                # submits per second
    concatenation = "udh"           # or "sar", "payload"
    [[routes]]                      # first match wins; no match: the first connector, else the simulator
    prefix = "385"
    connectors = ["operator-a", "simulator"]
    mode = "failover"               # or "round_robin"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .domain.dates import parse_ms
from .domain.network import DEFAULT_PRICES, NetworkRules, OutcomeRule, PriceEntry
from .domain.routing import Route


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
    # Seconds between sweeps that end messages whose validity period ran out (EXPIRED_EXPIRED).
    expiry_interval: float = 1.0
    # Rehearsals and tests: the gateway's clock starts at this instant (ISO 8601) and runs at real speed.
    clock_start: str | None = None
    # Operator connections ([[connectors]], SMPP) and the routing table ([[routes]]) to them. The
    # simulated network is always there as the connector "simulator".
    connectors: tuple[dict[str, Any], ...] = ()
    routes: tuple[Route, ...] = ()
    # SMPP server for customers (system_id/password = account username/password); None = not started.
    smpp_port: int | None = None
    smpp_host: str | None = None  # None: the same address as the HTTP API
    smpp_tls_cert: str | None = None  # TLS when both cert and key (PEM paths) are set
    smpp_tls_key: str | None = None
    smpp_max_binds: int = 5  # per account, all bind types together
    smpp_allowed_ips: tuple[str, ...] = ()  # CIDRs customers may bind from; empty = anywhere
    smpp_dlr_retry: float = 5.0  # seconds before a receipt nobody took is offered again (grows to 60)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'smsgate.db').resolve()}"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _instant(value: str) -> str:
    parse_ms(value)  # a ValueError names the accepted forms
    return value


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
    "SMSGATE_EXPIRY_INTERVAL": ("expiry_interval", float),
    "SMSGATE_CLOCK_START": ("clock_start", _instant),
    "SMSGATE_SMPP_PORT": ("smpp_port", int),
    "SMSGATE_SMPP_HOST": ("smpp_host", str),
    "SMSGATE_SMPP_TLS_CERT": ("smpp_tls_cert", str),
    "SMSGATE_SMPP_TLS_KEY": ("smpp_tls_key", str),
    "SMSGATE_SMPP_MAX_BINDS": ("smpp_max_binds", int),
    "SMSGATE_SMPP_ALLOWED_IPS": ("smpp_allowed_ips", _csv),
    "SMSGATE_SMPP_DLR_RETRY": ("smpp_dlr_retry", float),
}


class ConfigError(ValueError):
    pass


def load_settings(
    config_file: Path | None = None, env: dict[str, str] | None = None, **overrides: Any
) -> Settings:
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
    out.update(_connectors_and_routes(doc.pop("connectors", []), doc.pop("routes", [])))
    for key in ("webhook_allow", "webhook_deny", "smpp_allowed_ips"):
        if key in doc:
            doc[key] = tuple(doc[key])
    if "data_dir" in doc:
        doc["data_dir"] = Path(doc["data_dir"])
    out.update(doc)
    return out


def _connectors_and_routes(connectors: list[dict[str, Any]], routes: list[dict[str, Any]]) -> dict[str, Any]:
    from .connectors.smpp import SmppConfig

    names = {"simulator"}
    for raw in connectors:
        raw = dict(raw)
        kind = raw.pop("kind", "smpp")
        if kind != "smpp":
            raise ConfigError(f"[[connectors]] {raw.get('name')!r}: kind must be smpp, not {kind!r}")
        try:
            config = SmppConfig.from_dict(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[[connectors]] {raw.get('name')!r}: {exc}") from exc
        if config.name in names:
            raise ConfigError(f"[[connectors]]: the name {config.name!r} is used twice")
        names.add(config.name)
    try:
        table = tuple(Route.from_dict(r) for r in routes)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[[routes]]: {exc}") from exc
    for route in table:
        missing = [c for c in route.connectors if c not in names]
        if missing:
            raise ConfigError(f"[[routes]]: no connector named {', '.join(missing)}")
    return {"connectors": tuple(dict(c) for c in connectors), "routes": table}
