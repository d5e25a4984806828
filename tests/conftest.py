"""Shared fixtures: a live gateway per backend (SQLite always; PostgreSQL when SMSGATE_TEST_DATABASE_URL
points at a server), with two accounts, alice and bob, made through the CLI."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from live import PG_URL_ENV, Credentials, LiveGateway, fresh_postgres_database


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


def pytest_sessionfinish(session, exitstatus) -> None:
    # each xdist worker, as it finishes: execnet may end it without running atexit handlers
    import live

    live._kill_leftovers()
