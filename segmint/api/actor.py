"""Who is calling, for the audit log: the API token or the web session, and the address.

:class:`ActingAs` is an ASGI middleware in front of every route. It finds the caller (an API
call's bearer token; a web form's session cookie) and runs the request inside
:func:`segmint.privacy.acting_as` with the token's name and the client's address, so every
audit row the request writes names them. The actor is a context variable: request threads
get a copy of it, and :class:`~segmint.api.jobs.JobRunner` carries it into the job it queues.

A web page that only reads (GET) is not looked up: the session costs a query of the token
table, and reads write no audit rows. The sign-in form records its own rows (the name of the
token it signed in, or a failure without what was typed).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from segmint.api.auth import TokenStore
from segmint.api.limits import API_PREFIX, bearer_token
from segmint.privacy.audit import acting_as

__all__ = ["ANONYMOUS", "ActingAs", "client_address"]

#: the actor of a request without a valid token or session
ANONYMOUS = "(not signed in)"
_READS = {"GET", "HEAD", "OPTIONS"}


def client_address(scope: Scope) -> str:
    """The client's address as the server saw it (behind a proxy: uvicorn's
    ``--proxy-headers`` decides whether ``X-Forwarded-For`` is believed)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class ActingAs:
    """ASGI middleware: run each request as its token's name, from the client's address."""

    def __init__(self, app: ASGIApp, *, tokens: TokenStore) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with acting_as(self._name(scope) or ANONYMOUS, client_address(scope)):
            await self.app(scope, receive, send)

    def _name(self, scope: Scope) -> str | None:
        request = Request(scope)
        if scope["path"].startswith(API_PREFIX):
            found = self.tokens.verify(bearer_token(dict(request.headers)))
            return found.name if found else None
        if scope["method"] in _READS or getattr(request.app.state, "web_key", None) is None:
            return None
        from segmint.web.session import read  # the web app is mounted on the API's app

        user = read(request)
        return user.principal.name if user else None
