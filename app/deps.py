"""Typed dependencies of the API routes: the app's settings, its models (model/registry.py), the model a request
names (in its JSON body or in its path, looked up once, 404 if unknown or not loadable), the residual cache and the
once-only values.

They are `async def` because they only read app state: FastAPI then runs them on the event loop instead of
sending each to the threadpool. The one exception is a model's first use, which loads it: that runs in the
threadpool, so the loop keeps serving."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from model.registry import ModelRegistry, ModelUnavailable
from model.zoo import LoadedModel

from .config import Settings
from .errors import model_unavailable, unknown_model
from .once import Once
from .resid_cache import ResidCache


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _models(request: Request) -> ModelRegistry:
    return request.app.state.models


AppSettings = Annotated[Settings, Depends(_settings)]
Models = Annotated[ModelRegistry, Depends(_models)]


def lookup(models: ModelRegistry, model_id: str) -> LoadedModel:
    """The model, loading it if this is its first use (call from a worker thread then: see `_lookup`)."""
    try:
        return models.model(model_id)
    except ModelUnavailable as e:
        raise (model_unavailable(e.message) if e.known else unknown_model(model_id, models)) from None


async def _lookup(models: ModelRegistry, model_id: str) -> LoadedModel:
    if model_id in models and models.is_loaded(model_id):
        return lookup(models, model_id)
    return await run_in_threadpool(lookup, models, model_id)  # a first use loads: off the event loop


class ModelRef(BaseModel):
    """The part of every request body that names the model (the route's own body model documents it). FastAPI
    validates the one JSON body against both and hands each its own instance, so the route keeps `body`."""
    model: str


async def _model_in_body(body: ModelRef, models: Models) -> LoadedModel:
    return await _lookup(models, body.model)


async def _model_in_path(
        model_id: Annotated[str, Path(description="model id, e.g. tiny-gpt (GET /api/v1/models lists them)")],
        models: Models) -> LoadedModel:
    return await _lookup(models, model_id)


BodyModel = Annotated[LoadedModel, Depends(_model_in_body)]  # the route's body parameter must be named `body`
PathModel = Annotated[LoadedModel, Depends(_model_in_path)]  # the route's path must contain {model_id}


async def _resid_cache(request: Request) -> ResidCache:
    return request.app.state.resid_cache


async def _once(request: Request) -> Once:
    return request.app.state.once


ResidCacheDep = Annotated[ResidCache, Depends(_resid_cache)]
OnceDep = Annotated[Once, Depends(_once)]
