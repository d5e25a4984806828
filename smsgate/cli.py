"""``smsgate``: run the gateway and manage its accounts."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from . import logs
from .config import ConfigError, Settings, load_settings
from .store import accounts
from .store import legacy as legacy_store

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from .store.accounts import Account

app = typer.Typer(
    help="smsgate: a self-hosted SMS gateway that speaks the Infobip SMS HTTP API.\n\n"
    "Start it with `smsgate serve`, create an account with `smsgate account create NAME`, then point "
    "any Infobip client at http://127.0.0.1:8080 with the printed API key.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
account_app = typer.Typer(
    help="Create, list, disable and enable accounts; set their SMPP credentials.", no_args_is_help=True
)
apikey_app = typer.Typer(
    help="Create (optionally narrowed to scopes), list and revoke API keys (Authorization: App <key>).",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
number_app = typer.Typer(
    help="Inbound numbers: which account receives messages sent to a number, and how "
    "(kept for GET /sms/1/inbox/reports, or forwarded to a URL).",
    no_args_is_help=True,
)
simulate_app = typer.Typer(help="Rehearse traffic on the simulated network.", no_args_is_help=True)
stats_app = typer.Typer(
    help="Click-through and conversion statistics; connectors' cost beside what customers were charged.",
    no_args_is_help=True,
)
connector_app = typer.Typer(help="Operator connections of a running gateway.", no_args_is_help=True)
plan_app = typer.Typer(
    help="Price plans: prices per message part, inbound part and lookup.", no_args_is_help=True
)
app.add_typer(account_app, name="account")
app.add_typer(number_app, name="number")
app.add_typer(simulate_app, name="simulate")
app.add_typer(connector_app, name="connector")
app.add_typer(apikey_app, name="apikey")
app.add_typer(db_app, name="db")
app.add_typer(stats_app, name="stats")
app.add_typer(plan_app, name="plan")
console = Console()


def package_version() -> str:
    """The installed distribution's version; a source tree run without installing says so."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("smsgate")
    except PackageNotFoundError:
        return "0+unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"smsgate {package_version()}")
        raise typer.Exit


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    """smsgate: a self-hosted SMS gateway that speaks the Infobip SMS HTTP API."""


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Directory of the embedded SQLite database [env: SMSGATE_DATA_DIR; default ./smsgate-data].",
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="TOML configuration file [env: SMSGATE_CONFIG].", exists=True, dir_okay=False
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL, e.g. postgresql://user@host/db [env: SMSGATE_DATABASE_URL].",
    ),
]


def _settings(
    config: Path | None, data_dir: Path | None, database_url: str | None = None, **extra
) -> Settings:
    try:
        return load_settings(config, data_dir=data_dir, database_url=database_url, **extra)
    except ConfigError as exc:
        # one plain line on stderr: no markup (``[[routes]]`` is not a style) and no wrapping
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def _banner(line: str) -> None:
    if logs.json_lines():  # every line of the output one JSON object
        logging.getLogger("smsgate").info(line)
        return
    # whole lines, as configured: no markup, no wrapping at the console's width
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def network_summary(settings: Settings) -> str:
    """Where messages go, as configured: the operator connectors, the routes, and what takes traffic
    no route matches (the connectors in order, else the simulated network; as the gateway routes)."""
    simulated = f"simulated (delivery delay {settings.simulator_delivery_delay}s)"
    if not settings.connectors and not settings.routes:
        return simulated
    from .connectors.smpp import SmppConfig

    smpp = [c for c in settings.connectors if isinstance(c, SmppConfig)]
    links = [f"{c.name} at {c.host}:{c.port}{' over TLS' if c.tls else ''}" for c in smpp]
    parts = [f"SMPP {'connector' if len(links) == 1 else 'connectors'} {', '.join(links)}"] if links else []
    upstreams = [
        f"{c.name} at {getattr(c, 'base_url', None) or getattr(c, 'url', '')}"
        for c in settings.connectors
        if not isinstance(c, SmppConfig)
    ]
    if upstreams:
        parts.append(f"HTTP {'connector' if len(upstreams) == 1 else 'connectors'} {', '.join(upstreams)}")
    routes = len(settings.routes)
    parts.append(f"{routes} {'route' if routes == 1 else 'routes'}")
    default = [c.name for c in settings.connectors] or ["simulator"]
    parts.append(f"no match goes to {', '.join(default)}")
    if "simulator" in default or any("simulator" in r.connectors for r in settings.routes):
        parts.append(f"simulator {simulated.removeprefix('simulated ')}")
    return "; ".join(parts)


def _data_dir_ready(settings: Settings) -> None:
    """The SQLite database's directory exists, or the command stops with the one line that says why."""
    if settings.database_url:
        return
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        typer.echo(
            f"configuration error: data_dir {str(settings.data_dir)!r}: cannot create it: {exc.strerror}",
            err=True,
        )
        raise typer.Exit(2) from None


LOG_FORMAT = logs.TEXT_FORMAT


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [default 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port [default 8080].")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            help="text (readable lines, the default) or json (one object per line) [env: SMSGATE_LOG_FORMAT]."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Processes serving HTTP [env: SMSGATE_WORKERS; default: the number of cores]. With more "
            "than 1, a supervisor binds the port once and starts that many workers: each accepts HTTP "
            "sends on the shared port, worker 0 also runs the operator connectors, the customer SMPP "
            "server and the delivery engine; a worker that dies is started again. 1: one process, "
            "no supervisor.",
        ),
    ] = None,
    worker_of: Annotated[str | None, typer.Option("--worker-of", hidden=True)] = None,
) -> None:
    """Run the gateway: the HTTP API and the message engine, on SQLite and the simulated network by default."""
    from .supervisor import default_workers

    settings = _settings(
        config,
        data_dir,
        database_url,
        host=host,
        port=port,
        log_level=log_level,
        log_format=log_format,
        workers=workers,
    )
    _data_dir_ready(settings)
    if worker_of is not None:
        _serve_worker(settings, worker_of)
        return
    count = settings.workers or default_workers()
    logs.configure(settings.log_level, settings.log_format, None if count == 1 else "sup")
    target = (
        make_url_text(settings.database_url)
        if settings.database_url
        else f"SQLite at {settings.data_dir / 'smsgate.db'}"
    )
    processes = "" if count == 1 else f"  ({count} worker processes)"
    _banner(f"smsgate on http://{settings.host}:{settings.port}  (storage: {target}){processes}")
    _banner(f"network: {network_summary(settings)}")
    if settings.smpp_port is not None:
        tls = " over TLS" if settings.smpp_tls_cert and settings.smpp_tls_key else ""
        _banner(
            f"SMPP 3.4 server for customers on {settings.smpp_host or settings.host}:{settings.smpp_port}"
            f"{tls}  (accounts bind with their SMPP credentials: smsgate account smpp NAME)"
        )
    if count == 1:
        _serve_alone(settings)
        return
    passed = {
        "--host": host,
        "--port": port,
        "--data-dir": data_dir,
        "--config": config,
        "--database-url": database_url,
        "--log-level": log_level,
        "--log-format": log_format,
    }
    options = [str(part) for name, value in passed.items() if value is not None for part in (name, value)]
    raise typer.Exit(_supervise(settings, count, options))


def make_url_text(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _uvicorn_options(settings: Settings) -> dict:
    from .api.limits import FamilyErrorsProtocol
    from .serving import guarded_protocol

    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": settings.log_level == "debug",
        # a request head must arrive in time; one client address holds a bounded number of connections;
        # the parser's own 400s come in the family's error shape
        "http": guarded_protocol(
            settings.http_header_timeout, settings.http_connections_per_client, FamilyErrorsProtocol
        ),
    }


def _serve_alone(settings: Settings) -> None:
    """--workers 1: the whole gateway in this process, as it always ran."""
    import uvicorn

    from .api.app import build_app

    # json: uvicorn's own loggers write through the root handler too (its default config has its own)
    options = _uvicorn_options(settings)
    if settings.log_format == "json":
        options["log_config"] = None
    uvicorn.run(build_app(settings, owns_process=True), **options)


def _supervise(settings: Settings, count: int, options: list[str]) -> int:
    """--workers N: prepare the store once, bind the ports once, run the workers until stopped."""
    from .domain.dates import clock_offset_for, parse_ms
    from .engine.gateway import prepare_store
    from .store.database import Database
    from .supervisor import Supervisor, WorkerSpec, bind_http_listeners, bind_listener

    async def prepare() -> None:
        db = Database(settings.resolved_database_url, settings.database_connections)
        try:
            # the only start that may forget leases: no worker runs yet
            await prepare_store(db, release_leases=True, plans=settings.plans)
        finally:
            await db.dispose()

    asyncio.run(prepare())
    try:
        http = bind_http_listeners(settings.host, settings.port, count)
        smpp = (
            bind_listener(settings.smpp_host or settings.host, settings.smpp_port)
            if settings.smpp_port is not None
            else None
        )
    except OSError as exc:
        typer.echo(f"cannot listen: {exc}", err=True)
        return 1

    def command(spec: WorkerSpec) -> list[str]:
        return [sys.executable, "-m", "smsgate.cli", "serve", *options, "--worker-of", spec.to_arg()]

    clock = clock_offset_for(parse_ms(settings.clock_start)) if settings.clock_start else None
    return Supervisor(count, command, http, smpp=smpp, clock_offset_ms=clock).run()


def _serve_worker(settings: Settings, spec_arg: str) -> None:
    """One worker under the supervisor (``--worker-of``): its role, the inherited sockets, its log tag."""
    import socket

    import uvicorn

    from .api.app import build_app
    from .domain.dates import share_clock
    from .engine.gateway import Gateway, Peers, Role
    from .engine.wakeups import WakeSender
    from .supervisor import WorkerSpec, die_with_parent, shared_clock_cell, watch_parent

    spec = WorkerSpec.from_arg(spec_arg)
    die_with_parent()
    logs.configure(settings.log_level, settings.log_format, spec.name)
    if spec.clock_fd is not None:
        share_clock(shared_clock_cell(spec.clock_fd), controlled=bool(settings.clock_start))
    wake = socket.socket(fileno=spec.wake_fd)
    if spec.primary:
        peers = Peers(
            wake_inbox=wake,
            smpp_socket=socket.socket(fileno=spec.smpp_fd) if spec.smpp_fd is not None else None,
        )
    else:
        peers = Peers(wake_sender=WakeSender(wake), primary_admin=spec.admin_path)
    gateway = Gateway(settings, Role.PRIMARY if spec.primary else Role.SECONDARY, peers)
    app = build_app(settings, gateway, owns_process=True)
    app.state.worker = spec
    # uvicorn's loggers write through the root handler, so their lines carry the worker's tag too
    server = uvicorn.Server(uvicorn.Config(app, **_uvicorn_options(settings), log_config=None))
    sockets = [socket.socket(fileno=spec.http_fd)]
    if spec.admin_fd is not None:
        sockets.append(socket.socket(fileno=spec.admin_fd))

    async def run() -> None:
        def stop() -> None:
            server.should_exit = True

        watch = asyncio.create_task(watch_parent(spec.parent, stop))
        try:
            await server.serve(sockets=sockets)
        finally:
            watch.cancel()

    asyncio.run(run())


async def _with_gateway(settings: Settings, action):
    from .engine.gateway import Gateway, Role

    gateway = Gateway(settings, Role.TOOL)
    await gateway.start()
    try:
        return await action(gateway)
    finally:
        await gateway.stop()


def _run(settings: Settings, action):
    from .engine.charging import MoneyError
    from .engine.inbound import NumberError, UnknownNumber
    from .engine.lookups import LookupSettingsError
    from .store.accounts import AccountError

    _data_dir_ready(settings)
    try:
        return asyncio.run(_with_gateway(settings, action))
    except (AccountError, NumberError, UnknownNumber, LookupSettingsError, MoneyError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


@account_app.command("create")
def account_create(
    name: Annotated[str, typer.Argument(help="Account name, unique.")],
    username: Annotated[
        str | None, typer.Option(help="Username for Basic auth, IBSSO sessions and query sends.")
    ] = None,
    password: Annotated[str | None, typer.Option(help="Password for that username.")] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Use this API key instead of generating one.")
    ] = None,
    plan: Annotated[str | None, typer.Option(help="Price plan (default: the plan named default).")] = None,
    prepaid: Annotated[
        bool, typer.Option("--prepaid", help="Prepaid: sends only what the balance pays.")
    ] = False,
    credit_limit: Annotated[
        float | None,
        typer.Option(help="Postpaid: how far below zero the balance may go (default: no limit)."),
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an account and print its credentials (a generated API key unless --api-key is given).
    Accounts are postpaid unless --prepaid: charged all the same, the balance may go below zero."""
    from .engine import charging

    settings = _settings(config, data_dir, database_url)

    async def action(gw):
        def create(conn: Connection) -> tuple[Account, str]:
            account = accounts.create(conn, name, username, password)
            if plan is not None or prepaid or credit_limit is not None:
                charging.configure_account(
                    conn, name, plan=plan, mode="prepaid" if prepaid else None, credit_limit=credit_limit
                )
            return account, accounts.create_api_key(conn, name, api_key)

        account, key = await gw.db.write(create)
        return account, key

    account, key = _run(settings, action)
    console.print(f"account  {account.name} (id {account.id})")
    if account.username:
        console.print(f"username {account.username}")
    console.print(f"api key  {key}")
    from .cli_client import gateway_url

    # the address serve listens on by this configuration (a wildcard host reached over loopback)
    console.print(
        f"use it:  curl -H 'Authorization: App {key}' {gateway_url(settings)}/sms/3/logs",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@account_app.command("list")
def account_list(
    data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """List accounts with their state, number of active API keys, plan, mode and balance."""
    from .engine import charging

    def read(conn: Connection) -> tuple[list[tuple[accounts.Account, int]], dict[int, charging.BalanceView]]:
        return accounts.list_accounts(conn), charging.balances(conn)

    rows, money = _run(_settings(config, data_dir, database_url), lambda gw: gw.db.read(read))
    table = Table("id", "name", "username", "enabled", "api keys", "plan", "mode", "balance", "limit")
    for account, keys in rows:
        b = money[account.id]
        table.add_row(
            str(account.id),
            account.name,
            account.username or "",
            "yes" if account.enabled else "no",
            str(keys),
            b.plan,
            "prepaid" if b.prepaid else "postpaid",
            f"{b.balance:.6f} {b.currency}",
            "" if b.prepaid else ("none" if b.credit_limit is None else f"{b.credit_limit:.6f}"),
        )
    # never cut a name or a balance to fit 80 columns (output to a pipe): wider lines instead
    wide = console.measure(table, options=console.options.update_width(10_000)).maximum
    Console(width=max(console.width, wide)).print(table)


@account_app.command("disable")
def account_disable(
    name: str, data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """Disable an account: its keys, passwords and sessions stop working at once."""
    _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.write(lambda c: accounts.set_enabled(c, name, False)),
    )
    console.print(f"account {name} disabled")


@account_app.command("enable")
def account_enable(
    name: str, data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """Enable a disabled account again."""
    _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.write(lambda c: accounts.set_enabled(c, name, True)),
    )
    console.print(f"account {name} enabled")


@account_app.command("smpp")
def account_smpp(
    name: Annotated[str, typer.Argument(help="Account name.")],
    system_id: Annotated[
        str | None,
        typer.Option("--system-id", help="The system_id its SMPP binds use (up to 15 characters)."),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(help="The password its SMPP binds use (up to 8 characters, as SMPP 3.4 allows)."),
    ] = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the account's SMPP credentials away: it cannot bind.")
    ] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the SMPP credentials an account binds with (stored hashed; not its web password). Without
    options: show its SMPP system_id. An account without SMPP credentials cannot bind."""
    settings = _settings(config, data_dir, database_url)
    if remove:
        if system_id or password:
            typer.echo("error: --remove takes no --system-id or --password", err=True)
            raise typer.Exit(2)
        _run(settings, lambda gw: gw.db.write(lambda c: accounts.clear_smpp_credentials(c, name)))
        console.print(f"account {name}: SMPP credentials removed; it can no longer bind")
        return
    if system_id is None and password is None:
        current = _run(settings, lambda gw: gw.db.read(lambda c: accounts.smpp_system_id_of(c, name)))
        _banner(f"account {name}: " + (f"SMPP system_id {current}" if current else "no SMPP credentials"))
        return
    if system_id is None or password is None:
        typer.echo("error: give both --system-id and --password", err=True)
        raise typer.Exit(2)
    sid, pw = system_id, password
    _run(settings, lambda gw: gw.db.write(lambda c: accounts.set_smpp_credentials(c, name, sid, pw)))
    _banner(f"account {name}: SMPP binds use system_id {system_id} and the password given")


@account_app.command("lookup")
def account_lookup(
    name: Annotated[str, typer.Argument(help="Account name.")],
    package: Annotated[
        str | None,
        typer.Option(help="Number lookup package: cleaning, portability, roaming, or all (every field)."),
    ] = None,
    hlr_url: Annotated[
        str | None, typer.Option("--hlr-url", help="URL legacy HLR reports (dlr=) are POSTed to; '' clears.")
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show or change an account's number lookup settings (package, HLR report URL)."""
    from .engine.lookups import settings_changes
    from .store import lookups as lookup_store

    async def action(gw):
        changes = settings_changes(package, hlr_url)  # the gateway's webhook host policy is in force

        def change(conn: Connection) -> lookup_store.LookupSettings:
            account = accounts.get(conn, name)
            if changes:
                return lookup_store.set_settings(conn, account.id, changes)
            return lookup_store.settings_of(conn, account.id)

        return await gw.db.write(change)

    result = _run(_settings(config, data_dir, database_url), action)
    console.print(f"package        {result.package or 'all'}")
    console.print(f"hlr report url {result.hlr_report_url or ''}")


@account_app.command("legacy")
def account_legacy(
    name: Annotated[str, typer.Argument(help="Account name.")],
    report_url: Annotated[
        str | None,
        typer.Option("--report-url", help="Push the legacy API's delivery reports (<DeliveryReport>) here."),
    ] = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="No report URL: the legacy reports are pulled (/api/dlrpull).")
    ] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The legacy AddOn/SMSService API's settings of an account: its delivery report URL (seed 004's
    "Edit Profile" setting). Without options: show them."""
    settings = _settings(config, data_dir, database_url)
    if remove and report_url:
        typer.echo("error: --remove takes no --report-url", err=True)
        raise typer.Exit(2)
    if remove or report_url:
        url = None if remove else report_url
        _run(settings, lambda gw: gw.db.write(lambda c: legacy_store.set_report_url(c, name, url)))
    current = _run(settings, lambda gw: gw.db.read(lambda c: legacy_store.report_url_of(c, name)))
    _banner(
        f"account {name}: legacy delivery reports "
        + (f"pushed to {current}" if current else "pulled (/api/dlrpull)")
    )


def _billing_lines(b) -> None:
    console.print(f"account  {b.account}")
    console.print(f"plan     {b.plan}")
    console.print(f"mode     {b.mode}")
    console.print(f"balance  {b.balance:.6f} {b.currency}")
    if b.mode == "postpaid":
        limit = "none" if b.credit_limit is None else f"{b.credit_limit:.6f} {b.currency}"
        console.print(f"limit    {limit}")


@account_app.command("show")
def account_show(
    name: str, data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """Show an account's plan, mode (prepaid/postpaid), balance and credit limit."""
    from .engine import charging

    b = _run(
        _settings(config, data_dir, database_url), lambda gw: gw.db.read(lambda c: charging.billing(c, name))
    )
    _billing_lines(b)


@account_app.command("prepaid")
def account_prepaid(
    name: str, data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """Make an account prepaid, with its current balance: it sends only what the balance pays."""
    from .engine import charging

    b = _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.write(lambda c: charging.configure_account(c, name, mode="prepaid")),
    )
    _billing_lines(b)


@account_app.command("postpaid")
def account_postpaid(
    name: str,
    credit_limit: Annotated[
        float | None, typer.Option(help="How far below zero the balance may go (default: no limit).")
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Make an account postpaid (charged all the same; the balance may go below zero, down to
    --credit-limit when given)."""
    from .engine import charging

    b = _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.write(
            lambda c: charging.configure_account(
                c, name, mode="postpaid", credit_limit=credit_limit, clear_limit=credit_limit is None
            )
        ),
    )
    _billing_lines(b)


@account_app.command("set-plan")
def account_set_plan(
    name: str,
    plan: str,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Give an account another price plan (running gateways use it within a second)."""
    from .engine import charging

    b = _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.write(lambda c: charging.configure_account(c, name, plan=plan)),
    )
    _billing_lines(b)


@account_app.command("credit")
def account_credit(
    name: str,
    amount: Annotated[float, typer.Argument(help="In the plan's currency; negative debits.")],
    note: Annotated[str | None, typer.Option(help="Kept in the ledger row.")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Top up an account's balance, with a ledger row."""
    from .engine import charging

    b = _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.write(lambda c: charging.credit_account(c, name, amount, note)),
    )
    _billing_lines(b)


@account_app.command("ledger")
def account_ledger(
    name: str,
    limit: Annotated[int, typer.Option(help="Rows to show, the latest.")] = 50,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """An account's ledger (charges, refunds, top-ups, inbound and lookup charges) and their sum,
    which is the balance."""
    from .domain.dates import format_ms
    from .domain.pricing import to_amount
    from .engine import charging

    def read(c: Connection):
        entries = charging.account_ledger(c, name, limit=1_000_000)
        return charging.billing(c, name), entries

    b, entries = _run(_settings(config, data_dir, database_url), lambda gw: gw.db.read(read))
    table = Table("id", "at", "kind", "amount", "messages", "reference", "note")
    for e in entries[-limit:]:
        table.add_row(
            str(e.id),
            format_ms(e.at),
            e.kind,
            f"{to_amount(e.amount):.6f}",
            str(e.messages),
            e.reference or "",
            e.note or "",
        )
    console.print(table)
    console.print(f"sum      {b.ledger_sum:.6f} {b.currency} ({len(entries)} rows)")
    console.print(f"balance  {b.balance:.6f} {b.currency}")


@plan_app.command("list")
def plan_list(data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None) -> None:
    """Price plans with their currency and number of prices."""
    from .domain.pricing import to_amount
    from .engine import charging

    plans = _run(_settings(config, data_dir, database_url), lambda gw: gw.db.read(charging.stored_plans))
    table = Table("name", "currency", "prices", "inbound", "lookup")
    for name, p in sorted(plans.items()):
        table.add_row(
            name,
            p.currency,
            str(len(p.prices)),
            f"{to_amount(p.inbound_price):g}",
            f"{to_amount(p.lookup_price):g}",
        )
    console.print(table)


@plan_app.command("show")
def plan_show(
    name: str, data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """A plan's prices per message part, and its inbound and lookup prices."""
    from .domain.pricing import to_amount
    from .engine import charging

    plan = _run(
        _settings(config, data_dir, database_url), lambda gw: gw.db.read(lambda c: charging.get_plan(c, name))
    )
    console.print(f"plan {plan.name} ({plan.currency})")
    table = Table("prefix", "mcc_mnc", "price per part")
    for p in sorted(plan.prices, key=lambda p: (p.mcc_mnc is None, p.mcc_mnc or "", p.prefix or "")):
        table.add_row(
            "" if p.prefix is None else (p.prefix or "(everywhere else)"),
            p.mcc_mnc or "",
            f"{to_amount(p.price):g}",
        )
    console.print(table)
    console.print(f"inbound  {to_amount(plan.inbound_price):g} per part")
    console.print(f"lookup   {to_amount(plan.lookup_price):g} per number")


@plan_app.command("set-price")
def plan_set_price(
    name: Annotated[str, typer.Argument(help="Plan name (created when it does not exist).")],
    price: Annotated[float, typer.Option(help="The price, in the plan's currency.")],
    prefix: Annotated[str | None, typer.Option(help="Destination prefix ('' for everywhere else).")] = None,
    mcc_mnc: Annotated[str | None, typer.Option(help="A network (MCC+MNC) or a country's (MCC).")] = None,
    inbound: Annotated[bool, typer.Option("--inbound", help="The price per received part.")] = False,
    lookup: Annotated[bool, typer.Option("--lookup", help="The price per number lookup.")] = False,
    currency: Annotated[str | None, typer.Option(help="The plan's currency (a new plan: EUR).")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set one price of a plan: per message part by --prefix or --mcc-mnc, or --inbound, or --lookup.
    Running gateways use it within a second."""
    from .engine import charging

    plan = _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.write(
            lambda c: charging.set_price(
                c,
                name,
                price=price,
                prefix=prefix,
                mcc_mnc=mcc_mnc,
                inbound=inbound,
                lookup=lookup,
                currency=currency,
            )
        ),
    )
    console.print(f"plan {plan.name}: {len(plan.prices)} price(s) in {plan.currency}")


@apikey_app.command("create")
def apikey_create(
    account: Annotated[str, typer.Argument(help="Account name.")],
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Use this key instead of generating one.")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="A scope the key holds, e.g. sms:message:send or sms:logs:read; repeat for more. "
            "An operation needs one of the scopes Infobip's API documentation lists for it (README: "
            "API key scopes). Without --scope the key has every scope.",
        ),
    ] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create another API key for an account and print it (it is stored hashed and cannot be shown again)."""
    from .domain.scopes import KNOWN_SCOPES, unknown_scopes

    unknown = unknown_scopes(scope or [])
    if unknown:
        typer.echo(
            f"error: unknown scope {', '.join(map(repr, unknown))}; known scopes: {', '.join(sorted(KNOWN_SCOPES))}",
            err=True,
        )
        raise typer.Exit(2)
    key = _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.write(lambda c: accounts.create_api_key(c, account, api_key, scope or None)),
    )
    console.print(key)


@apikey_app.command("list")
def apikey_list(
    account: Annotated[str | None, typer.Argument(help="Only this account's keys.")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List API keys (by their first 8 characters) with their account, scopes and state."""
    from .domain.dates import format_ms
    from .domain.scopes import format_scopes

    keys = _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.read(lambda c: accounts.list_api_keys(c, account)),
    )

    def when(ms: int) -> str:
        return (format_ms(ms) or "")[:16].replace("T", " ")  # to the minute, UTC

    table = Table("key", "account", "scopes", "created (UTC)", "state")
    for k in keys:
        state = "active" if k.revoked_at is None else f"revoked {when(k.revoked_at)}"
        table.add_row(k.prefix, k.account, format_scopes(k.scopes), when(k.created_at), state)
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    key: Annotated[str, typer.Argument(help="The key, or its first 8 characters.")],
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke an API key; requests using it get 401 from then on."""
    count = _run(
        _settings(config, data_dir, database_url),
        lambda gw: gw.db.write(lambda c: accounts.revoke_api_key(c, key)),
    )
    if not count:
        console.print("[red]no active key matches[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {count} key(s)")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None) -> None:
    """Create or migrate the schema to the current version (serve does this on start too)."""
    _run(_settings(config, data_dir, database_url), lambda gw: asyncio.sleep(0))
    console.print("schema is up to date")


@number_app.command("add")
def number_add(
    number: Annotated[str, typer.Argument(help="The number in international format, e.g. 41793026700.")],
    account: Annotated[str, typer.Option("--account", help="The account that receives its messages.")],
    keyword: Annotated[
        list[str] | None,
        typer.Option("--keyword", help="A keyword (first word of the text) to recognise; repeat for more."),
    ] = None,
    forward_url: Annotated[
        str | None,
        typer.Option(
            "--forward-url",
            help="Forward each message to this URL instead of keeping it for the inbox. "
            "With --method GET it is a template: %sender%, %receiver%, %text%, %bin%, %datetime%, "
            "%messageid%, %datacoding%, %esmclass%.",
        ),
    ] = None,
    method: Annotated[
        str, typer.Option(help="POST (the inbox JSON/XML body) or GET (the templated URL).")
    ] = "POST",
    content_type: Annotated[
        str, typer.Option("--content-type", help="application/json or application/xml, for POST.")
    ] = "application/json",
    price: Annotated[float, typer.Option(help="Price per received message part.")] = 0.0,
    smpp: Annotated[
        bool,
        typer.Option(
            "--smpp", help="Deliver each message as deliver_sm to the account's SMPP receiver sessions."
        ),
    ] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Give an account an inbound number."""

    async def action(gw):
        owner = await gw.db.read(lambda c: accounts.get(c, account))
        return await gw.inbound.add_number(
            owner,
            number,
            keywords=keyword or [],
            action="smpp" if smpp else "forward" if forward_url else "pull",
            forward_url=forward_url,
            forward_method=method,
            content_type=content_type,
            price=price,
        )

    added = _run(_settings(config, data_dir, database_url), action)
    where = (
        f"forwarded by {added.forward_method} to {added.forward_url}"
        if added.action == "forward"
        else "kept for GET /sms/1/inbox/reports"
    )
    if added.action == "smpp":
        where = "delivered as deliver_sm to its SMPP receiver sessions"
    console.print(f"number {added.number} -> account {added.account}: {where}")


@number_app.command("list")
def number_list(
    data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """List inbound numbers and where their messages go."""
    numbers = _run(_settings(config, data_dir, database_url), lambda gw: gw.inbound.list_numbers())
    table = Table("number", "account", "keywords", "action", "forward to")
    for n in numbers:
        target = f"{n.forward_method} {n.forward_url}" if n.forward_url else ""
        table.add_row(n.number, n.account, ",".join(n.keywords), n.action, target)
    console.print(table)


@number_app.command("remove")
def number_remove(
    number: str, data_dir: DataDir = None, config: ConfigFile = None, database_url: DatabaseUrl = None
) -> None:
    """Remove an inbound number; messages to it are refused from then on."""
    if not _run(_settings(config, data_dir, database_url), lambda gw: gw.inbound.remove_number(number)):
        console.print(f"[red]no inbound number {number}[/red]")
        raise typer.Exit(1)
    console.print(f"number {number} removed")


@simulate_app.command("inbound")
def simulate_inbound(
    sender: Annotated[str, typer.Option("--from", help="The handset sending the message.")],
    receiver: Annotated[str, typer.Option("--to", help="One of the gateway's inbound numbers.")],
    text: Annotated[str, typer.Option(help="The text; long texts arrive in concatenated parts.")],
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The simulated network originates a message to one of the gateway's numbers; a running gateway
    forwards it or keeps it for the inbox."""
    received = _run(
        _settings(config, data_dir, database_url), lambda gw: gw.inbound.simulate(sender, receiver, text)
    )
    console.print(
        f"inbound message {received.message_id} to {received.number} "
        f"({'forwarded' if received.action == 'forward' else 'in the inbox'})"
    )


@stats_app.command("bulk")
def stats_bulk(
    bulk_id: Annotated[str, typer.Argument(help="The bulkId of the send request.")],
    account: Annotated[str, typer.Option("--account", help="The account that sent the bulk.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON, as GET /admin/1/tracking/bulks.")
    ] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A bulk's messages sent and delivered, clicks, conversions, their rates and median times, per
    conversion type (from the database, as the admin API shows them)."""

    async def action(gw):
        found = await gw.db.read(lambda conn: accounts.get(conn, account))
        return await gw.tracking.bulk_stats(found.id, bulk_id)

    stats = _run(_settings(config, data_dir, database_url), action)
    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps(stats).decode() + "\n")
        return
    table = Table(
        "type",
        "sent",
        "delivered",
        "clicked",
        "clicks",
        "converted",
        "CTR",
        "conversion",
        "to click",
        "to convert",
    )

    def show(value) -> str:
        return "" if value is None else str(value)

    for s in stats["results"]:
        table.add_row(
            show(s["conversionType"]),
            str(s["sent"]),
            str(s["delivered"]),
            str(s["clickedRecipients"]),
            str(s["totalClicks"]),
            str(s["converted"]),
            show(s["clickThroughRate"]),
            show(s["conversionRate"]),
            show(s["medianSecondsToClick"]),
            show(s["medianSecondsToConversion"]),
        )
    console.print(f"bulk {bulk_id}")
    console.print(table)
    for s in stats["results"]:
        for what, counts in s["clicksBy"].items():
            if counts:
                shown = ", ".join(f"{k} {v}" for k, v in counts.items())
                console.print(f"{show(s['conversionType']) or '-'}: clicks by {what}: {shown}")


@stats_app.command("connectors")
def stats_connectors(
    since: Annotated[
        str | None, typer.Option("--since", help="Only messages accepted from this instant (ISO 8601).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Per connector: messages and parts it took, what the customers were charged for them and what
    they cost (the connector's [[connectors.prices]]; the simulator's [[simulator.prices]])."""
    from .domain.dates import parse_ms
    from .store import messages as message_store

    try:
        since_ms = parse_ms(since) if since else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None

    async def action(gw):
        return await gw.db.read(lambda conn: message_store.connector_costs(conn, since_ms))

    rows = _run(_settings(config, data_dir, database_url), action)
    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps({"results": rows}).decode() + "\n")
        return
    table = Table("connector", "currency", "messages", "parts", "charged", "cost", "margin", "unknown cost")
    for r in rows:
        table.add_row(
            r["connector"],
            r["currency"] or "",
            str(r["messages"]),
            str(r["parts"]),
            f"{r['charged']:.4f}",
            f"{r['cost']:.4f}",
            f"{r['margin']:.4f}",
            str(r["unknownCost"]),
        )
    console.print(table)


@app.command("smsc-simulator")
def smsc_simulator(
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 2775,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    delivery_delay: Annotated[
        float | None,
        typer.Option(
            "--delivery-delay",
            help="Seconds from submit to the delivery receipt [default: the config's, else 1].",
        ),
    ] = None,
    system_id: Annotated[
        list[str] | None,
        typer.Option(
            "--account", help="Accept only this system_id:password; repeat for more [default: accept any]."
        ),
    ] = None,
    throttle_every: Annotated[
        int, typer.Option("--throttle-every", help="Answer every Nth submit with ESME_RTHROTTLED (0: never).")
    ] = 0,
    config: ConfigFile = None,
) -> None:
    """Run the simulated operator network behind an SMPP 3.4 server, to test any SMPP client (smsgate's
    connectors or your own) against it. Outcomes and prices come from the config's [simulator] section;
    receipts follow registered_delivery. Stop with Ctrl-C."""
    from .simulator.smsc import run_simulator

    settings = _settings(config, None)
    credentials = None
    if system_id:
        try:
            credentials = dict(item.split(":", 1) for item in system_id)
        except ValueError:
            console.print("[red]--account takes system_id:password[/red]")
            raise typer.Exit(2) from None
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    delay = settings.simulator_delivery_delay if delivery_delay is None else delivery_delay

    def ready(sim) -> None:
        who = "any system_id" if credentials is None else ", ".join(sorted(credentials))
        console.print(f"SMSC simulator on {host}:{sim.port} (accepting {who}; receipts after {delay}s)")

    try:
        asyncio.run(
            run_simulator(
                host,
                port,
                settings.network,
                delay,
                credentials,
                on_ready=ready,
                throttle_every=throttle_every,
            )
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        console.print(f"[red]cannot listen on {host}:{port}:[/red] {exc}")
        raise typer.Exit(1) from None


@connector_app.command("list")
def connector_list(
    url: Annotated[
        str, typer.Option(help="The running gateway [env: SMSGATE_URL].", envvar="SMSGATE_URL")
    ] = "http://127.0.0.1:8080",
    token: Annotated[
        str | None,
        typer.Option(
            help="The gateway's admin token [env: SMSGATE_ADMIN_TOKEN].", envvar="SMSGATE_ADMIN_TOKEN"
        ),
    ] = None,
) -> None:
    """Show each connector of a running gateway: its state and counters (asks GET /admin/1/connectors)."""
    import httpx

    if not token:
        console.print("[red]give the gateway's admin token with --token or SMSGATE_ADMIN_TOKEN[/red]")
        raise typer.Exit(2)
    try:
        r = httpx.get(
            url.rstrip("/") + "/admin/1/connectors", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot reach the gateway at {url}:[/red] {exc}")
        raise typer.Exit(1) from None
    if r.status_code != 200:
        console.print(f"[red]the gateway answered {r.status_code}:[/red] {r.text}")
        raise typer.Exit(1)
    table = Table("name", "kind", "state", "address", "counters")
    for c in r.json()["connectors"]:
        counters = ", ".join(f"{k} {v}" for k, v in (c.get("counters") or {}).items())
        table.add_row(c["name"], c["kind"], c["state"], c.get("address") or "", counters)
    console.print(table)


def _register_client_commands() -> None:
    from .cli_client import register

    register(app)


_register_client_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
