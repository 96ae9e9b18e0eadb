"""Application factory. `uvicorn app.main:app` serves the default model zoo on http://127.0.0.1:8000."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from model import alloc, threads
from model.registry import ModelRegistry

from . import api, errors
from .config import Settings, get_settings
from .once import Once
from .resid_cache import ResidCache
from .routers import pages
from .security import SecurityHeaders

ROOT = Path(__file__).resolve().parent.parent


def load_models(settings: Settings) -> ModelRegistry:
    """The models `settings.models` names (model/registry.py): checked now, each problem logged with what to do;
    the shipped ones loaded now, Hugging Face ones on first use under the memory budget."""
    registry = ModelRegistry(settings.models, settings.checkpoint_dir, int(settings.model_memory_gb * 2**30))
    registry.preload("shipped")
    return registry


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for `settings` (default: the environment's). Building it loads nothing; its lifespan loads the
    models. Per-app state is created here: the residual cache and the once-only values (head scores, snapshot
    caches), so an app used without its lifespan has them too."""
    settings = settings or get_settings()
    threads.configure(settings.torch_threads)  # the process's count; each API route applies it (app/routing.py)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        alloc.tune_malloc()  # kept activations come from the heap, not a fresh mmap each (model/alloc.py)
        app.state.models = load_models(settings)
        yield

    # docs_url/redoc_url None: /docs is served by routers/pages.py from local Swagger UI files (FastAPI's own page
    # loads them from a CDN, a blank page offline); /redoc is not served.
    app = FastAPI(title="Transformer X-Ray", version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Every intermediate of a small trained transformer's forward pass, as JSON.")
    app.state.settings = settings
    app.state.resid_cache = ResidCache()
    app.state.once = Once()
    # level 1: a 32-token full trace (0.9-1.2 MB of JSON) compresses in ~9 ms vs ~30 ms at level 5, for ~13% more
    # bytes; the server is usually on the same machine or LAN, where CPU time, not bandwidth, is the cost.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=1)
    app.add_middleware(SecurityHeaders)
    errors.install(app)
    app.include_router(api.router)
    app.include_router(pages.router)  # before the mount, so /static/vendor/plotly.min.js is routed
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    return app


app = create_app()
