"""Settings: defaults that run, overridden by a TOML file, then by SMSGATE_* variables, then CLI flags.

Example ``smsgate.toml``::

    data_dir = "/var/lib/smsgate"
    database_url = "postgresql://smsgate@db/smsgate"

    [simulator]
    delivery_delay = 2.0
    [[simulator.outcomes]]          # rehearse failures by destination prefix
    prefix = "4179000"
    status = "UNDELIVERABLE_NOT_DELIVERED"
    error = "EC_UNKNOWN_SUBSCRIBER"
    [[simulator.subscribers]]       # who numbers are: number lookups and SMS delivery both ask
    prefix = "4179555"
    state = "live"                  # or "absent" (switched off), "unknown" (does not exist)
    ported_to = "4176"              # a number prefix of the network it was ported to
    roaming_in = "46739"            # a number prefix of the network it is roaming in
    [[simulator.prices]]
    prefix = "385"
    mcc_mnc = "21901"
    price = 0.045

    [[plans]]                       # price plans; accounts without one use "default"
    name = "gold"
    currency = "EUR"
    inbound_price = 0.0             # per received part
    lookup_price = 0.004            # per number lookup
    [[plans.prices]]                # per message part; longest prefix wins
    prefix = "385"
    price = 0.04
    [[plans.prices]]
    mcc_mnc = "21910"               # a network (or an MCC, 3 digits) instead of a prefix
    price = 0.035
    [[plans.prices]]
    prefix = ""                     # everywhere else
    price = 0.05

    [[connectors]]                  # an operator's SMSC over SMPP 3.4
    name = "operator-a"
    host = "smsc.example.net"
    port = 2775
    system_id = "me"
    password = "secret"
    window = 10                     # submits in flight
    throughput = 100                # submits per second
    concatenation = "udh"           # or "sar", "payload"
    [[connectors]]                  # an Infobip-compatible HTTP API (Infobip, another smsgate)
    type = "infobip"                # or "smpp" (the default), "http" (a template: README)
    name = "upstream"
    base_url = "https://api.infobip.com"
    api_key = "..."
    batch = 100                     # messages per POST /sms/3/messages
    webhook_secret = "..."          # reports pushed to <public_url>/connectors/1/upstream/reports
    [[connectors.prices]]           # what it costs us per part, by prefix
    prefix = "41"
    price = 0.012
    [[routes]]                      # first match wins; no match: the first connector, else the simulator
    prefix = "385"
    connectors = ["operator-a", "simulator"]
    mode = "failover"               # or "round_robin"
    [[lookup_connectors]]           # number lookups from an Infobip-compatible API (else the simulator)
    name = "infobip"
    url = "https://api.infobip.com"
    api_key = "..."                 # or username and password
    timeout = 5.0                   # then the next [[lookup_connectors]] is asked
    [[routes]]                      # by the network the number is on now (a number lookup, cached)
    mcc_mnc = "22802"
    connectors = ["operator-a"]
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin, get_type_hints

from .domain.dates import parse_ms
from .domain.network import NetworkRules, OutcomeRule, PriceEntry
from .domain.pricing import DEFAULT_PLAN, Plan, PlanPrice, default_plan, to_micros
from .domain.routing import Route
from .domain.subscribers import SubscriberRule

if TYPE_CHECKING:  # connectors.smpp pulls in the store and the SMPP client; imported late at run time
    from .connectors.http import HttpConfig
    from .connectors.infobip import InfobipConfig
    from .connectors.lookup import UpstreamConfig
    from .connectors.smpp import SmppConfig


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./smsgate-data")
    database_url: str | None = None
    # PostgreSQL: connections (and database threads) per gateway process; each process of a cluster,
    # and each --workers worker, opens up to this many, and the server's max_connections bounds the sum
    database_connections: int = 8
    host: str = "127.0.0.1"
    port: int = 8080
    simulator_delivery_delay: float = 1.0
    network: NetworkRules = field(default_factory=NetworkRules)
    # price plans ([[plans]]); always holds "default" (the shipped one unless configured)
    plans: tuple[Plan, ...] = field(default_factory=lambda: (default_plan(),))
    logs_rate_per_minute: int = 120
    log_retention_hours: float = 48.0
    default_sender: str = "InfoSMS"
    max_body_bytes: int = 4 * 1024 * 1024
    session_ttl_minutes: int = 60
    worker_batch: int = 500
    poll_interval: float = 0.05
    log_level: str = "info"
    log_format: str = "text"  # text (readable lines) or json (one object per line)
    # GET /metrics without the admin token on this port too (in the process running the engine)
    metrics_port: int | None = None
    # serve: worker processes (None: one per core); 1 runs one process with no supervisor
    workers: int | None = None
    # HTTP connections: one whose request head has not arrived within this many seconds is closed
    # (also between keep-alive requests), and one client address may hold at most this many at once.
    http_header_timeout: float = 10.0
    http_connections_per_client: int = 256
    # Outbound webhooks (reports to notify URLs, inbound forwarding). Hosts resolving to loopback,
    # private, link-local or reserved addresses are refused unless a network in webhook_allow holds them.
    webhook_allow: tuple[str, ...] = ()
    webhook_deny: tuple[str, ...] = ()
    webhook_timeout: float = 10.0
    webhook_per_host: int = 4
    # The retry schedule's minute: attempt n waits unit x (1 + n^2). Shorten it to rehearse retries.
    webhook_retry_unit: float = 60.0
    admin_token: str | None = None  # enables the /admin/1 API (Authorization: Bearer <token>)
    # the web console's operator sign-in (/console/): this password, or the admin token
    console_password: str | None = None
    # Seconds between sweeps that end messages whose validity period ran out (EXPIRED_EXPIRED).
    expiry_interval: float = 1.0
    # Rehearsals and tests: the gateway's clock starts at this instant (ISO 8601) and runs at real speed.
    clock_start: str | None = None
    # Operator connections ([[connectors]], SMPP) and the routing table ([[routes]]) to them. The
    # simulated network is always there as the connector "simulator".
    # [[connectors]]: SMPP links, Infobip-compatible APIs, template-described HTTP providers
    connectors: tuple[SmppConfig | InfobipConfig | HttpConfig, ...] = ()
    routes: tuple[Route, ...] = ()
    # SMPP server for customers (binds with accounts' SMPP credentials, `account smpp`); None = not started.
    smpp_port: int | None = None
    smpp_host: str | None = None  # None: the same address as the HTTP API
    smpp_tls_cert: str | None = None  # TLS when both cert and key (PEM paths) are set
    smpp_tls_key: str | None = None
    smpp_max_binds: int = 5  # per account, all bind types together
    smpp_allowed_ips: tuple[str, ...] = ()  # CIDRs customers may bind from; empty = anywhere
    smpp_dlr_retry: float = 5.0  # seconds before a receipt nobody took is offered again (grows to 60)
    # Several gateway processes on one PostgreSQL database (engine/cluster.py): this process's name
    # among them (None: host name and HTTP port), how often it renews its connector bind leases, and
    # how long a lease lasts (a dead process's binds are taken over within lease + heartbeat)
    node_id: str | None = None
    cluster_heartbeat_seconds: float = 1.0
    cluster_lease_seconds: float = 5.0
    # URL shortening: short links are <public_url>/<code> (None: http://host:port); customDomain picks
    # one of short_domains (base URLs too). Links and their clicks are kept link_retention_days.
    public_url: str | None = None
    short_domains: tuple[str, ...] = ()
    link_retention_days: float = 30.0
    geoip_db: str | None = None  # a MaxMind GeoIP2/GeoLite2 City or Country .mmdb: clicks' geoLocationInfo

    @property
    def short_link_base(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    # Routes with mcc_mnc: how long the network a number was found on is trusted before it is looked up
    # again (kept in the database, shared by every gateway process)
    routing_lookup_ttl_hours: float = 24.0
    # Number lookups from Infobip-compatible APIs ([[lookup_connectors]]), tried in order; none: the
    # simulated network answers
    lookup_connectors: tuple[UpstreamConfig, ...] = ()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'smsgate.db').resolve()}"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


# environment variable -> settings field; the value is read as the field's type
_ENV: dict[str, str] = {
    "SMSGATE_DATA_DIR": "data_dir",
    "SMSGATE_DATABASE_URL": "database_url",
    "SMSGATE_DATABASE_CONNECTIONS": "database_connections",
    "SMSGATE_HOST": "host",
    "SMSGATE_PORT": "port",
    "SMSGATE_SIMULATOR_DELIVERY_DELAY": "simulator_delivery_delay",
    "SMSGATE_LOGS_RATE_PER_MINUTE": "logs_rate_per_minute",
    "SMSGATE_LOG_RETENTION_HOURS": "log_retention_hours",
    "SMSGATE_DEFAULT_SENDER": "default_sender",
    "SMSGATE_MAX_BODY_BYTES": "max_body_bytes",
    "SMSGATE_LOG_LEVEL": "log_level",
    "SMSGATE_LOG_FORMAT": "log_format",
    "SMSGATE_METRICS_PORT": "metrics_port",
    "SMSGATE_WORKERS": "workers",
    "SMSGATE_HTTP_HEADER_TIMEOUT": "http_header_timeout",
    "SMSGATE_HTTP_CONNECTIONS_PER_CLIENT": "http_connections_per_client",
    "SMSGATE_WEBHOOK_ALLOW": "webhook_allow",
    "SMSGATE_WEBHOOK_DENY": "webhook_deny",
    "SMSGATE_WEBHOOK_TIMEOUT": "webhook_timeout",
    "SMSGATE_WEBHOOK_PER_HOST": "webhook_per_host",
    "SMSGATE_WEBHOOK_RETRY_UNIT": "webhook_retry_unit",
    "SMSGATE_ADMIN_TOKEN": "admin_token",
    "SMSGATE_CONSOLE_PASSWORD": "console_password",
    "SMSGATE_EXPIRY_INTERVAL": "expiry_interval",
    "SMSGATE_CLOCK_START": "clock_start",
    "SMSGATE_SMPP_PORT": "smpp_port",
    "SMSGATE_SMPP_HOST": "smpp_host",
    "SMSGATE_SMPP_TLS_CERT": "smpp_tls_cert",
    "SMSGATE_SMPP_TLS_KEY": "smpp_tls_key",
    "SMSGATE_SMPP_MAX_BINDS": "smpp_max_binds",
    "SMSGATE_SMPP_ALLOWED_IPS": "smpp_allowed_ips",
    "SMSGATE_SMPP_DLR_RETRY": "smpp_dlr_retry",
    "SMSGATE_NODE_ID": "node_id",
    "SMSGATE_CLUSTER_HEARTBEAT_SECONDS": "cluster_heartbeat_seconds",
    "SMSGATE_CLUSTER_LEASE_SECONDS": "cluster_lease_seconds",
    "SMSGATE_PUBLIC_URL": "public_url",
    "SMSGATE_SHORT_DOMAINS": "short_domains",
    "SMSGATE_LINK_RETENTION_DAYS": "link_retention_days",
    "SMSGATE_GEOIP_DB": "geoip_db",
    "SMSGATE_ROUTING_LOOKUP_TTL_HOURS": "routing_lookup_ttl_hours",
}
ENV_NAMES = {attr: name for name, attr in _ENV.items()}  # for messages that name the setting

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
# settings read from a TOML table rather than a top-level key
_SECTIONS = {"network", "simulator_delivery_delay", "connectors", "routes", "lookup_connectors"}


class ConfigError(ValueError):
    """One line naming the setting, the value, and where it came from."""


def load_settings(
    config_file: Path | None = None, env: dict[str, str] | None = None, **overrides: Any
) -> Settings:
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    path = config_file or (Path(env["SMSGATE_CONFIG"]) if env.get("SMSGATE_CONFIG") else None)
    if path is not None:
        try:
            doc = tomllib.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        try:
            values.update(_from_toml(doc))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    for name, attr in _ENV.items():
        if env.get(name):
            try:
                values[attr] = _check(attr, _from_text(attr, env[name]))
            except ValueError as exc:
                raise ConfigError(f"environment: {name}={_shown(attr, env[name])}: {exc}") from None
    for attr, value in overrides.items():
        if value is not None:
            try:
                values[attr] = _check(attr, value)
            except ValueError as exc:
                raise ConfigError(f"command line: {attr} {_shown(attr, value)}: {exc}") from None
    settings = replace(Settings(), **values)
    check_connectors(settings)
    if bool(settings.smpp_tls_cert) != bool(settings.smpp_tls_key):
        # one without the other would serve plain SMPP to customers who asked for TLS
        raise ConfigError("smpp_tls_cert and smpp_tls_key (SMSGATE_SMPP_TLS_CERT / _KEY) go together")
    return settings


def _check_database_url(value: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        driver = make_url(value).drivername
    except ArgumentError:
        driver = None
    # the gateway runs its own drivers (store/database.py sync_url); the async spellings of older
    # configurations still name the same databases
    if driver not in _DATABASE_DRIVERS:
        raise ValueError("must be a URL like postgresql://user@host/db (or sqlite:///path)")


_DATABASE_DRIVERS = (
    "postgresql",
    "postgresql+psycopg",
    "postgresql+asyncpg",
    "sqlite",
    "sqlite+aiosqlite",
)


# --- types and checks -------------------------------------------------------------------------


def _shown(key: str, value: Any) -> str:
    """The value as an error message shows it: secrets masked."""
    if key in ("password", "admin_token", "console_password", "api_key", "webhook_secret"):
        return "'***'"
    if key == "database_url" and isinstance(value, str):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return repr(make_url(value).render_as_string(hide_password=True))
        except ArgumentError:
            pass
    return repr(value)


_HINTS: dict[str, Any] = {}


def _hints() -> dict[str, Any]:
    if not _HINTS:
        from .connectors.http import HttpConfig
        from .connectors.infobip import InfobipConfig
        from .connectors.lookup import UpstreamConfig
        from .connectors.smpp import SmppConfig

        localns = {
            "SmppConfig": SmppConfig,
            "UpstreamConfig": UpstreamConfig,
            "InfobipConfig": InfobipConfig,
            "HttpConfig": HttpConfig,
        }
        _HINTS.update(get_type_hints(Settings, localns=localns))
    return _HINTS


def _kind(hint: Any) -> tuple[Any, bool]:
    """(the plain type, whether None is allowed) of ``X`` or ``X | None``."""
    args = get_args(hint)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return hint, False


def _from_text(attr: str, text: str) -> Any:
    """An environment variable's text as the field's type."""
    hint, _ = _kind(_hints()[attr])
    if hint is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError("must be an integer") from None
    if hint is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError("must be a number") from None
    if get_origin(hint) is tuple:
        return _csv(text)
    if hint is Path:
        return Path(text)
    return text


def check_value(key: str, value: Any, hint: Any) -> Any:
    """``value`` as a field of type ``hint`` wants it; ValueError says what was expected. Strict
    about TOML types: ``port = "8080"`` is a string, not a port."""
    hint, optional = _kind(hint)
    if value is None and optional:
        return None
    if get_origin(hint) is Literal:
        if value not in get_args(hint):
            raise ValueError(f"must be one of {', '.join(map(str, get_args(hint)))}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value
    if hint is Path:
        if not isinstance(value, str | Path):
            raise ValueError("must be a path (a string)")
        return Path(value)
    if get_origin(hint) is tuple and get_args(hint) == (str, ...):
        if isinstance(value, str):
            value = _csv(value)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of strings")
        return tuple(value)
    return value


def _check(attr: str, value: Any) -> Any:
    """Type, then the setting's own rule."""
    value = check_value(attr, value, _hints()[attr])
    if value is None:
        return value
    if attr == "log_format":
        if value.lower() not in LOG_FORMATS:
            raise ValueError(f"must be one of {', '.join(LOG_FORMATS)}")
        value = value.lower()
    if attr in ("port", "smpp_port", "metrics_port") and not 0 <= value <= 65535:
        raise ValueError("must be a TCP port, 0 to 65535")
    if attr == "log_level":
        if value.lower() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        value = value.lower()
    if attr in ("webhook_allow", "webhook_deny", "smpp_allowed_ips"):
        from .webhooks.policy import parse_networks

        parse_networks(value)  # a ValueError names the entry
    if attr == "clock_start":
        parse_ms(value)  # a ValueError names the accepted forms
    if attr == "database_url":
        _check_database_url(value)
    if attr in ("public_url", "short_domains"):
        from .domain.shortlinks import base_problem

        for base in (value,) if isinstance(value, str) else value:
            if problem := base_problem(base):
                raise ValueError(f"{base!r}: {problem}")
    if attr == "geoip_db":
        if not Path(value).is_file():
            raise ValueError("no such file")
        import importlib.util

        if importlib.util.find_spec("maxminddb") is None:
            raise ValueError("reading it needs the maxminddb package: pip install 'smsgate[geoip]'")
    if attr in ("smpp_tls_cert", "smpp_tls_key") and not Path(value).is_file():
        raise ValueError("no such file")
    positive = (
        "http_header_timeout",
        "http_connections_per_client",
        "webhook_timeout",
        "webhook_per_host",
        "worker_batch",
        "max_body_bytes",
        "smpp_max_binds",
        "logs_rate_per_minute",
        "session_ttl_minutes",
        "workers",
        "link_retention_days",
        "cluster_heartbeat_seconds",
        "cluster_lease_seconds",
        "database_connections",
    )
    if attr in positive and value <= 0:
        raise ValueError("must be greater than 0")
    if isinstance(value, float | int) and not isinstance(value, bool) and value < 0:
        raise ValueError("must not be negative")
    return value


# --- the TOML file ----------------------------------------------------------------------------


def _from_toml(doc: dict[str, Any]) -> dict[str, Any]:
    from .connectors.lookup import UpstreamConfig

    doc = dict(doc)
    out: dict[str, Any] = {}
    sim = doc.pop("simulator", {}) or {}
    if not isinstance(sim, dict):
        raise ConfigError(f"simulator = {sim!r}: must be a [simulator] table")
    unknown = set(sim) - {"delivery_delay", "outcomes", "prices", "currency", "subscribers"}
    if unknown:
        raise ConfigError(f"[simulator]: unknown settings: {', '.join(sorted(unknown))}")
    if "delivery_delay" in sim:
        try:
            out["simulator_delivery_delay"] = _check("simulator_delivery_delay", sim["delivery_delay"])
        except ValueError as exc:
            raise ConfigError(f"[simulator] delivery_delay = {sim['delivery_delay']!r}: {exc}") from None
    outcomes = tuple(_entry("[[simulator.outcomes]]", OutcomeRule, r) for r in _tables(sim, "outcomes"))
    prices = tuple(_entry("[[simulator.prices]]", PriceEntry, p) for p in _tables(sim, "prices"))
    subscribers = tuple(
        _entry("[[simulator.subscribers]]", SubscriberRule, r) for r in _tables(sim, "subscribers")
    )
    currency = sim.get("currency", "EUR")
    if not isinstance(currency, str):
        raise ConfigError(f"[simulator] currency = {currency!r}: must be a string")
    out["network"] = NetworkRules(
        prices=prices, outcomes=outcomes, currency=currency, subscribers=subscribers
    )
    # [[simulator.prices]] and [simulator] currency, as before plans: the shipped default plan's prices
    shipped = default_plan(currency, (PlanPrice(to_micros(p.price), prefix=p.prefix) for p in prices))
    out["plans"] = _plans(_tables(doc, "plans"), shipped)
    doc.pop("plans", None)
    out.update(_connectors_and_routes(_tables(doc, "connectors"), _tables(doc, "routes")))
    lookups = tuple(
        _entry("[[lookup_connectors]]", UpstreamConfig, c) for c in _tables(doc, "lookup_connectors")
    )
    if len({c.name for c in lookups}) < len(lookups):
        raise ConfigError("[[lookup_connectors]]: a name is used twice")
    out["lookup_connectors"] = lookups
    doc.pop("lookup_connectors", None)
    doc.pop("connectors", None)
    doc.pop("routes", None)
    known = {f.name for f in fields(Settings)} - _SECTIONS
    unknown = set(doc) - known
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    for key, value in doc.items():
        try:
            out[key] = _check(key, value)
        except ValueError as exc:
            raise ConfigError(f"{key} = {_shown(key, value)}: {exc}") from None
    return out


_PLAN_KEYS = {"name", "currency", "inbound_price", "lookup_price", "prices"}
_PRICE_KEYS = {"prefix", "mcc_mnc", "price"}


def _amount(where: str, key: str, value: Any) -> int:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where} {key} = {value!r}: must be a number, 0 or more")
    return to_micros(float(value))


def _plans(raw_plans: list[dict[str, Any]], shipped: Plan) -> tuple[Plan, ...]:
    """[[plans]] with their [[plans.prices]]; "default" is the shipped plan unless configured."""
    out: dict[str, Plan] = {}
    for i, raw in enumerate(raw_plans, 1):
        where = f"[[plans]] {raw['name']!r}" if "name" in raw else f"[[plans]] #{i}"
        unknown = set(raw) - _PLAN_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown settings: {', '.join(sorted(unknown))}")
        name = raw.get("name")
        if not isinstance(name, str):
            raise ConfigError(f"{where}: missing name")
        if name in out:
            raise ConfigError(f"{where}: the name is used twice")
        prices = []
        for j, p in enumerate(_tables(raw, "prices"), 1):
            pwhere = f"{where} [[plans.prices]] #{j}"
            unknown = set(p) - _PRICE_KEYS
            if unknown:
                raise ConfigError(f"{pwhere}: unknown settings: {', '.join(sorted(unknown))}")
            if "price" not in p:
                raise ConfigError(f"{pwhere}: missing price")
            for key in ("prefix", "mcc_mnc"):
                if key in p and not isinstance(p[key], str):
                    raise ConfigError(f"{pwhere} {key} = {p[key]!r}: must be a string of digits")
            try:
                prices.append(
                    PlanPrice(_amount(pwhere, "price", p["price"]), p.get("prefix"), p.get("mcc_mnc"))
                )
            except ValueError as exc:
                raise ConfigError(f"{pwhere}: {exc}") from None
        currency = raw.get("currency", "EUR")
        if not isinstance(currency, str):
            raise ConfigError(f"{where} currency = {currency!r}: must be a string such as EUR")
        try:
            out[name] = Plan(
                name,
                currency,
                tuple(prices),
                _amount(where, "inbound_price", raw.get("inbound_price", 0)),
                _amount(where, "lookup_price", raw.get("lookup_price", 0)),
            )
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    out.setdefault(DEFAULT_PLAN, shipped)
    return tuple(out.values())


def _tables(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{key} = {value!r}: must be written as [[{key}]] tables")
    return value


def _entry(section: str, cls: Any, raw: dict[str, Any]) -> Any:
    """One table of a list of tables, as ``cls``: each value checked against its field's type."""
    hints = get_type_hints(cls)
    unknown = set(raw) - set(hints)
    if unknown:
        raise ConfigError(f"{section}: unknown settings: {', '.join(sorted(unknown))}")
    missing = [f.name for f in fields(cls) if f.name not in raw and _required(f)]
    if missing:
        raise ConfigError(f"{section}: missing {', '.join(missing)}")
    checked = {}
    for key, value in raw.items():
        try:
            checked[key] = check_value(key, value, hints[key])
        except ValueError as exc:
            raise ConfigError(f"{section} {key} = {_shown(key, value)}: {exc}") from None
    try:
        return cls(**checked)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{section}: {exc}") from None


def _required(f: Any) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _connectors_and_routes(connectors: list[dict[str, Any]], routes: list[dict[str, Any]]) -> dict[str, Any]:
    names = {"simulator"}
    configs: list[Any] = []
    for raw in connectors:
        raw = dict(raw)
        where = f"[[connectors]] {raw.get('name')!r}" if "name" in raw else "[[connectors]]"
        if "type" in raw and "kind" in raw:
            raise ConfigError(f"{where}: give type or kind (its older name), not both")
        kind = raw.pop("type", raw.pop("kind", "smpp"))
        if kind not in CONNECTOR_TYPES:
            raise ConfigError(f"{where} type = {kind!r}: must be one of {', '.join(CONNECTOR_TYPES)}")
        config = _connector(where, kind, raw)
        if config.name in names:
            raise ConfigError(f"[[connectors]] name = {config.name!r}: the name is used twice")
        names.add(config.name)
        configs.append(config)
    table = []
    for i, raw in enumerate(routes, 1):
        where = f"[[routes]] #{i}" + (f" (prefix {raw['prefix']!r})" if "prefix" in raw else "")
        try:
            route = Route.from_dict(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        missing = [c for c in route.connectors if c not in names]
        if missing:
            raise ConfigError(
                f"{where} connectors = {list(route.connectors)!r}: no connector named "
                f"{', '.join(missing)} (configured: {', '.join(sorted(names))})"
            )
        table.append(route)
    return {"connectors": tuple(configs), "routes": tuple(table)}


# [[connectors]] type: an SMPP link, an Infobip-compatible HTTP API, a provider described by a template
CONNECTOR_TYPES = ("smpp", "infobip", "http")


def _cost_prices(where: str, raw: dict[str, Any]) -> tuple[Any, ...]:
    """``[[connectors.prices]]`` (prefix, price per part) into CostPrice values."""
    from .domain.upstream import CostPrice

    return tuple(
        _entry(f"{where} [[connectors.prices]] #{i}", CostPrice, p)
        for i, p in enumerate(_tables(raw, "prices"), 1)
    )


def _connector(where: str, kind: str, raw: dict[str, Any]) -> Any:
    """One [[connectors]] table as its type's config (SmppConfig, InfobipConfig, HttpConfig)."""
    prices = _cost_prices(where, raw)
    raw.pop("prices", None)
    if kind == "smpp":
        from .connectors.smpp import SmppConfig

        hints = get_type_hints(SmppConfig)
        for key, value in raw.items():
            if key in hints:
                try:
                    check_value(key, value, hints[key])
                except ValueError as exc:
                    raise ConfigError(f"{where} {key} = {_shown(key, value)}: {exc}") from None
        if isinstance(raw.get("port"), int) and not 0 < raw["port"] <= 65535:
            raise ConfigError(f"{where} port = {raw['port']!r}: must be a TCP port, 1 to 65535")
        try:
            return replace(SmppConfig.from_dict(raw), prices=prices)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if kind == "infobip":
        from .connectors.infobip import InfobipConfig

        return replace(_entry(where, InfobipConfig, raw), prices=prices)
    from .connectors.http import HttpConfig

    return replace(HttpConfig.from_toml(where, raw, _entry), prices=prices)


def check_connectors(settings: Settings) -> None:
    """What only the whole configuration can tell: an HTTP connector that receives reports by
    webhook needs its secret when the gateway has a public URL."""
    for c in settings.connectors:
        if getattr(c, "webhook_secret", "") is None and settings.public_url:
            raise ConfigError(
                f"[[connectors]] {c.name!r}: public_url is set, so its reports are pushed to the "
                "gateway: give it a webhook_secret (16 or more random characters)"
            )
