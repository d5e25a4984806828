"""The client commands as a user runs them: `smsgate send`, `watch` and `logs export` in real
subprocesses against the shared live gateway, each test with an account of its own so its logs hold
exactly what it sent."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import uuid
from importlib.metadata import version

import httpx
import pytest
from live import LiveGateway, eventually, free_port

# rich draws its live bar only on what it takes for an interactive terminal: say so, with a width
TERMINAL = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "120"}


def _run(gw: LiveGateway, *args: str, env: dict[str, str] | None = None, timeout: float = 300):
    full = {**gw.env(), "SMSGATE_URL": gw.base_url, **(env or {})}
    return subprocess.run(
        gw.smsgate(*args), env=full, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def account(deployment):
    return deployment.gateway.create_account(f"cli{uuid.uuid4().hex[:10]}")


def _summary(stdout: str) -> tuple[str, int, int, dict[str, int]]:
    lines = stdout.splitlines()
    fields = dict(line.split(None, 1) for line in lines if line and not line.startswith(" "))
    reasons = {}
    for line in lines:
        if line.startswith("  "):
            count, reason = line.strip().split(None, 1)
            reasons[reason] = int(count)
    return fields["bulkId"], int(fields["accepted"]), int(fields["rejected"]), reasons


def _export(deployment, account, fmt: str, *extra: str) -> str:
    result = _run(
        deployment.gateway,
        "logs",
        "export",
        "--since",
        "1h",
        "--format",
        fmt,
        *extra,
        env={"SMSGATE_API_KEY": account.api_key},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_send_file_of_10000_rows_summary_matches_the_logs(deployment, account, tmp_path):
    contacts = tmp_path / "contacts.csv"
    rows = [("phone", "name")]
    rows += [(f"4179{i:07d}", f"n{i}") for i in range(9_994)]
    rows += [("41790000001", ""), ("41790000002", "")]  # the placeholder's cell empty
    rows += [("", "nobody")]  # no number
    rows += [("12", "short"), ("abc", "letters")]  # numbers the gateway refuses
    with contacts.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    with contacts.open("a") as f:
        f.write("41790000003,extra,cell\n")  # one cell more than the header
    assert len(rows) - 1 + 1 == 10_000

    result = _run(
        deployment.gateway,
        "send",
        "--file",
        str(contacts),
        "--text",
        "Hi {name}",
        "--from",
        "InfoSMS",
        env={"SMSGATE_API_KEY": account.api_key, **TERMINAL},
    )
    assert result.returncode == 0, result.stderr
    bulk_id, accepted, rejected, reasons = _summary(result.stdout)
    assert accepted + rejected == 10_000
    assert reasons["placeholder {name}: empty"] == 2
    assert reasons["no number in column phone"] == 1
    assert reasons["more cells than the header has columns"] == 1
    assert reasons["REJECTED_DESTINATION"] >= 2  # "12" and "abc" at least
    assert "row 3" not in result.stderr  # good rows are not listed
    assert f"row {9_994 + 2}: placeholder {{name}}: empty" in result.stderr
    # the bar, drawn in the (forced) terminal, reached every row
    assert "sending" in result.stderr
    assert "━" in result.stderr
    assert "10000/10000" in result.stderr

    logs = [
        json.loads(line) for line in _export(deployment, account, "jsonl", "--bulk-id", bulk_id).splitlines()
    ]
    assert {log["bulkId"] for log in logs} == {bulk_id}
    assert sum(log["status"]["groupName"] != "REJECTED" for log in logs) == accepted
    texts = {log["destination"]: log["content"]["text"] for log in logs}
    assert texts["41790000007"] == "Hi n7"


def test_send_to_and_watch_until_final(deployment, account):
    result = _run(
        deployment.gateway,
        "send",
        "--to",
        "41793026727",
        "--to",
        "41793026728",
        "--text",
        "hello",
        env={"SMSGATE_API_KEY": account.api_key},
    )
    assert result.returncode == 0, result.stderr
    bulk_id, accepted, rejected, _ = _summary(result.stdout)
    assert (accepted, rejected) == (2, 0)

    watched = _run(
        deployment.gateway,
        "watch",
        bulk_id,
        "--interval",
        "0.2",
        "--timeout",
        "60",
        env={"SMSGATE_USERNAME": account.username, "SMSGATE_PASSWORD": account.password, **TERMINAL},
    )
    assert watched.returncode == 0, watched.stderr
    assert f"bulkId {bulk_id}: 2 messages" in watched.stdout
    # every line of the table names a final group
    table = [line.split() for line in watched.stdout.splitlines()[1:]]
    assert sum(int(n) for n, _, _ in table) == 2
    assert all(group in {"DELIVERED", "UNDELIVERABLE", "EXPIRED", "REJECTED"} for _, group, _ in table)
    assert "━" in watched.stderr


def test_watch_gives_up_on_an_unknown_bulk(deployment, account):
    watched = _run(
        deployment.gateway,
        "watch",
        "no-such-bulk",
        "--interval",
        "0.1",
        "--timeout",
        "0.5",
        env={"SMSGATE_API_KEY": account.api_key},
    )
    assert watched.returncode == 1
    assert "no messages of bulk no-such-bulk" in watched.stderr


def test_logs_export_csv_and_jsonl_hold_exactly_what_was_sent(deployment, account):
    sent = httpx.post(
        deployment.base_url + "/sms/3/messages",
        headers=account.app,
        json={
            "messages": [
                {
                    "sender": "Shop",
                    "destinations": [{"to": f"4179302{i:04d}"} for i in range(5)],
                    "content": {"text": 'a, "b"\nc'},
                }
            ]
        },
        timeout=30,
    ).json()
    ids = {m["messageId"] for m in sent["messages"]}
    assert len(ids) == 5

    lines = _export(deployment, account, "jsonl").splitlines()
    assert {json.loads(line)["messageId"] for line in lines} == ids
    assert all(json.loads(line)["content"]["text"] == 'a, "b"\nc' for line in lines)

    records = list(csv.DictReader(io.StringIO(_export(deployment, account, "csv"))))
    assert {r["messageId"] for r in records} == ids
    assert {r["sender"] for r in records} == {"Shop"}
    assert {r["text"] for r in records} == {'a, "b"\nc'}
    assert "account" not in records[0]

    # the operator's export, straight from the database: the same messages, with the account
    gw = deployment.gateway
    where = ["--database-url", gw.database_url] if gw.database_url else ["--data-dir", str(gw.data_dir)]
    direct = _run(deployment.gateway, "logs", "export", "--format", "csv", "--account", account.name, *where)
    assert direct.returncode == 0, direct.stderr
    records = list(csv.DictReader(io.StringIO(direct.stdout)))
    assert {r["messageId"] for r in records} == ids
    assert {r["account"] for r in records} == {account.name}
    assert "5 messages exported" in direct.stderr


def test_version_is_the_package_version(tmp_path):
    result = _run(LiveGateway(tmp_path), "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"smsgate {version('smsgate')}"


def test_account_create_hint_names_the_configured_port(tmp_path):
    gw = LiveGateway(tmp_path / "data", env_extra={"SMSGATE_PORT": "9123", "SMSGATE_HOST": "0.0.0.0"})
    result = gw.cli("account", "create", "hinted")
    assert "http://127.0.0.1:9123/sms/3/logs" in result.stdout


def test_send_to_no_gateway_counts_every_row_as_not_sent(tmp_path):
    # no gateway at all (and no backend to vary): a data directory of its own for the environment
    result = _run(
        LiveGateway(tmp_path),
        "send",
        "--to",
        "41793026727",
        "--to",
        "41793026728",
        "--text",
        "x",
        env={"SMSGATE_API_KEY": "any", "SMSGATE_URL": f"http://127.0.0.1:{free_port()}"},
    )
    assert result.returncode == 1
    _, accepted, rejected, reasons = _summary(result.stdout)
    assert (accepted, rejected) == (0, 2)
    assert [reason.split(":")[0] for reason in reasons] == ["not sent"]
    assert "cannot reach the gateway" in result.stderr
    assert "Traceback" not in result.stderr


def test_send_with_a_wrong_key_stops_with_one_line(deployment):
    result = _run(
        deployment.gateway, "send", "--to", "41793026727", "--text", "x", env={"SMSGATE_API_KEY": "nope"}
    )
    assert result.returncode == 1
    assert "the gateway refused the credentials (401)" in result.stderr
    assert "Traceback" not in result.stderr


def _send_into(deployment, account, bulk_id: str, numbers: list[str]) -> set[str]:
    body = {
        "messages": [{"destinations": [{"to": n} for n in numbers], "content": {"text": "t"}}],
        "options": {"schedule": {"bulkId": bulk_id}},
    }
    r = httpx.post(deployment.base_url + "/sms/3/messages", headers=account.app, json=body, timeout=30)
    assert r.status_code == 200, r.text
    return {m["messageId"] for m in r.json()["messages"]}


def test_watch_reads_the_whole_bulk_only_at_start_on_growth_and_to_confirm(deployment, account):
    from smsgate.cli_client import BulkStatuses, Client

    bulk_id = f"grow-{uuid.uuid4().hex[:8]}"
    first = _send_into(deployment, account, bulk_id, ["41793026727", "41793026728"])
    with Client(deployment.base_url, account.app, None).http() as http:
        bulk = BulkStatuses(http, bulk_id)
        bulk.poll()
        assert set(bulk.status) == first and bulk.full_reads == 1
        later = _send_into(deployment, account, bulk_id, ["41793026729"])  # the bulk grows

        def finished() -> bool:
            bulk.poll()
            return bulk.done()

        eventually(finished, timeout=30, interval=0.1)
    assert set(bulk.status) == first | later
    assert all(group == "DELIVERED" for group, _ in bulk.status.values())
    # the first read, one when the third message appeared pending (or the confirming one), and the
    # confirming one: never one per poll
    assert bulk.full_reads <= 3


def test_watch_stops_on_ctrl_c_with_what_it_saw(deployment, account, tmp_path):
    gw = deployment.gateway
    env = {**gw.env(), "SMSGATE_URL": gw.base_url, "SMSGATE_API_KEY": account.api_key, **TERMINAL}
    err_path = tmp_path / "stderr"
    # Ctrl-C as a terminal delivers it: a suite started in the background, or by a tool that ignores
    # SIGINT as system() does, hands SIG_IGN on to its children, and Python keeps a SIGINT it inherited
    # ignored (the command then ran out this test's 30 s). A handled signal is reset by exec: the
    # command starts with SIGINT at its default, as from a shell at a terminal.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    with err_path.open("w") as err_file:
        try:
            proc = subprocess.Popen(
                gw.smsgate("watch", "never-sent", "--interval", "0.1"),
                env=env,
                stdout=subprocess.PIPE,
                stderr=err_file,
                text=True,
            )
        finally:
            signal.signal(signal.SIGINT, inherited)
        try:
            eventually(lambda: "no messages yet" in err_path.read_text(), timeout=30)  # polling now
            proc.send_signal(signal.SIGINT)
            stdout, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130
    assert "interrupted" in err_path.read_text()
    assert "bulkId never-sent: 0 messages" in stdout
