"""Shared fixtures: a live gateway per backend (SQLite always; PostgreSQL when SMSGATE_TEST_DATABASE_URL
points at a server), with two accounts, alice and bob, made through the CLI."""

from __future__ import annotations

import asyncio
import compileall
import functools
import os
import re
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx._transports.default
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import forkserver
import live
from live import PG_URL_ENV, Credentials, LiveGateway, fresh_postgres_database

import smsgate

# Bytecode is written, whatever PYTHONDONTWRITEBYTECODE says (it is set on these machines): without
# it pytest rewrites the asserts of every test module again in each test worker (collection 17 s of
# CPU instead of 4); they are imported after this conftest. The package is compiled in pytest_configure.
sys.dont_write_bytecode = False

# httpx.get, httpx.post, ... build a Client per call, and each Client loads the CA bundle into a new
# SSL context: 10-25 ms of CPU per call, in a suite that polls with them tens of thousands of times
# (about a fifth of the test processes' CPU). An SSLContext can be shared, so the default one is made
# once; any other verify/cert still gets its own.
_default_ssl_context = httpx._transports.default.create_ssl_context


@functools.cache
def _shared_ssl_context(verify: object = True, cert: object = None, trust_env: bool = True) -> ssl.SSLContext:
    return _default_ssl_context(verify=verify, cert=cert, trust_env=trust_env)


def _ssl_context(verify=True, cert=None, trust_env=True) -> ssl.SSLContext:
    if verify is True and cert is None:
        return _shared_ssl_context(verify, cert, trust_env)
    return _default_ssl_context(verify=verify, cert=cert, trust_env=trust_env)


httpx._transports.default.create_ssl_context = _ssl_context


@dataclass
class Deployment:
    gateway: LiveGateway
    alice: Credentials
    bob: Credentials

    @property
    def base_url(self) -> str:
        return self.gateway.base_url


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    params.append(
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(not os.environ.get(PG_URL_ENV), reason=f"{PG_URL_ENV} is not set"),
        )
    )
    return params


@pytest.fixture(scope="session", params=_backends())
def backend(request) -> str:
    return request.param


def _empty_database(backend: str):
    """None for SQLite (the gateway's own file in its data dir), else a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield None
        return
    url, drop = fresh_postgres_database(os.environ[PG_URL_ENV])
    yield url
    drop()


@pytest.fixture(scope="session")
def database_url(backend):
    """The database of the shared deployment."""
    yield from _empty_database(backend)


@pytest.fixture
def own_database(backend):
    """An empty database for a gateway of the test's own."""
    yield from _empty_database(backend)


@pytest.fixture
def store_env(tmp_path, own_database):
    """No gateway: a migrated store of the test's own (a SQLite file, or a fresh PostgreSQL database)
    and one account in it, as (Database, account) for tests of the engine and store layers."""
    from smsgate.store import accounts
    from smsgate.store.database import Database

    async def setup():
        db = Database(own_database or f"sqlite:///{tmp_path / 'store.db'}")
        await live.upgrade_store(db)
        account = await db.write(lambda conn: accounts.create(conn, "acct"))
        return db, account

    db, account = asyncio.run(setup())
    yield db, account
    asyncio.run(db.dispose())


@pytest.fixture(scope="module")
def module_database(backend):
    """An empty database for a gateway the module's tests share."""
    yield from _empty_database(backend)


@pytest.fixture(scope="session")
def deployment(tmp_path_factory, database_url) -> Deployment:
    gateway = LiveGateway(tmp_path_factory.mktemp("gateway"), database_url)
    alice = gateway.create_account("alice")
    bob = gateway.create_account("bob")
    gateway.start()
    yield Deployment(gateway, alice, bob)
    gateway.stop()


@pytest.fixture(scope="session")
def sqlite_deployment(tmp_path_factory) -> Deployment:
    """A SQLite gateway for tests that exercise the API rather than the storage backend."""
    gateway = LiveGateway(tmp_path_factory.mktemp("gateway-sqlite"))
    alice = gateway.create_account("alice")
    bob = gateway.create_account("bob")
    gateway.start()
    yield Deployment(gateway, alice, bob)
    gateway.stop()


def pytest_configure(config) -> None:
    # Every gateway a test starts is a fresh interpreter importing the whole package. Where
    # PYTHONDONTWRITEBYTECODE is set (it is on these machines) an editable install leaves it no
    # bytecode to load, so each one compiled ~150 modules from source first (0.3 s of CPU per start).
    # Compiled once here, in the controlling process, before any test worker starts.
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(Path(smsgate.__file__).parent, quiet=1)
    # gateways fork from a process that has imported smsgate once (tests/forkserver.py);
    # SMSGATE_TEST_FORK=0 starts each as a fresh interpreter instead
    live.FORK_GATEWAYS = os.environ.get("SMSGATE_TEST_FORK", "1") != "0"
    live.SEED_AT_HEAD = True


# Modules whose tests share a gateway the module starts (a module-scoped fixture), or the official
# client's ~3 s import (tests/official.py). xdist's `load` deals a module's tests round-robin to every
# worker, and each worker started that gateway again (or imported the client); here they go to one
# worker per backend. (``xdist_group`` marks would say this in the modules, but
# pytest-xdist 3.8's loadgroup no longer groups under pytest 9.2: it renames ``item._nodeid``, which
# pytest no longer reads.)
ONE_WORKER_MODULES = frozenset(
    {
        "tests/api/test_bulks.py",
        "tests/api/test_connections.py",
        "tests/api/test_metrics.py",
        "tests/api/test_money.py",
        "tests/api/test_number_lookup.py",
        "tests/api/test_official_client.py",
        "tests/api/test_upstream_infobip.py",
        "tests/browser/test_console_browser.py",
        "tests/smpp/test_smpp_customers.py",
        "tests/smpp/test_smpp_end_to_end.py",
        "tests/smpp/test_smpp_money.py",
    }
)


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: known only when it is loaded
def pytest_xdist_make_scheduler(config, log):
    """``--dist load`` (addopts), except that each module of ONE_WORKER_MODULES is one unit of work
    per backend. The backend stays apart: a worker then runs a backend's tests together and does not
    switch back and forth between the session's two deployments (each switch starts one again)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerModulesScheduling(LoadScopeScheduling):
        # every other test is a unit of its own, as under `load`; the larger units go out first
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.partition("::")[0]
            if module not in ONE_WORKER_MODULES:
                return nodeid
            backend = re.search(r"\[(sqlite|postgresql)[-\]]", nodeid)  # the session's parameter: first
            return f"{module}[{backend[1]}]" if backend else module

    return OneWorkerModulesScheduling(config, log)


def pytest_sessionfinish(session, exitstatus) -> None:
    # each xdist worker, as it finishes: execnet may end it without running atexit handlers
    live._kill_leftovers()
    forkserver.close()
