"""Security headers on every response (pure ASGI middleware, so streaming and gzip are untouched).

Every response gets one strict Content-Security-Policy: scripts only from this origin (the one inline <script> is
the `type="application/json"` data block, which is not executed and which CSP does not block), no plugins, no
framing. /docs is no exception: it serves Swagger UI from the swagger-ui-bundle-v2 package with its start-up in
a file (static/js/swagger-init.js), so it needs no CDN and no inline script.
"""
from __future__ import annotations

STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
              "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
              "form-action 'self'")

HEADERS = [(b"content-security-policy", STRICT_CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"strict-origin-when-cross-origin"), (b"x-frame-options", b"DENY")]
_REPLACED = {k for k, _ in HEADERS}


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED] + HEADERS
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
