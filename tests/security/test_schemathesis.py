"""Schemathesis over /api/openapi.json, reduced for CI (a few examples per operation, well under a
minute): whatever it sends, signed in or not, no answer is a server error. Through Flask's WSGI
interface, on the embedded Redis, with Alice's identity token from the local fake issuer."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core import NotSet

from server.web.openapi import OPENAPI

EXAMPLES = 6


def test_the_schema_is_what_the_app_serves(app):
    assert app.test_client().get("/api/openapi.json").get_json() == OPENAPI


schema = schemathesis.openapi.from_dict(OPENAPI)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, app, google):
    client = app.test_client()
    alice = {"Authorization": f"Bearer {google.identity_token('alice@example.com')}"}
    body = {} if isinstance(case.body, NotSet) else \
        {"data": case.body} if isinstance(case.body, (bytes, str)) else {"json": case.body}
    for signed_in in (alice, {}):
        response = client.open(case.formatted_path, method=case.method, query_string=case.query,
                               headers={**(case.headers or {}), **signed_in}, **body)
        seen = (case.method, case.formatted_path, response.status_code,
                response.get_data(as_text=True)[:300])
        # A server error is a bug, unless the route documents it (/api/ready's 503: not ready).
        operation = OPENAPI["paths"].get(case.path, {}).get(case.method.lower(), {})
        documented = str(response.status_code) in operation.get("responses", {})
        assert response.status_code < 500 or documented, seen
        assert response.is_json or not response.data, seen  # OPTIONS and HEAD have no body
