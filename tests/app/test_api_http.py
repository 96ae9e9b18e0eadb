"""HTTP-level behaviour: OpenAPI lists every API route (and no page), security headers on every kind of
response, unknown routes and methods in the error shape, gzip on large responses."""
from __future__ import annotations

import pytest

API = {("get", "/api/v1/models"), ("get", "/api/v1/models/{model_id}"), ("post", "/api/v1/trace"),
       ("post", "/api/v1/next-token"), ("post", "/api/v1/masked-token"), ("post", "/api/v1/generate"),
       ("get", "/api/v1/param-count")}


def test_openapi_lists_the_api_and_no_pages(client):
    spec = client.get("/openapi.json").json()
    ops = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert API <= ops
    assert all(p.startswith("/api/v1/") for p in spec["paths"])  # no page, no /static
    for method, path in API:
        op = spec["paths"][path][method]
        assert op.get("description") or op.get("summary")
        assert "200" in op["responses"]
    trace = spec["paths"]["/api/v1/trace"]["post"]["responses"]
    assert {"400", "404", "413", "422"} <= set(trace)
    err = trace["422"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert err == "ErrorOut"
    temp = spec["components"]["schemas"]["NextTokenIn"]["properties"]["temperature"]
    assert temp["exclusiveMinimum"] == 0
    masked = spec["components"]["schemas"]["MaskedTokenIn"]["properties"]
    assert masked["position"]["anyOf"][0]["minimum"] == 0 and masked["full"]["default"] is False


def test_docs_page_served(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
    csp = r.headers["content-security-policy"]
    # the same strict policy as the pages: Swagger UI is served from this origin, its start-up is a file
    assert "script-src 'self';" in csp and "http" not in csp and "frame-ancestors 'none'" in csp


@pytest.mark.parametrize("method,path,body", [("get", "/", None), ("get", "/api/v1/models", None),
                                              ("post", "/api/v1/trace", {"model": "nope", "text": "a"}),
                                              ("get", "/api/v1/does-not-exist", None),
                                              ("get", "/static/vendor/plotly.min.js", None)])
def test_security_headers_everywhere(client, method, path, body):
    r = client.request(method, path, json=body)
    csp = r.headers["content-security-policy"]
    for part in ("script-src 'self'", "object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'"):
        assert part in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_pages_have_no_executable_inline_script(client):
    """CSP script-src 'self' would block inline scripts; the only inline one is the JSON data block."""
    import re
    html = client.get("/").text
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_unknown_route_and_method(client, error_of):
    e = error_of(client.get("/api/v1/nothing-here"), 404)
    assert e["code"] == "not_found" and "/docs" in e["message"]
    e = error_of(client.get("/api/v1/trace"), 405)
    assert e["code"] == "method_not_allowed" and "GET" in e["message"]


def test_large_responses_are_gzipped(client):
    r = client.post("/api/v1/trace", json={"model": "tiny-gpt", "text": "the"}, headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"


def test_catch_all_is_json_in_the_error_shape():
    """The last-resort handler (never reached by the API, see test_schemathesis.py) still answers in the error
    shape: checked on a throwaway app with one failing route."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from app import errors

    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error" and "secret" not in r.text
