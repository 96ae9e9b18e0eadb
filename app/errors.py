"""The API's one error path: every refusal is an `ApiError` (status, code, message) raised anywhere below a route
and turned into `{"error": {"code": str, "message": str}}` by one handler. `install` also reformats FastAPI's
own errors (validation, malformed JSON, unknown route, wrong method) into the same shape. Any other exception is
a bug: it is logged and answered with a 500 in the same shape (TestClient re-raises it, so a test sees it).
"""
from __future__ import annotations

import difflib
import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("xray")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(e: ApiError) -> JSONResponse:
    return JSONResponse(error_body(e.code, e.message), status_code=e.status)


def unknown_model(model_id: str, available) -> ApiError:
    return ApiError(404, "unknown_model",
                    f"unknown model {model_id!r}; available models: {', '.join(available) or '(none loaded)'}")


def model_unavailable(message: str) -> ApiError:
    """A configured model that cannot be loaded here (not in the Hugging Face cache, unsupported family, over the
    memory budget): the registry's message says what to do."""
    return ApiError(404, "model_unavailable", message)


def suggest(word: str, choices, n: int = 5) -> list[str]:
    """Closest names to `word` (for 'did you mean' messages)."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=n, cutoff=0.4)
    if not close:  # fall back to names that share the last part (e.g. hook_pattern)
        tail = word.rsplit(".", 1)[-1].strip("*?[]")
        close = [c for c in choices if tail and tail in c][:n]
    return close


def _short(value, limit: int = 60) -> str:
    s = repr(value)
    return s if len(s) <= limit else s[:limit] + "…"


HINTS = {
    "temperature": "use a finite number > 0, e.g. 1.0 (below 1 sharpens the distribution, above 1 flattens it)",
    "top_k": "use a whole number >= 1, or leave top_k out to keep every token",
    "top_p": "use a number in (0, 1], e.g. 0.9, or leave top_p out to keep every token",
    "text": "send the text as a string of at most 2000 characters",
    "names": "send a list of at most 64 activation names or globs",
}


def _validation_message(errors) -> tuple[int, str, str]:
    """FastAPI's list of pydantic errors -> (status, code, one readable message)."""
    parts = []
    for err in errors:
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx", {}).get("error", "")
            return 400, "malformed_json", (f"the request body is not valid JSON ({ctx}); send a JSON object such as "
                                           '{"model": "tiny-gpt", "text": "the cat"}')
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        where = ".".join(loc) or "body"
        msg = err.get("msg", "invalid value")
        if err.get("type") == "missing":
            parts.append(f"{where}: required field is missing")
        elif err.get("type") == "model_attributes_type" or (not loc and "dict" in msg.lower()):
            parts.append(f"{where}: expected a JSON object with named fields, got {_short(err.get('input'))}")
        else:
            value = err.get("input")
            shown = "" if isinstance(value, (dict, list)) else f" (got {_short(value)})"
            if isinstance(value, float) and not math.isfinite(value):
                shown = f" (got {value})"
            hint = HINTS.get(loc[0] if loc else "", "")
            parts.append(f"{where}: {msg[:1].lower() + msg[1:]}{shown}" + (f"; {hint}" if hint else ""))
    # the body is validated against the route's model and against deps.ModelRef: the same error can come twice
    return 422, "invalid_request", "; ".join(dict.fromkeys(parts)) or "invalid request"


async def _on_api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc)


async def _on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    status, code, message = _validation_message(exc.errors())
    return JSONResponse(error_body(code, message), status_code=status)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such path {request.url.path!r}; the API is listed at /docs"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs for the methods"
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(error_body("internal_error", "the server failed on this input; please report it with the "
                                                     "request that caused it"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
