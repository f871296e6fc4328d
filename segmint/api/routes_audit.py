"""``GET /api/v1/audit``: the audit log, for admins.

The log names the tokens that acted and the addresses they came from, so it is the admin's
(viewer and analyst: 403). It holds no customer data (:mod:`segmint.privacy.audit`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from segmint.api.openapi import errors
from segmint.api.routes import Admin, State

__all__ = ["AuditEntry", "router"]

router = APIRouter(prefix="/api/v1")


class AuditEntry(BaseModel):
    """One change: when (UTC), who, from where, what."""

    logged_at: str
    #: the token's name, or the OS user for the CLI and Python
    actor: str
    #: the client's address, ``cli``, ``python`` or ``schedule ID``
    origin: str
    #: a short dotted verb: ingest, clean, run, export, token.create, signin, …
    action: str
    #: the run, export, token, schedule or experiment it acted on
    target: str | None
    #: counts and settings
    detail: dict[str, Any]


@router.get(
    "/audit",
    summary="The audit log, newest first (admin)",
    description="Every import, clean, run, export, token change, sign-in and other change, "
    "with who, when and from where; `since` is a date or time (UTC), `action` keeps one "
    "action and those under it (`token`: token.create, token.revoke).",
    responses=errors(403),
)
def audit_log(
    _: Admin,
    state: State,
    since: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[AuditEntry]:
    rows = state.workspace().audit(since, action, limit=limit)
    return [AuditEntry(**{**r, "logged_at": r["logged_at"].isoformat()}) for r in rows]
