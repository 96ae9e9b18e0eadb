"""The JSON API: one router under /api/v1 that includes one router per resource (each built with
app/routing.py's route class). OpenAPI at /openapi.json, docs at /docs."""
from __future__ import annotations

from fastapi import APIRouter

from .routers import generate, heads, models, next_token, param_count, readouts, timeline, tokenize, trace

router = APIRouter(prefix="/api/v1")
for resource in (models, trace, next_token, generate, param_count, readouts, heads, timeline, tokenize):
    router.include_router(resource.router)
