"""The OpenAPI document is valid and describes exactly the /api routes the app serves."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

from server.web.openapi import OPENAPI


def test_the_document_is_valid_openapi():
    validate(OPENAPI)


def test_every_api_route_is_documented_with_its_methods(app_for):
    app = app_for()
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            served.setdefault(path, set()).update(m.lower() for m in rule.methods
                                                  if m not in ("HEAD", "OPTIONS"))
    documented = {path: {m for m in item if m != "parameters"}
                  for path, item in OPENAPI["paths"].items()}
    assert served == documented
