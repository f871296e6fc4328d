"""The Erase page (admin): find a person, see what would go, confirm, erase.

Two steps, because an erasure cannot be undone: the form's first submit is a dry run that
lists the rows per table, the reports to rewrite and the audience files to withdraw from
the platforms; the second (a checkbox and a confirmation dialog) queues the erasure as a job
(:mod:`segmint.api.services_privacy`), whose page then shows what was done.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services_privacy as service
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.web.render import page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router"]

router = APIRouter()
Admin = Annotated[WebUser, Depends(page_user("admin"))]
AdminPost = Annotated[WebUser, Depends(form_user("admin"))]
KINDS = {"customer_id": "Customer id", "email": "E-mail", "phone": "Phone"}


def _page(request: Request, user: WebUser, status: int = 200, **context: Any) -> Response:
    context = {"error": "", "form": None, "preview": None, **context}
    return page(
        request, "erase.html.j2", user, status=status, title="Erase a customer", kinds=KINDS,
        **context,
    )  # fmt: skip


def _who(form: Any) -> tuple[str, str, dict[str, str | None]]:
    kind = str(form.get("kind") or "")
    value = str(form.get("value") or "").strip()
    if kind not in KINDS or not value or len(value) > 320:
        raise SegmintError(
            "Choose what identifies the person and give it (1–320 characters).",
            fix="e.g. E-mail: ann@example.org.",
        )
    return kind, value, {k: (value if k == kind else None) for k in KINDS}


@router.get("/erase")
def erase_form(request: Request, user: Admin) -> Response:
    return _page(request, user)


@router.post("/erase/preview")
async def preview(request: Request, user: AdminPost) -> Response:
    form = await request.form()
    state = state_of(request)
    try:
        kind, value, who = _who(form)
        found = await run_in_threadpool(lambda: service.preview_erase(state, **who))
    except SegmintError as exc:
        return _page(request, user, status=400, error=str(exc), form=dict(form))
    reason = str(form.get("reason") or "")[:500]
    return _page(request, user, preview=found, kind=kind, value=value, reason=reason)


@router.post("/erase")
async def erase(request: Request, user: AdminPost) -> Response:
    form = await request.form()
    state = state_of(request)
    if form.get("confirm") != "yes":
        return _page(
            request, user, status=400, form=dict(form),
            error="Tick the box to confirm: an erasure cannot be undone.",
        )  # fmt: skip
    try:
        _kind, _value, who = _who(form)
        reason = str(form.get("reason") or "")[:500] or None
        job_id = await run_in_threadpool(
            lambda: service.start_erase(state, user.principal.name, reason=reason, **who)
        )
    except SegmintError as exc:
        return _page(request, user, status=400, error=str(exc), form=dict(form))
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
