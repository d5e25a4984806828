"""Routing by the network a number is on now: a route with ``mcc_mnc`` sends a ported number to its new
network's connector (the SMSC that receives it is checked), the network comes from a cache in the
database that a second gateway process uses, and an entry older than its lifetime is looked up again."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from helpers import final_logs, send_v2, uid
from live import ADMIN, LiveGateway, eventually, free_port
from sqlalchemy import select

from smsgate.simulator.smsc import SmscSimulator
from smsgate.store.database import Database
from smsgate.store.tables import number_networks

PORTED = "41795551234"  # a Swisscom range, ported to Sunrise (22802) by the rule below
SWISSCOM = "41793026727"


class ThreadedSmsc:
    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

        async def go() -> SmscSimulator:
            sim = SmscSimulator(port=self.port, delivery_delay=0.1, credentials={"gw": "secret"})
            await sim.start()
            return sim

        self.sim = asyncio.run_coroutine_threadsafe(go(), self.loop).result(15)

    def destinations(self) -> list[str]:
        return [m.destination_addr for m in list(self.sim.messages.values())]

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.close(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def sunrise():
    smsc = ThreadedSmsc()
    yield smsc
    smsc.close()


def _config(port: int) -> str:
    return f"""
[[simulator.subscribers]]
prefix = "4179555"
ported_to = "4176"

[[connectors]]
name = "sunrise"
host = "127.0.0.1"
port = {port}
system_id = "gw"
password = "secret"
reconnect_min = 0.2
reconnect_max = 0.5

[[routes]]
mcc_mnc = "22802"
connectors = ["sunrise"]

[[routes]]
connectors = ["simulator"]
"""


def _cache(gw: LiveGateway) -> dict[str, tuple[str | None, int]]:
    url = gw.database_url or f"sqlite:///{(gw.data_dir / 'smsgate.db').resolve()}"

    async def read() -> dict:
        db = Database(url)
        try:
            rows = await db.read(lambda conn: list(conn.execute(select(number_networks))))
            return {r.msisdn: (r.mcc_mnc, r.looked_up_at) for r in rows}
        finally:
            await db.dispose()

    return asyncio.run(read())


def _write_cache(gw: LiveGateway, msisdn: str, mcc_mnc: str, at: int) -> None:
    url = gw.database_url or f"sqlite:///{(gw.data_dir / 'smsgate.db').resolve()}"

    async def write() -> None:
        db = Database(url)
        try:
            await db.write(
                lambda conn: conn.execute(
                    number_networks.insert().values(msisdn=msisdn, mcc_mnc=mcc_mnc, looked_up_at=at)
                )
            )
        finally:
            await db.dispose()

    asyncio.run(write())


def _send(gw, creds, *numbers) -> list[dict]:
    bulk = uid("route")
    r = send_v2(
        gw.base_url,
        creds.app,
        [{"from": "InfoSMS", "text": "hi", "destinations": [{"to": n} for n in numbers]}],
        bulk_id=bulk,
    )
    assert r.status_code == 200, r.text
    return eventually(lambda: final_logs(gw.base_url, creds.app, bulk, len(numbers)), timeout=30)


def test_a_ported_number_goes_to_its_new_networks_connector(tmp_path, own_database, sunrise):
    gw = LiveGateway(
        tmp_path / "a",
        own_database,
        config_toml=_config(sunrise.port),
        env_extra={"SMSGATE_CLOCK_START": "2026-03-01T12:00:00Z"},
    )
    creds = gw.create_account("router")
    gw.start()
    try:
        logs = _send(gw, creds, PORTED, SWISSCOM)
        assert {x["status"]["name"] for x in logs} == {"DELIVERED_TO_HANDSET"}
        assert sunrise.destinations() == [PORTED]  # the Swisscom number stayed on the simulator
        cache = _cache(gw)
        assert cache[PORTED][0] == "22802" and cache[SWISSCOM][0] == "22801"
        # lookups made for routing are not charged: the ledger has the messages' charge only
        ledger = httpx.get(gw.base_url + "/admin/1/accounts/router/ledger", headers=ADMIN, timeout=30).json()
        assert [e["kind"] for e in ledger["entries"]] == ["charge"]

        # the cache is the database's: an entry written by another process decides the route
        now = gw.advance_clock(0)
        other = "41793026728"
        _write_cache(gw, other, "22802", now)
        _send(gw, creds, other)
        assert sunrise.destinations() == [PORTED, other]

        # past its lifetime (24 h) the entry is looked up again: the number is on Swisscom
        gw.advance_clock(25 * 3600)
        _send(gw, creds, other)
        assert sunrise.destinations() == [PORTED, other]
        assert _cache(gw)[other][0] == "22801"
    finally:
        gw.stop()


def test_a_second_gateway_process_uses_the_cached_network(tmp_path, own_database, sunrise):
    first = LiveGateway(tmp_path / "first", own_database, config_toml=_config(sunrise.port))
    creds = first.create_account("router")
    first.start()
    try:
        _send(first, creds, PORTED)
        looked_up_at = _cache(first)[PORTED][1]
    finally:
        first.stop()
    # a second process on the same database (SQLite: the same file)
    second = LiveGateway(
        tmp_path / "second",
        own_database,
        config_toml=_config(sunrise.port),
        env_extra={}
        if own_database
        else {"SMSGATE_DATABASE_URL": f"sqlite:///{(first.data_dir / 'smsgate.db').resolve()}"},
    )
    second.start()
    try:
        _send(second, creds, PORTED)
        assert sunrise.destinations() == [PORTED, PORTED]
        assert _cache(first)[PORTED][1] == looked_up_at  # not looked up again
    finally:
        second.stop()
