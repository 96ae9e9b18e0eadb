"""The API's structure: one /api/v1 router; every API endpoint runs with the process's torch thread count applied
in its own worker thread and under inference mode (app/routing.py), whatever ran in that thread before."""
from __future__ import annotations

import pkgutil

import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient

import app.routers
from app import api
from app.routing import resource_router
from model import threads


def test_every_api_route_is_under_api_v1_and_wrapped(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths and all(p.startswith("/api/v1/") for p in paths)  # pages are not in the schema
    # every module of app/routers but the pages is an API resource, and is included (a forgotten one would be
    # missing from the schema, or served without the route class)
    modules = {m.name for m in pkgutil.iter_modules(app.routers.__path__)} - {"pages"}
    assert {r.__name__.rsplit(".", 1)[1] for r in api.RESOURCES} == modules
    routes = [r for m in api.RESOURCES for r in m.router.routes]
    assert len(routes) == sum(len(methods) for methods in paths.values())
    assert all(getattr(r.endpoint, "_model_context", False) for r in routes)
    assert all(r.path_format.startswith("/") and not r.path_format.startswith("/api") for r in routes)  # prefix once
    assert api.router.prefix == "/api/v1"


def test_request_threads_run_with_the_configured_count():
    router = resource_router()

    @router.get("/probe")
    def probe():
        seen = {"threads": torch.get_num_threads(), "inference": torch.is_inference_mode_enabled()}
        torch.set_num_threads(threads.count() + 1)  # leave this worker thread with another count, as stale code might
        return seen

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        seen = [client.get("/probe").json() for _ in range(6)]
    assert seen == [{"threads": threads.count(), "inference": True}] * 6
    assert torch.get_num_threads() == threads.count()  # the test's own thread was not touched
