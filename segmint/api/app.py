"""The server: FastAPI with the REST API (``/api/v1``, OpenAPI at ``/docs``) and the web app.

>>> from pathlib import Path
>>> from segmint.api import Settings, create_app
>>> app = create_app(Settings(workspace=Path("shop.duckdb")))  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import duckdb
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from segmint.api import (
    routes_analysis,
    routes_audit,
    routes_campaigns,
    routes_consent,
    routes_customers,
    routes_experiments,
    routes_feedback,
    routes_identity,
    routes_monitor,
    routes_privacy,
    routes_pseudonyms,
    routes_retention,
    routes_schedules,
    routes_update,
)
from segmint.api.actor import ActingAs
from segmint.api.engine import NotOnEngine, guard
from segmint.api.limits import BodyTooLarge, RequestLimits
from segmint.api.openapi import refine
from segmint.api.redact import Redactor
from segmint.api.routes import router
from segmint.api.services import NotFound
from segmint.api.shortcut import ScoringShortcut
from segmint.api.state import IN_REQUEST, AppState, Settings
from segmint.api.uploads import UploadTooLarge
from segmint.exceptions import DiskSpaceError, EngineError, SegmintError
from segmint.store import translate

__all__ = ["SECURITY_HEADERS", "create_app", "error_status", "first_admin_token"]

log = logging.getLogger("segmint.api")

#: sent with every response (the downloaded report sets its own Content-Security-Policy)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def error_status(exc: SegmintError) -> int:
    """404 for what is not there, 409 for what a Spark workspace cannot answer, 413 for an
    upload over a size limit, 507 when the server's disk is full, 503 when the engine ran out
    of memory or could not use its files (the request was fine), 400 for every other user
    error."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotOnEngine):
        return 409
    if isinstance(exc, UploadTooLarge):
        return 413
    if isinstance(exc, DiskSpaceError):
        return 507
    if isinstance(exc, EngineError):
        return 503
    return 400


def _error(status: int, exc: SegmintError, redact: Redactor) -> JSONResponse:
    """The JSON of a user error; paths under the server's folders become file names."""
    return JSONResponse(
        {
            "error": type(exc).__name__,
            "detail": redact(str(exc)),
            "problem": redact(exc.problem),
            "where": redact.optional(exc.where),
            "fix": redact.optional(exc.fix),
        },
        status_code=status,
    )


def create_app(settings: Settings) -> FastAPI:
    """A ready server for ``settings.workspace`` (created when new)."""
    state = AppState(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(
        title="segmint",
        version="0.1.0",
        summary="Customer segmentation: upload exports, run segmentations, explore and export.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's Swagger UI loads from a CDN; the web app serves /docs itself
        redoc_url=None,
    )
    app.state.segmint = state

    @app.exception_handler(SegmintError)
    async def user_error(_request: Request, exc: SegmintError) -> JSONResponse:
        return _error(error_status(exc), exc, state.redact)

    @app.exception_handler(duckdb.Error)
    async def engine_error(request: Request, exc: duckdb.Error) -> Response:
        """Out of memory, a full disk, a locked file: the same paragraph as the CLI's, shown
        by whichever SegmintError handler is in place (the web app's for its pages)."""
        error = translate(exc, settings.workspace)
        if error is None:
            raise exc  # a bug: the server's 500
        result = app.exception_handlers[SegmintError](request, error)
        response: Response = await result if inspect.isawaitable(result) else result
        return response

    @app.exception_handler(BodyTooLarge)
    async def too_large(_request: Request, exc: BodyTooLarge) -> JSONResponse:
        """A body sent without a length that passed its cap while being read."""
        return JSONResponse(exc.limit.body(), status_code=413, headers={"Connection": "close"})

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        ]
        return JSONResponse(
            {
                "error": "ValidationError",
                "detail": "The request is not valid: " + "; ".join(problems),
                "problems": problems,
                "fix": "see the request schema at /docs.",
            },
            status_code=422,
        )

    # innermost: one-customer scoring answered from memory without the routing (a request it
    # cannot answer goes on to the route)
    app.add_middleware(ScoringShortcut, state=state)
    # every route, job and page writes its audit rows as the caller
    app.add_middleware(ActingAs, tokens=state.tokens)
    # before the security headers' middleware, so that it runs inside it: its early 401 and
    # 413 answers get the headers too
    app.add_middleware(
        RequestLimits,
        tokens=state.tokens,
        upload_bytes=settings.max_upload_bytes,
        body_bytes=settings.max_body_bytes,
    )

    app.add_middleware(Admission, state=state)

    # on a Spark workspace, the routes that need the embedded engine answer 409
    app.include_router(router, dependencies=[Depends(guard)])
    for module in (
        routes_customers,
        routes_audit,
        routes_experiments,
        routes_analysis,
        routes_campaigns,
        routes_monitor,
        routes_schedules,
        routes_update,
        routes_privacy,
        routes_retention,
        routes_pseudonyms,
        routes_consent,
        routes_identity,
        routes_feedback,
    ):
        app.include_router(module.router, dependencies=[Depends(guard)])
    refine(app)
    from segmint.web import pages

    pages.mount(app)
    return app


class Admission:
    """ASGI middleware, outermost of the app's own: answers 503 while the workspace file is
    rewritten, counts the requests being served (:meth:`AppState.exclusive` waits for them),
    and adds :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store`` under ``/api/``) to
    every answer that does not set them itself.

    A plain ASGI class rather than ``@app.middleware("http")``: Starlette's function
    middleware runs the app in a task of its own and streams the answer through a memory
    channel (with the thread hops of plain-function dependencies, half the time of a small
    API call: GET /api/v1/me took 1.2 ms in-process, 0.57 ms without both).
    """

    def __init__(self, app: ASGIApp, *, state: AppState) -> None:
        self.app = app
        self.state = state
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()
        ]
        self._headers = headers
        self._api_headers = [*headers, (b"cache-control", b"no-store")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = self._api_headers if path.startswith("/api/") else self._headers

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                missing = [(k, v) for k, v in extra if k not in present]
                if missing:
                    message = {**message, "headers": [*message.get("headers", ()), *missing]}
            await send(message)

        if self.state.paused:  # the workspace file is being rewritten after an erasure
            await _paused(path)(scope, receive, with_headers)
            return
        self.state.active += 1
        admitted = IN_REQUEST.set(True)
        try:
            await self.app(scope, receive, with_headers)
        finally:
            IN_REQUEST.reset(admitted)
            self.state.active -= 1


def _paused(path: str) -> Response:
    """503 while the workspace file is rewritten (an erasure, a compact): JSON for the API, a
    page that reloads itself for the web app."""
    detail = "The workspace file is being rewritten after an erasure; this takes seconds."
    if path.startswith("/api/"):
        return JSONResponse(
            {"error": "Paused", "detail": detail, "fix": "try again in a few seconds."},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="2"><title>One moment</title></head>'
        f"<body><p>{detail} This page reloads by itself.</p></body></html>"
    )
    return Response(page, status_code=503, media_type="text/html", headers={"Retry-After": "2"})


def first_admin_token(app: FastAPI) -> str | None:
    """Create the first admin token when the workspace has none (shown once by `serve`)."""
    state: AppState = app.state.segmint
    if state.tokens.count_admins():
        return None
    _, token = state.tokens.create("admin", "admin")
    return token
