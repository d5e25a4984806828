"""The web console in a real browser: Debian's headless Chromium (/usr/bin/chromium; `.ci/run` installs
it) driven by Playwright, against a live gateway with an SMPP connector to a simulated SMSC.

Signs in as a customer and as the operator; sends from the form and follows the message to
DELIVERED on its timeline, with a report push that failed and its retry time; sees the overview's
numbers move; pauses and resumes a bulk; sees a connector go down when its SMSC stops and come back,
and stops and starts it; a customer editing the URL to another account's message gets nothing.
Screenshots of each page go to the tests' output folder (printed), and to
SMSGATE_CONSOLE_SCREENSHOTS when set (how docs/console/*.png were made).

No skip: without Chromium these tests fail, so CI cannot pass while silently not running them."""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parents[1] / "api"))

from console_client import ThreadedSmsc, smpp_config
from helpers import send_v2, uid
from live import ADMIN_TOKEN, LiveGateway, eventually, free_port
from receiver import Receiver

CHROMIUM = "/usr/bin/chromium"
WAIT = 20_000  # ms: what a page may take to show what the gateway did


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> list[Path]:
    """Where screenshots go: the tests' output folder, and SMSGATE_CONSOLE_SCREENSHOTS if set."""
    folders = [tmp_path_factory.mktemp("console-screenshots")]
    if os.environ.get("SMSGATE_CONSOLE_SCREENSHOTS"):
        folders.append(Path(os.environ["SMSGATE_CONSOLE_SCREENSHOTS"]))
    for f in folders:
        f.mkdir(parents=True, exist_ok=True)
    print(f"\nconsole screenshots: {folders[0]}")
    return folders


def screenshot(page, shots: list[Path], name: str) -> None:
    for folder in shots:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert (shots[0] / f"{name}.png").stat().st_size > 10_000  # a page, not a blank


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does); the browser tests do not skip"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # root in a container: Chromium's sandbox needs user namespaces it may not have
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    smsc = ThreadedSmsc(free_port(), {"gw": "secret"})
    smsc.start()
    gw = LiveGateway(tmp_path_factory.mktemp("console-browser"), config_toml=smpp_config(smsc.port))
    dave = gw.create_account("dave")
    erin = gw.create_account("erin")
    gw.start()
    yield gw, smsc, dave, erin
    gw.stop()
    smsc.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # a Content-Security-Policy violation (something the page would load from elsewhere, inline code)
    # is a console error, not a page error
    pg.on("console", lambda m: m.type == "error" and "status of 40" not in m.text and errors.append(m.text))
    pg.set_default_timeout(WAIT)
    yield pg
    context.close()
    assert not errors, errors  # no script error on any page


def sign_in_customer(page, gw, creds) -> None:
    page.goto(gw.base_url + "/console/")
    page.fill("#form-account input[name=username]", creds.username)
    page.fill("#form-account input[name=password]", creds.password)
    page.click("#form-account button[type=submit]")
    page.wait_for_selector("#who:has-text('account " + creds.name + "')")


def sign_in_operator(page, gw) -> None:
    page.goto(gw.base_url + "/console/")
    page.click("#tab-operator")
    page.fill("#form-operator input[name=secret]", ADMIN_TOKEN)
    page.click("#form-operator button[type=submit]")
    page.wait_for_selector("#who:has-text('operator')")


def test_a_customer_sends_from_the_form_and_follows_its_message_to_delivered(page, world, shots) -> None:
    gw, _, dave, erin = world
    page.goto(gw.base_url + "/console/")
    page.fill("#form-account input[name=username]", dave.username)
    page.fill("#form-account input[name=password]", "wrong")
    page.click("#form-account button[type=submit]")
    page.wait_for_selector("#signin-error:has-text('Invalid login details')")
    sign_in_customer(page, gw, dave)
    assert not page.is_visible("#nav a[data-view=accounts]")  # operator pages are not offered...
    page.goto(gw.base_url + "/console/#accounts")  # ...nor shown when asked for by URL
    page.wait_for_selector("#view-overview:visible")

    with Receiver() as receiver:
        receiver.answer = lambda n, r: 500 if n == 0 else 200  # the first push fails, its retry is taken
        page.goto(gw.base_url + "/console/#send")
        page.fill("#form-send input[name=to]", "41793026727")
        page.fill("#form-send textarea[name=text]", "Hello from the console, " + "x" * 140)
        page.wait_for_selector("#preview-summary:has-text('2 parts')")
        summary = page.inner_text("#preview-summary")
        assert summary.startswith("GSM7 - 2 parts") and "remaining" in summary
        assert page.inner_text("#preview-price").startswith("price: 0.13 EUR for 1 destination")
        page.fill("#form-send input[name=notifyUrl]", receiver.url("/dlr"))
        screenshot(page, shots, "send-form")
        page.click("#form-send button[type=submit]")
        page.click(".sent-message a")
        page.wait_for_selector("#message-status:has-text('DELIVERED_TO_HANDSET')")
        page.wait_for_selector("#timeline li.push.failed:has-text('HTTP 500')")
        failed = page.inner_text("#timeline li.push.failed")
        assert "nextRetryAt" in failed and re.search(r"\d{2}:\d{2}:\d{2}", failed)
        page.wait_for_selector("#timeline li.push:not(.failed):has-text('taken')")
    timeline = page.inner_text("#timeline")
    for step in (
        "accepted through API generation 2",
        "submitted through connector op-a",
        "route 1 (prefix 4179) -> op-a (failover)",
        "operatorMessageId",
    ):
        assert step in timeline, step
    screenshot(page, shots, "message-timeline")

    # the overview counts it
    page.goto(gw.base_url + "/console/#overview")
    page.wait_for_selector("#total-delivered:has-text('since start: 1')")
    page.wait_for_selector("#status-groups td.status-DELIVERED")

    # erin's message, by URL: nothing
    r = send_v2(gw.base_url, erin.app, [{"destinations": [{"to": "41793026000"}], "text": "erin's"}])
    other = r.json()["messages"][0]["messageId"]
    page.goto(gw.base_url + f"/console/#message/{other}")
    page.wait_for_selector("#message-head:has-text('No such message in your account')")
    assert "erin's" not in page.content()
    page.goto(gw.base_url + f"/console/#message/{other}?account=erin")
    page.wait_for_selector("#message-head:has-text('No such message in your account')")
    page.click("#signout")
    page.wait_for_selector("#signin:visible")


def test_the_operator_watches_traffic_bulks_and_connectors(page, world, shots) -> None:
    gw, smsc, dave, erin = world
    sign_in_operator(page, gw)
    page.wait_for_selector("#total-accepted:has-text('since start')")
    before = int(page.inner_text("#total-accepted").split(": ")[1])
    send_v2(
        gw.base_url,
        erin.app,
        [{"destinations": [{"to": f"38591234{i:04d}"} for i in range(20)], "text": "x"}],
    )
    eventually(lambda: int(page.inner_text("#total-accepted").split(": ")[1]) >= before + 20, timeout=15)
    page.wait_for_timeout(6000)  # a few live points on the chart
    assert page.locator("#chart-live svg path").count() == 4

    def in_history() -> bool:  # the history read again: its last minute holds them
        page.click(".ranges button[data-range='1h']")
        page.wait_for_timeout(300)
        delivered = page.locator("#status-groups tr:has(td.status-DELIVERED) td.num").first.inner_text()
        return int(delivered) >= 20

    eventually(in_history, timeout=15)
    assert page.locator("#chart-history svg path").count() == 4
    screenshot(page, shots, "overview")

    # a scheduled bulk: pause and resume from the Bulks page
    bulk = uid("bulk")
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    r = send_v2(
        gw.base_url,
        dave.app,
        [
            {
                "destinations": [{"to": "385912340001"}, {"to": "385912340002"}],
                "text": "later",
                "sendAt": later,
            }
        ],
        bulk_id=bulk,
    )
    assert r.status_code == 200, r.text
    page.goto(gw.base_url + "/console/#bulks")
    row = page.locator(f"tr[data-bulk='{bulk}']")
    row.locator(".bulk-status:has-text('PENDING')").wait_for()
    row.locator("button:has-text('Pause')").click()
    page.locator(f"tr[data-bulk='{bulk}'] .bulk-status:has-text('PAUSED')").wait_for()
    status = httpx.get(gw.base_url + "/sms/1/bulks/status", params={"bulkId": bulk}, headers=dave.app)
    assert status.json()["status"] == "PAUSED"
    page.locator(f"tr[data-bulk='{bulk}'] button:has-text('Resume')").click()
    page.locator(f"tr[data-bulk='{bulk}'] .bulk-status:has-text('PENDING')").wait_for()

    # messages of every account, searched by number
    page.goto(gw.base_url + "/console/#messages")
    page.fill("#form-search input[name=number]", "385912340001")
    page.click("#form-search button[type=submit]")
    page.wait_for_selector("#messages td:has-text('dave')")

    # connectors: the SMSC goes away and comes back; the operator stops and starts the connector
    page.goto(gw.base_url + "/console/#connectors")
    state = "td[data-connector='op-a']"
    page.wait_for_selector(f"{state}:has-text('bound')")
    screenshot(page, shots, "connectors")
    smsc.stop()
    page.wait_for_selector(f"{state}:not(:has-text('bound'))")
    smsc.start()
    page.wait_for_selector(f"{state}:has-text('bound')", timeout=30_000)
    page.click("button:has-text('Stop')")
    page.wait_for_selector(f"{state}:has-text('stopped')")
    page.click("button:has-text('Start')")
    page.wait_for_selector(f"{state}:has-text('bound')", timeout=30_000)

    # accounts: create one, top it up
    page.goto(gw.base_url + "/console/#accounts")
    name = uid("shop")
    page.fill("#form-account-create input[name=name]", name)
    page.click("#form-account-create button[type=submit]")
    page.wait_for_selector(f"#account-secret:has-text('API key of {name}')")
    key = page.inner_text("#account-secret").rsplit(": ", 1)[1].strip()
    assert (
        httpx.get(gw.base_url + "/account/1/balance", headers={"Authorization": f"App {key}"}).status_code
        == 200
    )
    page.once("dialog", lambda d: d.accept("25"))
    page.locator(f"#accounts tr:has(td:text-is('{name}')) button:has-text('Top up')").click()
    page.wait_for_selector(f"#accounts tr:has(td:text-is('{name}')) td:has-text('25.0000 EUR')")
    screenshot(page, shots, "accounts")
