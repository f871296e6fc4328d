"""Server-rendered pages (Jinja2) mounted on the API's FastAPI app.

:func:`mount` adds the static files, plotly.js (from the installed ``plotly`` package, cached
for a year under a versioned URL), the page routers and the error pages: a page without a
session redirects to the sign-in form, a role too low gets a 403 page naming the role needed,
and user errors (:class:`~segmint.exceptions.SegmintError`) show their paragraph. The REST
API under ``/api/`` keeps its JSON errors.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any
from urllib.parse import quote

import plotly
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from segmint.api.app import error_status
from segmint.api.engine import guard
from segmint.api.state import AppState
from segmint.exceptions import SegmintError
from segmint.web import (
    admin,
    analysis,
    audit,
    campaigns,
    consent,
    erase,
    experiments,
    exports,
    feedback,
    home,
    monitoring,
    persons,
    retention,
    runs,
    schedules,
    update,
    uploads,
)
from segmint.web.render import page
from segmint.web.session import CsrfFailed, RoleRequired, SignInRequired, load_key, read

__all__ = ["mount"]

STATIC = Path(__file__).parent / "static"
PLOTLY_PATH = f"/vendor/plotly-{plotly.__version__}.min.js"
JSON_PREFIX = "/web/api/"


@functools.cache
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _json_call(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIX)


def _error_page(request: Request, status: int, heading: str, message: str) -> Response:
    if _json_call(request):
        return JSONResponse({"error": heading, "detail": message}, status_code=status)
    return page(
        request,
        "error.html.j2",
        read(request),
        status=status,
        title=heading,
        heading=heading,
        message=message,
    )


async def _call(handler: Any, request: Request, exc: Exception) -> Response:
    """Run an exception handler that create_app registered (sync or async)."""
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    response: Response = result
    return response


def _handlers(app: FastAPI) -> None:
    api_user_error = app.exception_handlers[SegmintError]
    api_invalid = app.exception_handlers[RequestValidationError]

    async def sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        if _json_call(request):
            return JSONResponse({"error": "SignInRequired", "detail": "Sign in again."}, 401)
        target = exc.next_path if exc.next_path.startswith("/") else "/"
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)

    async def role(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RoleRequired)
        p = exc.user.principal
        return _error_page(
            request,
            403,
            f"This needs the {exc.needed} role",
            f"You are signed in as '{p.name}', a {p.role}. This page or action needs the "
            f"{exc.needed} role (roles: viewer reads, analyst also uploads, runs, renames and "
            "exports, admin also manages tokens). Ask an admin for a token with that role.",
        )

    async def csrf(request: Request, exc: Exception) -> Response:
        return _error_page(
            request,
            403,
            "The form has expired",
            "The form was sent without this session's security token (CSRF protection). "
            "Go back, reload the page and send the form again.",
        )

    async def user_error(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return await _call(api_user_error, request, exc)
        assert isinstance(exc, SegmintError)
        status = error_status(exc)
        heading = "Not found" if status == 404 else "That did not work"
        state: AppState = request.app.state.segmint
        return _error_page(request, status, heading, state.redact(str(exc)))

    async def invalid(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            return await _call(api_invalid, request, exc)
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
            for e in exc.errors()
        )
        return _error_page(request, 422, "The form is not valid", problems)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _is_api(request):
            return await http_exception_handler(request, exc)
        heading = "Page not found" if exc.status_code == 404 else f"Error {exc.status_code}"
        return _error_page(request, exc.status_code, heading, str(exc.detail))

    handlers: dict[Any, Any] = {
        SignInRequired: sign_in,
        RoleRequired: role,
        CsrfFailed: csrf,
        SegmintError: user_error,
        RequestValidationError: invalid,
        StarletteHTTPException: http_error,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)


def mount(app: FastAPI) -> None:
    """Add the web app's routes and static files to ``app``."""
    state: AppState = app.state.segmint
    app.state.web_key = load_key(state.settings.folder)
    app.state.web_plotly_src = PLOTLY_PATH

    @app.get(PLOTLY_PATH, include_in_schema=False)
    def plotly_js() -> Response:
        return Response(
            _plotly_js(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        home,
        uploads,
        update,
        runs,
        exports,
        experiments,
        analysis,
        campaigns,
        monitoring,
        schedules,
        consent,
        persons,
        feedback,
        admin,
        erase,
        retention,
        audit,
    ):
        app.include_router(module.router, include_in_schema=False, dependencies=[Depends(guard)])
    _handlers(app)
