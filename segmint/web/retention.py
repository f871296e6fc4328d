"""The Retention & access page (admin): apply the retention limits, with a dry-run preview,
and download one person's data (subject access) as JSON.

Both forms post here with the session's CSRF token and call the functions behind
``/api/v1/retention/apply`` and ``/api/v1/subject-access``
(:mod:`segmint.api.services_retention`). "Preview" counts the rows each limit would remove and
changes nothing; "Delete" asks for confirmation first. A subject access answers with the JSON
file as a download; nobody matching shows the page again saying so, and nothing is downloaded.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services_retention as service
from segmint.api.services import safe_name
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.web.render import page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router"]

router = APIRouter()
Admin = Annotated[WebUser, Depends(page_user("admin"))]
AdminPost = Annotated[WebUser, Depends(form_user("admin"))]

#: the retention form's text on a fresh page
EXAMPLE = "retention:\n  orders: 3y\n  events: 13m\n  quality_samples: 30d\n"
KINDS = {"customer_id": "Customer id", "email": "E-mail", "phone": "Phone"}


def _page(
    request: Request,
    user: WebUser,
    *,
    spec: str = EXAMPLE,
    result: dict[str, Any] | None = None,
    error: str = "",
    access_error: str = "",
    kind: str = "email",
    value: str = "",
    status: int = 200,
) -> Response:
    return page(
        request,
        "retention.html.j2",
        user,
        status=status,
        title="Retention & access",
        spec=spec,
        result=result,
        error=error,
        access_error=access_error,
        kinds=KINDS,
        kind=kind,
        value=value,
    )


def _origin(request: Request) -> str:
    return request.client.host if request.client else "web"


@router.get("/retention")
def retention(request: Request, user: Admin) -> Response:
    return _page(request, user)


@router.post("/retention")
async def apply(request: Request, user: AdminPost) -> Response:
    form = await request.form()
    spec = str(form.get("spec") or "")[:50_000]
    dry_run = form.get("action") != "apply"
    state = state_of(request)

    def work() -> dict[str, Any]:
        ws = state.workspace()
        policy = service.policy_from(ws, spec=spec, limits=None)
        return service.apply_retention(
            state,
            ws,
            policy,
            dry_run=dry_run,
            user=user.principal.name,
            origin=_origin(request),
        )

    try:
        done = await run_in_threadpool(work)
    except SegmintError as exc:
        return _page(request, user, spec=spec, error=state.redact(str(exc)), status=400)
    return _page(request, user, spec=spec, result=done)


@router.post("/subject-access")
async def subject_access(request: Request, user: AdminPost) -> Response:
    form = await request.form()
    kind = str(form.get("kind") or "")
    value = str(form.get("value") or "").strip()[:320]
    if kind not in KINDS or not value:
        return _page(
            request,
            user,
            kind=kind if kind in KINDS else "email",
            value=value,
            access_error="Choose what to search by and type a value.",
            status=400,
        )
    state = state_of(request)
    try:
        data = await run_in_threadpool(
            lambda: service.subject_access(
                state,
                state.workspace(),
                **{k: value if k == kind else None for k in KINDS},
                user=user.principal.name,
                origin=_origin(request),
            )
        )
    except SegmintError as exc:
        return _page(
            request,
            user,
            kind=kind,
            value=value,
            access_error=state.redact(str(exc)),
            status=404 if "Nobody" in exc.problem else 400,
        )
    name = f"subject-access-{safe_name(data['customer_ids'][0])}.json"
    body = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return Response(
        body.encode("utf-8"),
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
