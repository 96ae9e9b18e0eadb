"""Property-based run over the OpenAPI spec: every operation, generated valid and invalid inputs; no server
error ever, and for every operation the status codes, content type and body match what /openapi.json says."""
from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from app.config import Settings
from app.main import create_app

# Building the app loads no model (its lifespan does), so collecting this module computes nothing.
# (schemathesis.pytest.from_fixture, the lazy loader, fails under pytest 9: 'Function' has no '_nodeid'.)
app = create_app(Settings())
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module", autouse=True)
def running_app():
    """Run the app's lifespan (which loads the models) around this module's tests; schemathesis calls the ASGI
    app directly, without it."""
    with TestClient(app):
        yield

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_errors(case):
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code < 500
    if response.status_code >= 400:
        body = response.json()
        assert set(body["error"]) == {"code", "message"}
