"""[[connectors]] of type infobip and http are parsed once into typed configs, each bad value one line
naming the connector, the setting and the value."""

from __future__ import annotations

import pytest

from smsgate.config import ConfigError, load_settings
from smsgate.connectors.http import HttpConfig
from smsgate.connectors.infobip import InfobipConfig
from smsgate.domain.upstream import CostPrice

INFOBIP = '[[connectors]]\ntype = "infobip"\nname = "ib"\nbase_url = "https://api.example"\napi_key = "k"\n'
HTTP = (
    '[[connectors]]\ntype = "http"\nname = "acme"\nurl = "https://p.example/send"\n'
    '[connectors.params]\nto = "{to}"\n[connectors.statuses]\nOK = "DELIVERED_TO_HANDSET"\n'
)


def _http(extra: str) -> str:
    """HTTP with top-level keys of its own (before its sub-tables)."""
    return HTTP.replace("[connectors.params]", extra + "[connectors.params]")


def _load(tmp_path, toml: str):
    path = tmp_path / "smsgate.toml"
    path.write_text(toml)
    return load_settings(path, env={})


def test_upstream_connectors_are_typed_configs(tmp_path):
    settings = _load(
        tmp_path,
        INFOBIP
        + 'batch = 50\nthroughput = 20\n[[connectors.prices]]\nprefix = "41"\nprice = 0.01\n'
        + HTTP.replace('name = "acme"', 'name = "acme"\nmessage_id = "regex:id=(\\\\w+)"')
        + '[[routes]]\nconnectors = ["ib", "acme"]\n',
    )
    ib, acme = settings.connectors
    assert isinstance(ib, InfobipConfig) and ib.batch == 50 and ib.throughput == 20.0
    assert ib.prices == (CostPrice(0.01, "41"),)
    assert isinstance(acme, HttpConfig) and acme.params == (("to", "{to}"),)
    assert acme.message_id is not None and acme.message_id.find("ok id=abc") == "abc"


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        (
            '[[connectors]]\ntype = "carrier-pigeon"\nname = "x"\n',
            "type = 'carrier-pigeon': must be one of smpp, infobip, http",
        ),
        (INFOBIP.replace('api_key = "k"\n', ""), "[[connectors]] 'ib': missing api_key"),
        (INFOBIP + 'batch = "many"\n', "[[connectors]] 'ib' batch = 'many': must be an integer"),
        (INFOBIP + "batch = 5000\n", "batch must be at most 1000"),
        (INFOBIP.replace("https://api.example", "ftp://x"), "base_url must start with http:// or https://"),
        (INFOBIP + "timeout = 0\n", "timeout must be greater than 0"),
        (INFOBIP + 'webhook_secret = "short"\n', "webhook_secret must be at least 16 characters"),
        (INFOBIP + "api_kye = 1\n", "unknown settings: api_kye"),
        (INFOBIP + '[[connectors.prices]]\nprefix = "+41"\nprice = 1\n', "cost prefix '+41' must be digits"),
        (
            'public_url = "https://gw.example"\n' + INFOBIP,
            "[[connectors]] 'ib': public_url is set, so its reports are pushed to the gateway: give it a webhook_secret",
        ),
        (
            HTTP.replace('to = "{to}"', 'to = "{phone}"'),
            "[[connectors]] 'acme' params.to: '{phone}': unknown placeholder {phone}",
        ),
        (
            HTTP.replace('"DELIVERED_TO_HANDSET"', '"DONE"'),
            "statuses: OK = 'DONE': 'DONE' is not a status of the catalog",
        ),
        (_http('message_id = "regex:("\n'), "message_id = 'regex:(': 'regex:(': not a regular expression"),
        (_http('method = "PUT"\n'), "[[connectors]] 'acme' method = 'PUT': must be one of GET, POST"),
        (_http("success_status = [404]\n"), "success_status = [404]: must be 2xx status codes"),
        (
            HTTP.replace('[connectors.statuses]\nOK = "DELIVERED_TO_HANDSET"\n', ""),
            "[[connectors]] 'acme': missing statuses",
        ),
        (INFOBIP + INFOBIP, "name = 'ib': the name is used twice"),
    ],
)
def test_a_bad_upstream_setting_is_one_line(tmp_path, toml, named):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, toml)
    line = str(caught.value)
    assert "\n" not in line
    assert named in line, line
