"""HTML pages. Each page is a Jinja2 template that loads one ES module from static/js; the module fetches
everything it draws from the JSON API, so a page never shows a number the API would not give."""
from __future__ import annotations

from pathlib import Path

import plotly
import swagger_ui_bundle
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app.schemas import MAX_TEXT_CHARS

ROOT = Path(__file__).resolve().parent.parent.parent
templates = Jinja2Templates(directory=ROOT / "templates")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# The URL carries the plotly package's version, so the file can be cached for a year: a new plotly is a new URL.
PLOTLY_SRC = f"/static/vendor/plotly.min.js?v={plotly.__version__}"
CACHE_YEAR = "public, max-age=31536000, immutable"
# Swagger UI 5 (reads OpenAPI 3.1, which FastAPI writes) from the swagger-ui-bundle-v2 package: /docs works offline.
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
SWAGGER_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
                 "favicon-32x32.png": "image/png", "oauth2-redirect.html": "text/html"}

router = APIRouter(include_in_schema=False)

# (path, template, title, nav label) — the nav bar in base.html is built from this list.
PAGES: list[tuple[str, str, str, str]] = []


def default_model(request: Request) -> str | None:
    """The model a page opens with: the configured default when it is served, else the first served model (a
    server of XRAY_MODELS=hf:/some/dir alone serves no shipped model)."""
    models, default = request.app.state.models, request.app.state.settings.default_model
    return default if default in models else next(iter(models), None)


def page(path: str, template: str, title: str, nav: str | None = None):
    """Register a page: GET `path` renders `template` with the models list and the nav."""
    PAGES.append((path, template, title, nav or ""))

    @router.get(path, response_class=HTMLResponse, name=template.removesuffix(".html"))
    def _render(request: Request):
        models = request.app.state.models
        return templates.TemplateResponse(request, template, {
            "title": title, "pages": [p for p in PAGES if p[3]], "path": path,
            "models": [{"id": m.id, "arch": m.cfg.arch, "description": m.description}
                       for m in models.infos()],  # configurations only: nothing is loaded; unreadable ones left out
            "default_model": default_model(request),
            "limits": {"text_chars": MAX_TEXT_CHARS}, "plotly_src": PLOTLY_SRC,
        })
    return _render


@router.get("/static/vendor/plotly.min.js")
def plotly_js(v: str | None = None):
    """Plotly served from the installed plotly package (no CDN); cached for a year when asked for by version."""
    headers = {"Cache-Control": CACHE_YEAR if v == plotly.__version__ else "no-cache"}
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request):
    """Swagger UI for /openapi.json, every asset served by this app (nothing fetched from outside)."""
    return templates.TemplateResponse(request, "docs.html", {"version": SWAGGER_DIR.name.removeprefix("swagger-ui-")})


@router.get("/static/vendor/swagger-ui/{name}")
def swagger_asset(name: str):
    if name not in SWAGGER_FILES:
        raise HTTPException(404, f"no Swagger UI file {name}")
    return FileResponse(SWAGGER_DIR / name, media_type=SWAGGER_FILES[name], headers={"Cache-Control": "public, max-age=86400"})

@router.get("/favicon.ico")
def favicon():
    """The SVG icon, for browsers that ask for /favicon.ico without reading <link rel="icon">."""
    return FileResponse(ROOT / "static" / "favicon.svg", media_type="image/svg+xml")


# Architecture pages (issue 5): overview, step-through trace, one page per component, logit lens.
page("/", "overview.html", "Architecture overview", "Overview")
page("/trace", "trace.html", "Step through the forward pass", "Trace")
page("/components/layer-norm", "layer_norm.html", "Layer norm", "Components")
page("/components/residual", "residual.html", "Residual stream")
page("/components/ffn", "ffn.html", "Feed-forward network")
page("/components/positions", "positions.html", "Positional encoding")
page("/components/masking", "masking.html", "Attention masks")
page("/components/params", "params.html", "Parameter calculator")
page("/logit-lens", "logit_lens.html", "Logit lens", "Logit lens")

# Attention explorer and sampling playground (issue 4).
page("/attention", "attention.html", "Attention explorer", "Attention")
page("/sampling", "sampling.html", "Sampling playground", "Sampling")
page("/compare", "compare.html", "Compare two models", "Compare")
page("/glossary", "glossary.html", "Glossary of activation names", "Glossary")

# Tokenizer view (issue 10): how the text is cut into pieces and ids.
page("/tokenizer", "tokenizer.html", "Tokenizer: from text to pieces and ids", "Tokenizer")
