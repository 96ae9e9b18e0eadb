"""The JSON API: one router under /api/v1 that includes one router per resource (each built with
app/routing.py's route class). OpenAPI at /openapi.json, docs at /docs."""
from __future__ import annotations

from fastapi import APIRouter

from .routers import generate, heads, masked_token, models, next_token, param_count, readouts, timeline, tokenize, trace

router = APIRouter(prefix="/api/v1")
# A model id may hold a slash (a hub id, EleutherAI/pythia-70m), so the routes read it as {model_id:path}:
# /models/{model_id:path} would also match /models/x/heads, hence the model routes come last.
RESOURCES = (trace, next_token, masked_token, generate, param_count, readouts, heads, timeline, tokenize, models)
for resource in RESOURCES:
    router.include_router(resource.router)
