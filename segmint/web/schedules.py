"""The Schedules page: the scheduled re-runs with their next run, last run and last alerts, and
forms to add and remove one.

Everyone signed in sees the list; analysts also get the forms, which post here (with the
session's CSRF token, as every form) and call the same functions as ``/api/v1/schedules``
(:mod:`segmint.api.services_schedules`). A refusal (a bad cron expression, a spec that does
not load or lists sources) shows the page again with the paragraph and the values typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services_schedules as service
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.web.render import page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router"]

router = APIRouter()

#: the form's fields and their values on a fresh page
DEFAULTS = {"cron": "0 6 * * 1", "spec": ""}


def _when(iso: str | None) -> str:
    return iso.replace("T", " ")[:16] if iso else "–"


def _view(s: dict[str, Any]) -> dict[str, Any]:
    last = s["last_run"]
    return {
        **s,
        "next": _when(s["next_run_at"]),
        "last": {**last, "when": _when(last["started_at"])} if last else None,
    }


def _page(
    request: Request,
    user: WebUser,
    *,
    values: dict[str, str] | None = None,
    added: dict[str, Any] | None = None,
    removed: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    state = state_of(request)
    found = service.list_schedules(state, state.workspace())
    return page(
        request,
        "schedules.html.j2",
        user,
        status=status,
        title="Schedules",
        schedules=[_view(s) for s in found],
        values={**DEFAULTS, **(values or {})},
        added={**added, "next": _when(added["next_run_at"])} if added else None,
        removed=removed,
        error=error,
    )


@router.get("/schedules")
def schedules(request: Request, user: Annotated[WebUser, Depends(page_user("viewer"))]) -> Response:
    return _page(request, user)


@router.post("/schedules")
async def add(
    request: Request, user: Annotated[WebUser, Depends(form_user("analyst"))]
) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, default)) for k, default in DEFAULTS.items()}
    state = state_of(request)
    try:
        done = await run_in_threadpool(
            lambda: service.add(
                state,
                state.workspace(),
                cron=values["cron"],
                spec=values["spec"],
                user=user.principal.name,
            )
        )
    except SegmintError as exc:
        return _page(request, user, values=values, error=state.redact(str(exc)), status=400)
    return _page(request, user, added=done)


@router.post("/schedules/{schedule_id}/remove")
async def remove(
    schedule_id: str,
    request: Request,
    user: Annotated[WebUser, Depends(form_user("analyst"))],
) -> Response:
    state = state_of(request)
    gone = await run_in_threadpool(
        lambda: service.remove(state, state.workspace(), schedule_id[:100])
    )
    return _page(request, user, removed=gone["schedule_id"])
