"""The one-customer scoring request answered before FastAPI's routing.

``POST /api/v1/runs/{run}/segmentations/{name}/assign`` is the call a shop's site or CRM makes
for every visitor, so its cost per request is the server's capacity. Scoring a customer sent
with its numbers takes about 60 µs (:func:`segmint.api.scoring.score_in_memory`); FastAPI's
routing, dependencies, body validation and response serialization around it took about six
times that. :class:`ScoringShortcut`, the innermost ASGI middleware (after the token and body
size checks of :class:`~segmint.api.limits.RequestLimits` and the caller's name of
:class:`~segmint.api.actor.ActingAs`), answers such a request itself when it can answer it
completely from memory, with the same body FastAPI's route would send:

* a JSON body (``Content-Type: application/json``) that is a valid ``AssignRequest``, read as
  the route reads it (``json.loads``, then the same pydantic model);
* a token allowed to call the route (viewer and above, checked again here);
* :func:`~segmint.api.scoring.score_in_memory` has the answer (the model is loaded, the
  customers come with all their numbers, or one by id whose stored values are in memory and
  valid for the file now: :mod:`segmint.api.stored`).

Everything else (another route, another content type, a body FastAPI would refuse, a model not
loaded yet, a customer by id without a valid copy, an error) goes on to FastAPI with the body it
was sent, so the route stays the one place that defines the endpoint, its errors and its
OpenAPI entry.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from segmint.api import scoring
from segmint.api.auth import role_allows
from segmint.api.limits import bearer_token
from segmint.api.routes import AssignRequest
from segmint.api.state import AppState

__all__ = ["MAX_BODY", "ROLE", "ScoringShortcut"]

#: the role the route asks for (``routes.assign``: ``Viewer``)
ROLE = "viewer"
#: a larger body is left to the route unread: it holds more customers than
#: ``scoring.IN_MEMORY_CUSTOMERS`` (about 300 bytes each), and would be parsed twice
MAX_BODY = 64 * 1024
_PATH = re.compile(r"/api/v1/runs/([^/]+)/segmentations/([^/]+)/assign")
_ANSWER: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(list[dict[str, Any]])


class ScoringShortcut:
    """ASGI middleware: answer the scoring requests that need nothing but memory (see the
    module's docstring); pass everything else on unchanged."""

    def __init__(self, app: ASGIApp, *, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._target(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive, MAX_BODY)
        answer = self._answer(found, body) if body is not None else None
        if answer is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(answer)).encode("latin-1")),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def _target(self, scope: Scope) -> tuple[str, str] | None:
        """(run, segmentation) of a scoring request this shortcut may answer, else None."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        path = _PATH.fullmatch(scope["path"])
        if path is None:
            return None
        headers = {k.lower(): v for k, v in scope["headers"] if k.lower() in _HEADERS}
        if headers.get(b"content-type") != b"application/json":
            return None
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY:
            return None
        auth = headers.get(b"authorization", b"").decode("latin-1")
        who = self.state.tokens.verify(bearer_token({"authorization": auth}))
        if who is None or not role_allows(who.role, ROLE):
            return None
        return path.group(1), path.group(2)

    def _answer(self, found: tuple[str, str], body: bytes) -> bytes | None:
        try:
            request = AssignRequest.model_validate(json.loads(body))
        except (ValueError, ValidationError):  # FastAPI's route says what is wrong
            return None
        answer = scoring.score_in_memory(self.state, *found, request.customers)
        return None if answer is None else _ANSWER.dump_json(answer)


_HEADERS = {b"content-type", b"content-length", b"authorization"}


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], bytes | None]:
    """The request's messages as received, and its body: None when the client left or the
    body passed ``limit`` bytes (then reading stops; the route reads the rest)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body", False):
            return messages, b"".join(chunks)
        if size > limit:
            return messages, None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that gives the messages already read first."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
