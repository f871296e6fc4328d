"""Request limits checked before a request body is read.

A request body costs memory (JSON is parsed whole) or disk (uploads), so the server decides
whether it wants a body before reading a byte of it: :class:`RequestLimits`, an ASGI
middleware in front of every route, answers

- **401** to a call under ``/api/v1/`` without a valid API token (the routes check the role
  later, after the token);
- **413** when ``Content-Length`` is over the route's cap, and, for a body sent without a
  length (chunked), as soon as the bytes read pass the cap (the route stops reading).

Caps: uploads (``POST /api/v1/uploads`` and the web app's ``POST /upload``; the new exports of
an update, ``POST /api/v1/update`` and ``POST /update``, together) take
``Settings.max_upload_bytes`` plus :data:`MULTIPART_OVERHEAD` for the form's framing; every other
body (JSON, web forms) takes ``Settings.max_body_bytes``. The defaults are
:data:`MAX_UPLOAD_BYTES` and :data:`MAX_BODY_BYTES`; ``segmint serve --max-upload-mb`` /
``--max-body-kb`` (or ``SEGMINT_MAX_UPLOAD_MB`` / ``SEGMINT_MAX_BODY_KB``) change them.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from segmint.api.auth import TokenStore

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_UPLOAD_BYTES",
    "MULTIPART_OVERHEAD",
    "UPLOAD_PATHS",
    "BodyTooLarge",
    "Limit",
    "RequestLimits",
    "bearer_token",
]

#: the largest uploaded file (``--max-upload-mb``, ``SEGMINT_MAX_UPLOAD_MB``)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: the largest JSON or form body (``--max-body-kb``, ``SEGMINT_MAX_BODY_KB``)
MAX_BODY_BYTES = 1024 * 1024
#: room for a multipart form's boundaries, part headers and small fields around the file
MULTIPART_OVERHEAD = 64 * 1024
#: the routes that take a file: (method, path)
UPLOAD_PATHS = {
    ("POST", "/api/v1/uploads"),
    ("POST", "/upload"),
    ("POST", "/api/v1/update"),
    ("POST", "/update"),
}
API_PREFIX = "/api/v1/"
UNAUTHORIZED = "A valid API token is needed: send 'Authorization: Bearer <token>'."


class BodyTooLarge(HTTPException):
    """The body passed its cap while it was being read (413)."""

    def __init__(self, limit: Limit) -> None:
        super().__init__(413, limit.text())
        self.limit = limit


class Limit:
    """A body cap and how to explain it: ``upload`` caps count the form's framing too."""

    def __init__(self, allowed: int, *, upload: bool) -> None:
        self.allowed = allowed
        self.upload = upload
        self.cap = allowed + MULTIPART_OVERHEAD if upload else allowed

    def problem(self) -> str:
        if self.upload:
            return f"The file is larger than the upload limit ({_size(self.allowed)})."
        return f"The request body is larger than the body limit ({_size(self.allowed)})."

    def fix(self) -> str:
        if self.upload:
            return (
                "import it from the command line (segmint ingest FILE) or start the server "
                "with a higher --max-upload-mb."
            )
        return "send a smaller body, or start the server with a higher --max-body-kb."

    def text(self) -> str:
        return f"{self.problem()} Fix: {self.fix()}"

    def body(self) -> dict[str, Any]:
        return {
            "error": "RequestTooLarge",
            "detail": self.text(),
            "problem": self.problem(),
            "where": None,
            "fix": self.fix(),
        }


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):g} MB"
    return f"{n / 1024:g} KB"


class RequestLimits:
    """ASGI middleware: token and size checks before the body, byte counting while reading."""

    def __init__(
        self, app: ASGIApp, *, tokens: TokenStore, upload_bytes: int, body_bytes: int
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.uploads = Limit(upload_bytes, upload=True)
        self.bodies = Limit(body_bytes, upload=False)

    def limit(self, method: str, path: str) -> Limit:
        """The body cap of ``method path``."""
        return self.uploads if (method, path.rstrip("/")) in UPLOAD_PATHS else self.bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path: str = scope["path"]
        if path.startswith(API_PREFIX) and self.tokens.verify(bearer_token(headers)) is None:
            await _respond(send, 401, {"detail": UNAUTHORIZED}, {"WWW-Authenticate": "Bearer"})
            return
        limit = self.limit(scope["method"], path)
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _respond(send, 400, {"detail": "The Content-Length header is not a number."})
                return
            if int(length) > limit.cap:
                await _respond(send, 413, limit.body())
                return
        started = False

        async def counted_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counted(receive, limit), counted_send)
        except BodyTooLarge as exc:  # raised past every handler (e.g. by a middleware)
            if started:
                raise
            await _respond(send, 413, exc.limit.body())


def _counted(receive: Receive, limit: Limit) -> Receive:
    """``receive`` that raises :class:`BodyTooLarge` once more than the cap came in."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit.cap:
                raise BodyTooLarge(limit)
        return message

    return wrapped


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def bearer_token(headers: dict[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header (lower-cased header names)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _respond(
    send: Send, status: int, body: dict[str, Any], extra: dict[str, str] | None = None
) -> None:
    """A JSON answer sent without reading the request body; the connection is closed after
    it (the unread body cannot be skipped), which well-behaved clients handle."""
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
        *((k.lower().encode(), v.encode()) for k, v in (extra or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
