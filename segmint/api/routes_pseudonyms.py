"""REST endpoint for ``segmint pseudonymize``, under ``/api/v1`` (admin only).

``POST /pseudonymize`` (body ``{"dry_run": false}``) rewrites the customer ids of every derived
table as keyed pseudonyms and turns the workspace setting on, in one transaction with its audit
row; it answers the rows rewritten per table. Admin, because it changes what every later run,
export and experiment writes. The work is :func:`segmint.privacy.pseudonyms.pseudonymize`;
the web app's Admin page calls the same service (:func:`pseudonymize`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from segmint.api.openapi import errors
from segmint.api.routes import Admin, State
from segmint.api.state import AppState

__all__ = ["PseudonymizeRequest", "pseudonymize", "router"]

router = APIRouter(prefix="/api/v1")


class PseudonymizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False


def pseudonymize(state: AppState, user: str, origin: str, *, dry_run: bool) -> dict[str, Any]:
    """Pseudonymize the server's workspace as ``user`` from ``origin`` (the audit row's who
    and where); the rows rewritten per table and their total."""
    from segmint.privacy.audit import acting_as

    ws = state.workspace()
    with state.write_lock, acting_as(user, origin):
        tables = ws.pseudonymize(dry_run=dry_run)
    state.models.clear()  # nothing cached refers to a customer, but the tables changed
    return {"dry_run": dry_run, "tables": tables, "rows": sum(tables.values())}


@router.post(
    "/pseudonymize",
    summary="Replace customer ids in derived tables by keyed pseudonyms (admin)",
    responses=errors(403),
)
async def pseudonymize_route(
    body: PseudonymizeRequest, who: Admin, state: State, request: Request
) -> dict[str, Any]:
    origin = request.client.host if request.client else "api"
    return await run_in_threadpool(pseudonymize, state, who.name, origin, dry_run=body.dry_run)
