"""Request-scoped access to what the lifespan loaded."""
from __future__ import annotations

from fastapi import Request

from model.zoo import LoadedModel


def get_models(request: Request) -> dict[str, LoadedModel]:
    return request.app.state.models
