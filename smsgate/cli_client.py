"""The CLI commands that talk to a running gateway over its HTTP API, as a customer's client would:
``smsgate send``, ``smsgate watch BULKID`` and ``smsgate logs export`` (which can also read the
database directly, for the operator). Registered on cli.py's app by ``register``.

Progress bars and notes go to stderr, results to stdout, so ``> file`` captures only the data."""

from __future__ import annotations

import csv
import json
import re
import string
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    import httpx

    from .config import Settings

err = Console(stderr=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)

# the CSV column that holds each row's number: the first of these the header has (any case)
NUMBER_COLUMNS = ("to", "phone", "number")
# destinations per POST /sms/3/messages; the API takes up to 10,000, smaller batches move the bar
DEFAULT_BATCH = 1000
LOG_PAGE = 1000  # the logs API's largest page
FINAL_GROUPS = frozenset({"DELIVERED", "UNDELIVERABLE", "EXPIRED", "REJECTED"})
CSV_FIELDS = (
    "bulkId",
    "messageId",
    "destination",
    "sender",
    "sentAt",
    "doneAt",
    "messageCount",
    "mccMnc",
    "pricePerMessage",
    "currency",
    "statusGroup",
    "status",
    "errorGroup",
    "error",
    "text",
)


# ---------------------------------------------------------------------------------------------------
# options shared by the client commands


Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The running gateway [default: http://HOST:PORT of the configuration, "
        "as `smsgate serve` listens].",
        envvar="SMSGATE_URL",
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", help="The account's API key.", envvar="SMSGATE_API_KEY"),
]
Username = Annotated[
    str | None,
    typer.Option("--username", help="Basic auth instead of an API key.", envvar="SMSGATE_USERNAME"),
]
Password = Annotated[
    str | None, typer.Option("--password", help="The username's password.", envvar="SMSGATE_PASSWORD")
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="TOML configuration file [env: SMSGATE_CONFIG].", exists=True, dir_okay=False
    ),
]


def gateway_url(settings: Settings) -> str:
    """Where a client on this machine reaches the gateway ``serve`` starts with these settings."""
    host = settings.host
    if host in ("", "0.0.0.0"):  # listening everywhere: loopback is one of them
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


@dataclass(frozen=True, slots=True)
class Client:
    """An account's view of one gateway: base URL and credentials."""

    base: str
    headers: dict[str, str]
    auth: tuple[str, str] | None

    def http(self) -> httpx.Client:
        import httpx

        return httpx.Client(
            base_url=self.base, headers=self.headers, auth=self.auth, timeout=httpx.Timeout(120, connect=10)
        )


def client(
    url: str | None, api_key: str | None, username: str | None, password: str | None, config: Path | None
) -> Client:
    if url is None:
        from .cli import _settings

        url = gateway_url(_settings(config, None))
    if api_key:
        return Client(url.rstrip("/"), {"Authorization": f"App {api_key}"}, None)
    if username and password:
        return Client(url.rstrip("/"), {}, (username, password))
    raise _fail("give the account's --api-key (or SMSGATE_API_KEY), or --username and --password", 2)


def error_text(response: httpx.Response) -> str:
    """The reason in any of the API families' error shapes, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        exc = body.get("requestError", {}).get("serviceException", {})
        text = exc.get("text") or body.get("description") or body.get("errorMessage")
        if text:
            return str(text)
    return response.text[:200]


class Stop(Exception):
    """The gateway cannot be talked to any more (unreachable, or the credentials refused).
    ``maybe_taken``: the request reached it, and the answer was lost (a send may have been accepted)."""

    def __init__(self, message: str, maybe_taken: bool = False) -> None:
        super().__init__(message)
        self.maybe_taken = maybe_taken


def request(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One call; a 429 is waited out (Retry-After), transport errors and auth refusals raise Stop."""
    import httpx

    while True:
        try:
            response = http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise Stop(f"cannot reach the gateway at {http.base_url}: {exc}") from None
        except httpx.HTTPError as exc:
            raise Stop(f"no answer from the gateway at {http.base_url}: {exc!r}", maybe_taken=True) from None
        if response.status_code == 429:
            time.sleep(min(float(response.headers.get("Retry-After", "1") or 1), 60))
            continue
        if response.status_code in (401, 403):
            raise Stop(
                f"the gateway refused the credentials ({response.status_code}): {error_text(response)}"
            )
        return response


def _progress(*, total_known: bool = True) -> Progress:
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total_known:
        columns += [BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    else:
        columns += [TextColumn("{task.completed} rows"), TimeElapsedColumn()]
    return Progress(*columns, console=err)


# ---------------------------------------------------------------------------------------------------
# smsgate send


@dataclass(frozen=True, slots=True)
class Row:
    """One destination to send: where it came from (a CSV line or --to), its number and text."""

    line: int
    to: str
    text: str


@dataclass(slots=True)
class Outcome:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    bad_rows: list[str] = field(default_factory=list)  # the client's own refusals, one line each

    def refuse(self, line: int, reason: str) -> None:
        self.rejected[reason] += 1
        self.bad_rows.append(f"row {line}: {reason}")


def placeholders(template: str) -> list[str]:
    """The names of ``{name}`` placeholders; ``{{`` and ``}}`` are literal braces."""
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _fail(f"--text: {exc} (write {{{{ and }}}} for literal braces)", 2) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise _fail(f"--text: {{{name}}} is not a placeholder: use {{column}}, a CSV column's name", 2)
        names.append(name)
    return names


def read_contacts(path: Path, template: str, outcome: Outcome) -> Iterator[Row]:
    """The rows of a contacts file with their texts; rows that cannot be sent go to ``outcome``."""
    names = placeholders(template)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise _fail(f"--file {path}: {exc.strerror}", 2) from None
    with handle:
        reader = csv.DictReader(handle)
        header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
        column = next((header[c] for c in NUMBER_COLUMNS if c in header), None)
        if column is None:
            raise _fail(
                f"--file {path}: the header needs a column of numbers named one of "
                f"{', '.join(NUMBER_COLUMNS)} (found: {', '.join(header.values()) or 'no header'})",
                2,
            )
        keys = {n: header.get(n.lower()) for n in names}
        try:
            for record in reader:
                line = reader.line_num
                if None in record:  # more cells than the header names
                    outcome.refuse(line, "more cells than the header has columns")
                    continue
                to = (record.get(column) or "").strip()
                if not to:
                    outcome.refuse(line, f"no number in column {column}")
                    continue
                values = {}
                for name, key in keys.items():
                    value = record.get(key) if key is not None else None
                    if key is None:
                        outcome.refuse(line, f"placeholder {{{name}}}: no such column")
                        break
                    if value is None or not value.strip():
                        outcome.refuse(line, f"placeholder {{{name}}}: empty")
                        break
                    values[name] = value.strip()
                else:
                    yield Row(line, to, template.format_map(values))
        except csv.Error as exc:
            raise _fail(f"--file {path} line {reader.line_num}: {exc}", 2) from None


def batch_body(rows: list[Row], sender: str | None, bulk_id: str) -> dict[str, Any]:
    """One POST /sms/3/messages body: rows with the same text share one message's destinations."""
    by_text: dict[str, list[Row]] = {}
    for row in rows:
        by_text.setdefault(row.text, []).append(row)
    messages = []
    for text, group in by_text.items():
        message: dict[str, Any] = {
            "destinations": [{"to": r.to} for r in group],
            "content": {"text": text},
        }
        if sender:
            message["sender"] = sender
        messages.append(message)
    return {"messages": messages, "options": {"schedule": {"bulkId": bulk_id}}}


def send_batch(
    http: httpx.Client, rows: list[Row], sender: str | None, bulk_id: str, outcome: Outcome
) -> None:
    response = request(http, "POST", "/sms/3/messages", json=batch_body(rows, sender, bulk_id))
    if response.status_code != 200:
        reason = f"HTTP {response.status_code}: {error_text(response)}"
        outcome.rejected[reason] += len(rows)
        return
    for message in response.json().get("messages", []):
        status = message.get("status") or {}
        if status.get("groupName") == "REJECTED":
            outcome.rejected[status.get("name") or "REJECTED"] += 1
        else:
            outcome.accepted += 1


def chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def send(
    text: Annotated[
        str, typer.Option("--text", help="The message; with --file, {column} takes each row's value.")
    ],
    to: Annotated[
        list[str] | None, typer.Option("--to", help="A destination number; repeat for more.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="A CSV file with a header: a column named to, phone or number (the first present) holds "
            "the number, and one column per {placeholder} of --text.",
            dir_okay=False,
        ),
    ] = None,
    sender: Annotated[str | None, typer.Option("--from", help="The sender (a name or a number).")] = None,
    bulk_id: Annotated[
        str | None, typer.Option("--bulk-id", help="The bulk's id [default: a new one].")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=10_000, help="Destinations per request.")
    ] = DEFAULT_BATCH,
    url: Url = None,
    api_key: ApiKey = None,
    username: Username = None,
    password: Password = None,
    config: ConfigFile = None,
) -> None:
    """Send a bulk through a running gateway's HTTP API (POST /sms/3/messages, in batches), with a
    progress bar; prints the bulkId and how many rows were accepted and rejected, and why."""
    from .domain.ids import new_id

    if bool(to) == bool(file):
        raise _fail("give either --to (one or more) or --file", 2)
    c = client(url, api_key, username, password, config)
    outcome = Outcome()
    if file is not None:
        rows: list[Row] = list(read_contacts(file, text, outcome))
    else:
        if placeholders(text):
            raise _fail("--text has {placeholders}: they take their values from a --file's columns", 2)
        rows = [Row(i, number.strip(), text) for i, number in enumerate(to or [], 1)]
    bulk_id = bulk_id or new_id()  # one bulk across the batches, the gateway's own id format
    with c.http() as http, _progress() as progress:
        # the rows refused here count as done at once: the bar goes to every row of the file
        task = progress.add_task("sending", total=len(rows) + len(outcome.bad_rows))
        progress.advance(task, len(outcome.bad_rows))
        sent, stopped = 0, None
        for batch in chunks(iter(rows), batch_size):
            try:
                send_batch(http, batch, sender, bulk_id, outcome)
            except Stop as exc:
                # the batch in flight may or may not have been taken; the rest were not sent
                stopped = str(exc)
                if exc.maybe_taken:
                    outcome.rejected[f"unknown (no answer; see the logs): {stopped}"] += len(batch)
                    sent += len(batch)
                if len(rows) > sent:
                    outcome.rejected[f"not sent: {stopped}"] += len(rows) - sent
                break
            sent += len(batch)
            progress.advance(task, len(batch))
    for line in outcome.bad_rows[:20]:
        err.print(line, markup=False, highlight=False)
    if len(outcome.bad_rows) > 20:
        err.print(f"... and {len(outcome.bad_rows) - 20} more rows refused", markup=False)
    out.print(f"bulkId   {bulk_id}", markup=False)
    out.print(f"accepted {outcome.accepted}", markup=False)
    out.print(f"rejected {outcome.rejected.total()}", markup=False)
    for reason, count in outcome.rejected.most_common():
        out.print(f"  {count:>7}  {reason}", markup=False)
    if stopped is not None:
        raise _fail(stopped)
    if outcome.accepted == 0:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------------
# smsgate watch


def log_pages(http: httpx.Client, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    """Every page of GET /sms/3/logs for these filters, by cursor."""
    query = {**params, "limit": str(LOG_PAGE), "useCursor": "true"}
    while True:
        response = request(http, "GET", "/sms/3/logs", params=query)
        if response.status_code != 200:
            raise _fail(f"the gateway answered {response.status_code}: {error_text(response)}")
        body = response.json()
        yield body.get("results", [])
        cursor = (body.get("cursor") or {}).get("nextCursor")
        if not cursor:
            return
        query["cursor"] = cursor


IDS_PER_QUERY = 500  # messageIds in one logs query: 500 x 27 characters stays well within a URL


class BulkStatuses:
    """The status of each message of a bulk, kept current with few log reads: one full read, then
    each poll reads only the bulk's pending messages and those that stopped being pending (a final
    status does not change). A full read again when the bulk has grown, and before saying it is done."""

    def __init__(self, http: httpx.Client, bulk_id: str) -> None:
        self.http, self.bulk_id = http, bulk_id
        self.status: dict[str, tuple[str, str]] = {}
        self.last_was_full = False  # the last poll read the whole bulk
        self.full_reads = 0

    def _take(self, params: dict[str, str]) -> set[str]:
        seen = set()
        for page in log_pages(self.http, {"bulkId": self.bulk_id, **params}):
            for log in page:
                status = log.get("status") or {}
                self.status[log["messageId"]] = (status.get("groupName", "?"), status.get("name", "?"))
                seen.add(log["messageId"])
        return seen

    def _full(self) -> None:
        self._take({})
        self.last_was_full = True
        self.full_reads += 1

    def poll(self) -> None:
        if not self.status:  # the first poll, or nothing of the bulk seen yet
            self._full()
            return
        was_pending = {m for m, (group, _) in self.status.items() if group not in FINAL_GROUPS}
        known = set(self.status)
        pending = self._take({"generalStatus": "PENDING"})
        if pending - known:  # the bulk grew: some of it may have gone final unseen
            self._full()
            return
        self.last_was_full = False
        left = sorted(was_pending - pending)
        for i in range(0, len(left), IDS_PER_QUERY):
            self._take({"messageId": ",".join(left[i : i + IDS_PER_QUERY])})

    def done(self) -> bool:
        """Every message final, as a full read of the bulk shows (one more read unless the last poll was)."""
        if not self.status or any(group not in FINAL_GROUPS for group, _ in self.status.values()):
            return False
        if not self.last_was_full:
            self._full()
            return self.done()
        return True

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter(self.status.values())


def _groups_line(counts: Counter[tuple[str, str]]) -> str:
    groups: Counter[str] = Counter()
    for (group, _), n in counts.items():
        groups[group] += n
    return "  ".join(f"{g.lower()} {n}" for g, n in sorted(groups.items())) or "no messages yet"


def watch(
    bulk_id: Annotated[str, typer.Argument(help="The bulkId that `smsgate send` (or the API) gave.")],
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between polls.")] = 2.0,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Give up after this many seconds (exit 1).")
    ] = None,
    url: Url = None,
    api_key: ApiKey = None,
    username: Username = None,
    password: Password = None,
    config: ConfigFile = None,
) -> None:
    """Follow a bulk until every message is final (delivered, undeliverable, expired or rejected),
    with a live progress bar of its statuses (polls GET /sms/3/logs?bulkId=, the last 48 hours)."""
    c = client(url, api_key, username, password, config)
    deadline = None if timeout is None else time.monotonic() + timeout
    counts: Counter[tuple[str, str]] = Counter()
    finished = False
    try:
        with c.http() as http, _progress() as progress:
            task = progress.add_task(f"bulk {bulk_id}", total=None)
            bulk = BulkStatuses(http, bulk_id)
            while True:
                bulk.poll()
                finished = bulk.done()
                counts = bulk.counts()
                total = counts.total()
                final = sum(n for (group, _), n in counts.items() if group in FINAL_GROUPS)
                progress.update(
                    task, total=total or None, completed=final, description=f"{_groups_line(counts)}"
                )
                if finished:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(
                    interval if deadline is None else max(0, min(interval, deadline - time.monotonic()))
                )
    except Stop as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        _status_table(bulk_id, counts)
        raise typer.Exit(130) from None
    _status_table(bulk_id, counts)
    if not finished:
        raise _fail(
            f"bulk {bulk_id}: not final after {timeout:g} s" if counts else f"no messages of bulk {bulk_id}"
        )


def _status_table(bulk_id: str, counts: Counter[tuple[str, str]]) -> None:
    out.print(f"bulkId {bulk_id}: {counts.total()} messages", markup=False)
    for (group, name), n in sorted(counts.items()):
        out.print(f"  {n:>7}  {group:<13} {name}", markup=False)


# ---------------------------------------------------------------------------------------------------
# smsgate logs export

logs_app = typer.Typer(
    help="Message logs (the last 48 hours, as the logs API keeps them).", no_args_is_help=True
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 3600, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> float:
    """``90s``, ``30m``, ``2h``, ``1d`` (a bare number is hours) -> seconds."""
    match = _DURATION.match(value.lower())
    if not match:
        raise typer.BadParameter("a duration like 30m, 2h or 1d", param_hint="--since")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def csv_record(log: dict[str, Any]) -> dict[str, Any]:
    """A v3 log object flattened to CSV_FIELDS (and ``account`` when it has one)."""
    status, error, price = log.get("status") or {}, log.get("error") or {}, log.get("price") or {}
    content = log.get("content") or {}
    record = {
        "account": log.get("account"),
        "bulkId": log.get("bulkId"),
        "messageId": log.get("messageId"),
        "destination": log.get("destination"),
        "sender": log.get("sender"),
        "sentAt": log.get("sentAt"),
        "doneAt": log.get("doneAt"),
        "messageCount": log.get("messageCount"),
        "mccMnc": log.get("mccMnc"),
        "pricePerMessage": price.get("pricePerMessage"),
        "currency": price.get("currency"),
        "statusGroup": status.get("groupName"),
        "status": status.get("name"),
        "errorGroup": error.get("groupName"),
        "error": error.get("name"),
        "text": content.get("text", content.get("hex")),
    }
    return record


class Writer:
    """CSV or JSON lines to a stream, one log at a time."""

    def __init__(self, stream: IO[str], fmt: str, with_account: bool) -> None:
        self.stream, self.fmt = stream, fmt
        self.csv: csv.DictWriter[str] | None = None
        if fmt == "csv":
            fields = ("account", *CSV_FIELDS) if with_account else CSV_FIELDS
            self.csv = csv.DictWriter(stream, fields, extrasaction="ignore", lineterminator="\n")
            self.csv.writeheader()

    def write(self, logs: list[dict[str, Any]]) -> None:
        if self.csv is not None:
            self.csv.writerows(csv_record(log) for log in logs)
        else:
            self.stream.writelines(json.dumps(log, ensure_ascii=False) + "\n" for log in logs)
        self.stream.flush()


def _since_text(seconds: float, retention_hours: float) -> float:
    if seconds > retention_hours * 3600:
        err.print(
            f"note: logs are kept {retention_hours:g} hours; exporting those (not {seconds / 3600:g} h)",
            markup=False,
        )
        return retention_hours * 3600
    return seconds


def export_http(c: Client, since_s: float, writer: Writer, bulk_id: str | None) -> int:
    from .domain.dates import format_ms

    # no cap here: the gateway applies its own retention (48 h unless configured otherwise)
    params = {"sentSince": format_ms(int((time.time() - since_s) * 1000)) or ""}
    if bulk_id:
        params["bulkId"] = bulk_id
    done = 0
    with c.http() as http, _progress(total_known=False) as progress:
        task = progress.add_task("exporting")
        for page in log_pages(http, params):
            writer.write(page)
            done += len(page)
            progress.update(task, completed=done)
    return done


def export_database(
    settings: Settings, since_s: float, writer: Writer, account: str | None, bulk_id: str | None
) -> int:
    """The operator's export: every account's logs (or one's), read from the database."""
    from .cli import _run
    from .domain.dates import now_ms
    from .store import accounts as accounts_store
    from .store import messages as q
    from .wire import render

    since_s = _since_text(since_s, settings.log_retention_hours)

    async def action(gw) -> int:
        if account is not None:
            chosen = [await gw.db.read(lambda conn: accounts_store.get(conn, account))]
        else:
            chosen = [a for a, _ in await gw.db.read(accounts_store.list_accounts)]
        done = 0
        since = now_ms() - int(since_s * 1000)
        with _progress(total_known=False) as progress:
            task = progress.add_task("exporting")
            for a in chosen:
                cursor = None
                while True:
                    f = q.LogFilter(
                        account_id=a.id,
                        bulk_ids=[bulk_id] if bulk_id else [],
                        since_ms=since,
                        cursor=cursor,
                        limit=LOG_PAGE,
                    )
                    rows = await gw.db.read(lambda conn, f=f: q.query_logs(conn, f))
                    writer.write([{"account": a.name, **render.log_v3(r)} for r in rows])
                    done += len(rows)
                    progress.update(task, completed=done)
                    if len(rows) < LOG_PAGE:
                        break
                    cursor = (rows[-1].created_at, rows[-1].id)
        return done

    return _run(settings, action)


@logs_app.command("export")
def logs_export(
    since: Annotated[
        str, typer.Option("--since", help="How far back: 30m, 2h, 1d (at most the 48 h the logs keep).")
    ] = "48h",
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl (one v3 log object a line).")] = "csv",
    bulk_id: Annotated[str | None, typer.Option("--bulk-id", help="Only this bulk's messages.")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Read the database itself (the operator: every account) instead of a gateway's API.",
        ),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="As --data-dir, for a database at this URL.")
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="With --data-dir/--database-url: only this account.")
    ] = None,
    url: Url = None,
    api_key: ApiKey = None,
    username: Username = None,
    password: Password = None,
    config: ConfigFile = None,
) -> None:
    """Write message logs to stdout (newest first), with progress on stderr: `> logs.csv`.

    Through a running gateway's logs API (GET /sms/3/logs by cursor) with an account's credentials,
    or, with --data-dir or --database-url, straight from the database for every account."""
    if fmt not in ("csv", "jsonl"):
        raise typer.BadParameter("csv or jsonl", param_hint="--format")
    seconds = parse_duration(since)
    direct = data_dir is not None or database_url is not None
    if account is not None and not direct:
        raise _fail("--account is for the database export (--data-dir or --database-url)", 2)
    writer = Writer(sys.stdout, fmt, with_account=direct)
    if direct:
        from .cli import _settings

        done = export_database(_settings(config, data_dir, database_url), seconds, writer, account, bulk_id)
    else:
        try:
            done = export_http(client(url, api_key, username, password, config), seconds, writer, bulk_id)
        except Stop as exc:
            raise _fail(str(exc)) from None
    err.print(f"{done} messages exported", markup=False)


def register(app: typer.Typer) -> None:
    app.command("send")(send)
    app.command("watch")(watch)
    app.add_typer(logs_app, name="logs")
