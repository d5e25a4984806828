"""The OpenAPI document describes the endpoints as served."""

import httpx

from smsgate.api.app import ROUTES


def test_openapi_lists_every_served_endpoint(deployment):
    r = httpx.get(deployment.base_url + "/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    for route in ROUTES:
        if route.path in ("/openapi.json", "/sms/1/text/query.xml"):
            continue
        for method in route.methods - {"HEAD"}:
            assert (route.path, method.lower()) in documented, route.path
    # and nothing it does not serve
    served = {(r.path, m.lower()) for r in ROUTES for m in r.methods}
    assert documented <= served
