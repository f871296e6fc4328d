"""The Audit log page (admin): who changed what, when and from where, filtered by date and
action; the same rows as ``GET /api/v1/audit`` and ``segmint audit``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.web.render import page
from segmint.web.session import WebUser, page_user

__all__ = ["router"]

router = APIRouter()
Admin = Annotated[WebUser, Depends(page_user("admin"))]
#: rows shown at most (the newest)
SHOWN = 500


@router.get("/audit")
def audit_log(
    request: Request,
    user: Admin,
    since: Annotated[str, Query(max_length=40)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    rows: list[dict[str, Any]] = []
    error = ""
    try:
        rows = state_of(request).workspace().audit(since or None, action or None, limit=SHOWN)
    except SegmintError as exc:  # a date that is not one: said on the page, values kept
        error = str(exc)
    return page(
        request,
        "audit.html.j2",
        user,
        status=400 if error else 200,
        title="Audit log",
        rows=[{**r, "logged_at": f"{r['logged_at']:%Y-%m-%d %H:%M:%S}"} for r in rows],
        since=since,
        action=action,
        shown=SHOWN,
        error=error,
    )
