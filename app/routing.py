"""The route class of every API router: the endpoint runs in its request's worker thread with the process's
torch thread count applied there (model/threads.py: torch keeps the count per OS thread, and a dependency would
run in another threadpool thread) and under `torch.inference_mode()`.

API endpoints are plain `def` functions, so FastAPI runs each in the threadpool; async endpoints are left as
they are (they must not run models)."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import torch
from fastapi import APIRouter
from fastapi.routing import APIRoute

from model import threads


def in_model_context(endpoint: Callable) -> Callable:
    """`endpoint` wrapped to apply the thread count and inference mode (once, however often it is re-registered)."""
    if getattr(endpoint, "_model_context", False) or inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    def wrapper(*args: Any, **kwargs: Any):
        threads.apply()
        with torch.inference_mode():
            return endpoint(*args, **kwargs)

    wrapper._model_context = True
    return wrapper


class ModelRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable, **kwargs: Any) -> None:
        super().__init__(path, in_model_context(endpoint), **kwargs)


def resource_router(**kwargs: Any) -> APIRouter:
    """The router of one API resource (included under /api/v1 by app/api.py)."""
    return APIRouter(route_class=ModelRoute, **kwargs)
