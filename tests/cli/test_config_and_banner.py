"""`smsgate serve` as a user runs it: a bad configuration is one line naming the setting, the value
and the file, and the banner says where messages really go."""

from __future__ import annotations

import re
import subprocess

import pytest
from live import LiveGateway, free_port, smsgate_cmd


def _serve(tmp_path, toml: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    config = tmp_path / "smsgate.toml"
    config.write_text(toml)
    gw = LiveGateway(tmp_path / "data", env_extra=env or {})
    return subprocess.run(
        smsgate_cmd("serve", "--config", str(config), "--port", str(free_port())),
        env=gw.env(),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


CONNECTOR = (
    '[[connectors]]\nname = "op-a"\nhost = "127.0.0.1"\nport = 2775\nsystem_id = "s"\npassword = "p"\n'
)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('port = "abc"\n', "port = 'abc': must be an integer"),
        ('[simulator]\ndelivery_delay = "x"\n', "[simulator] delivery_delay = 'x': must be a number"),
        (
            '[[routes]]\nprefix = "385"\nconnectors = ["nowhere"]\n',
            "[[routes]] #1 (prefix '385') connectors = ['nowhere']: no connector named nowhere",
        ),
        (
            CONNECTOR.replace("port = 2775", 'port = "x"'),
            "[[connectors]] 'op-a' port = 'x': must be an integer",
        ),
        (CONNECTOR + 'window = "ten"\n', "[[connectors]] 'op-a' window = 'ten': must be an integer"),
        ('webhook_allow = ["not-a-net"]\n', "webhook_allow = ['not-a-net']: 'not-a-net' is not an IP"),
        ("smpp_port = 99999\n", "smpp_port = 99999: must be a TCP port"),
        ('log_level = "loud"\n', "log_level = 'loud': must be one of"),
        ("nonsense = 1\n", "unknown settings: nonsense"),
    ],
)
def test_a_bad_setting_is_one_line_naming_setting_value_and_file(tmp_path, toml, named):
    result = _serve(tmp_path, toml)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {tmp_path / 'smsgate.toml'}: ")
    assert named in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"SMSGATE_DATABASE_URL": "mysql://me:secret@db/smsgate"},
            (
                "environment: SMSGATE_DATABASE_URL='mysql://me:***@db/smsgate': must be a URL like "
                "postgresql://user@host/db (or sqlite:///path)"
            ),
        ),
        (
            {"SMSGATE_SMPP_TLS_CERT": "/no/such.pem"},
            "environment: SMSGATE_SMPP_TLS_CERT='/no/such.pem': no such file",
        ),
        (
            {"SMSGATE_SMPP_TLS_CERT": __file__},
            "smpp_tls_cert and smpp_tls_key (SMSGATE_SMPP_TLS_CERT / _KEY) go together",
        ),
        (
            {"SMSGATE_DATA_DIR": "/proc/no-such-dir"},
            "data_dir '/proc/no-such-dir': cannot create it: No such file or directory",
        ),
    ],
)
def test_environment_settings_that_cannot_work_are_one_line(tmp_path, env, line):
    result = _serve(tmp_path, "", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"configuration error: {line}"
    assert "secret" not in result.stdout + result.stderr


def test_a_bad_environment_variable_is_named(tmp_path):
    result = _serve(tmp_path, "", env={"SMSGATE_HTTP_HEADER_TIMEOUT": "soon"})
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "configuration error: environment: SMSGATE_HTTP_HEADER_TIMEOUT='soon': must be a number"
    )


def _banner(tmp_path, toml: str) -> list[str]:
    """The lines `smsgate serve` prints before it serves."""
    (tmp_path / "smsgate.toml").write_text(toml)
    gw = LiveGateway(tmp_path / "data", env_extra={"SMSGATE_CONFIG": str(tmp_path / "smsgate.toml")})
    gw.start()
    try:
        return gw.log_path.read_text().splitlines()
    finally:
        gw.stop()


def test_the_banner_names_the_configured_connectors_and_routes(tmp_path):
    closed = free_port()  # nothing listens: the connector keeps reconnecting, serve runs all the same
    toml = (
        CONNECTOR.replace("port = 2775", f"port = {closed}")
        + '[[routes]]\nprefix = "385"\nconnectors = ["op-a", "simulator"]\n'
        + '[[routes]]\nprefix = "41"\nconnectors = ["op-a"]\n'
    )
    lines = _banner(tmp_path, toml)
    network = [line for line in lines if line.startswith("network: ")]
    expected = (
        f"network: SMPP connector op-a at 127.0.0.1:{closed}; 2 routes; no match goes to op-a; "
        "simulator (delivery delay 0.2s)"
    )
    assert network == [expected]
    assert not any("simulated" in line for line in lines)


def test_the_banner_says_simulated_when_nothing_else_is_configured(tmp_path):
    lines = _banner(tmp_path, "")
    assert "network: simulated (delivery delay 0.2s)" in lines


def test_connectors_are_parsed_once_into_typed_configs(tmp_path):
    from smsgate.config import load_settings
    from smsgate.connectors.smpp import SmppConfig

    config = tmp_path / "smsgate.toml"
    config.write_text(CONNECTOR + "tls = true\nwindow = 4\n")
    settings = load_settings(config, env={})
    assert settings.connectors == (
        SmppConfig(name="op-a", host="127.0.0.1", port=2775, system_id="s", password="p", tls=True, window=4),
    )


def test_short_link_settings_are_checked_and_default_to_the_http_address():
    from smsgate.config import ConfigError, load_settings

    settings = load_settings(env={})
    assert settings.short_link_base == "http://127.0.0.1:8080"
    assert settings.link_retention_days == 30.0
    settings = load_settings(
        env={
            "SMSGATE_PUBLIC_URL": "https://sms.example.com/",
            "SMSGATE_SHORT_DOMAINS": "https://go.brand.example",
        }
    )
    assert settings.short_link_base == "https://sms.example.com"
    assert settings.short_domains == ("https://go.brand.example",)
    for name, value, problem in [
        ("SMSGATE_PUBLIC_URL", "https://sms.example.com/s", "no path"),
        ("SMSGATE_SHORT_DOMAINS", "go.brand.example", "http(s) URL"),
        ("SMSGATE_LINK_RETENTION_DAYS", "0", "SMSGATE_LINK_RETENTION_DAYS"),
        ("SMSGATE_GEOIP_DB", "/no/such/file.mmdb", "no such file"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(problem)):
            load_settings(env={name: value})


def test_database_connections_reach_the_pool_and_are_checked(tmp_path, own_database):
    """SMSGATE_DATABASE_CONNECTIONS sizes a PostgreSQL gateway's pool (and its database threads)."""
    import asyncio

    from smsgate.config import ConfigError, load_settings
    from smsgate.store.database import Database

    settings = load_settings(env={"SMSGATE_DATABASE_CONNECTIONS": "3"})
    assert settings.database_connections == 3
    assert load_settings(env={}).database_connections == 8
    for bad in ("0", "-2", "many"):
        with pytest.raises(ConfigError, match="SMSGATE_DATABASE_CONNECTIONS"):
            load_settings(env={"SMSGATE_DATABASE_CONNECTIONS": bad})
    db = Database(own_database or f"sqlite:///{tmp_path / 'c.db'}", settings.database_connections)
    try:
        if not db.is_sqlite:  # SQLite keeps its one writer and its readers
            assert db.engine.pool.size() == 3 and db._writer._max_workers == 3
    finally:
        asyncio.run(db.dispose())
