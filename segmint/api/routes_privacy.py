"""REST endpoint for erasure (GDPR art. 17, CCPA delete), under ``/api/v1``; admin only.

``POST /erase`` with exactly one of ``customer_id``, ``email``, ``phone``: with ``dry_run``
it answers 200 with what would go; otherwise 202 with a job of kind ``erase`` whose result
is the JSON of ``segmint erase --json``. The work is :mod:`segmint.api.services_privacy`,
shared with the web app's Erase page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from segmint.api import services_privacy as service
from segmint.api.openapi import errors
from segmint.api.routes import Admin, Job, State, Strict

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")

_Id = Field(default=None, min_length=1, max_length=320)


class EraseRequest(Strict):
    #: exactly one of these three
    customer_id: str | None = _Id
    email: str | None = _Id
    phone: str | None = _Id
    #: kept in the audit log: a ticket number, not the person's name
    reason: str | None = Field(default=None, max_length=500)
    #: only say what would go
    dry_run: bool = False


@router.post(
    "/erase",
    status_code=202,
    summary="Erase one person: every row, quote and byte (admin)",
    description="`segmint erase` on the server. With `dry_run` the answer (200) lists what "
    "would go. Otherwise a job of kind `erase` deletes the person's rows from every customer "
    "table, replaces their quotes in results and reports with `[erased]`, rewrites the "
    "workspace file (the server answers 503 for the few seconds that takes), deletes "
    "uploads that held them and adds their keyed hashes to the suppression list; its result "
    "names the audience files to withdraw from the platforms. docs/privacy.md.",
    responses={**errors(403), 200: {"description": "The dry run: what would go."}},
)
async def erase(body: EraseRequest, who: Admin, state: State) -> Any:
    ids = {"customer_id": body.customer_id, "email": body.email, "phone": body.phone}
    if body.dry_run:
        found = await run_in_threadpool(lambda: service.preview_erase(state, **ids))
        return JSONResponse(_jsonable(found), status_code=200)
    job_id = await run_in_threadpool(
        lambda: service.start_erase(state, who.name, reason=body.reason, **ids)
    )
    return Job(**(state.jobs.get(job_id) or {}))


def _jsonable(data: dict[str, Any]) -> Any:
    import json

    return json.loads(json.dumps(data, default=str))
