"""The error answers of the REST API, as the OpenAPI description documents them.

Every endpoint lists every status it can answer with, so a client (and schemathesis, in
``tests/test_api_fuzz.py``) can rely on the description: 400 (a user error or a body that is
not JSON), 401 (no valid token, answered before the body is read), 409 (served from a Spark
workspace, and the endpoint needs the embedded engine), 413 (a body over its cap), 422 (a request that does not match the schema) and 503 (the engine ran out of memory or
could not use its files) for all; 403, 404 and 507 where the endpoint can answer them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

__all__ = ["UPLOAD_BODY", "ErrorBody", "errors", "refine"]


class ErrorBody(BaseModel):
    """An error: ``detail`` says what happened and how to fix it; a user error (``error`` is
    its kind) also gives ``problem``, ``where`` and ``fix`` apart; a request that does not
    match the schema lists its ``problems``."""

    model_config = ConfigDict(extra="allow")

    detail: str
    error: str | None = None
    problem: str | None = None
    where: str | None = None
    fix: str | None = None
    problems: list[str] | None = None


DESCRIPTIONS = {
    400: "A user error (the paragraph says what, where and how to fix it), or a body that "
    "is not valid JSON",
    401: "No valid API token (answered before the request body is read)",
    403: "The token's role is too low for this endpoint",
    404: "The run, segmentation, segment, job, upload or token does not exist",
    409: "Served from a Spark workspace (segmint serve --engine spark), and this endpoint or "
    "option needs the embedded engine; the paragraph names the command to use instead",
    413: "The request body is over its cap (uploads: the upload limit; other bodies: the "
    "body limit), or an upload unpacks past the decompression limits",
    422: "The request does not match the schema",
    503: "The engine ran out of memory or could not use its files; the request was fine",
    507: "The server has no room left to store the upload",
}
ALWAYS = (400, 401, 409, 413, 422, 503)

#: the multipart body of ``POST /api/v1/uploads`` (the route streams it itself)
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV, Excel, Parquet or JSON export (may be .gz)",
                        }
                    },
                }
            }
        },
    }
}


def errors(*extra: int, ok: tuple[str, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: the statuses every endpoint has plus ``extra``; ``ok``
    (media type, description) documents a 200 that is not JSON."""
    out: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorBody, "description": DESCRIPTIONS[code]}
        for code in sorted({*ALWAYS, *extra})
    }
    if ok is not None:
        out[200] = {"content": {ok[0]: {}}, "description": ok[1]}
    return out


def refine(app: FastAPI) -> None:
    """Make ``app.openapi()`` say what the spec's validators check and JSON Schema can express:
    a segmentation's ``method`` is one of the registry's methods, ``k`` is ``"auto"`` or an
    integer ≥ 2, ``k_range`` holds integers ≥ 2. (The rules between fields, e.g. ``rules``
    only with method ``rules``, stay in the validators and their 422.)"""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _segmentation(build())
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def _segmentation(schema: dict[str, Any]) -> None:
    from segmint.segment.registry import METHODS

    found = schema.get("components", {}).get("schemas", {}).get("SegmentationSpec")
    if found is None:
        return
    props = found["properties"]
    props["method"]["enum"] = list(METHODS)
    props["k"]["anyOf"] = [{"type": "integer", "minimum": 2}, {"const": "auto"}]
    for item in props["k_range"].get("prefixItems", []):
        item["minimum"] = 2
