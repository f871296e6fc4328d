"""The Consent page: one customer's consent history and a form to record a decision.

For analysts (the history is about one identified person). ``/consent?customer=ID`` shows the
records; the form posts here (with the session's CSRF token, as every form) and calls the
same function as ``POST /api/v1/consent`` (:mod:`segmint.api.services_consent`), so the audit
log names the signed-in token and the client's address. A refusal (an unknown customer, a
channel or status that is not one) shows the page again with the paragraph and the values.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services_consent as service
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.privacy.consent import CHANNELS, STATUSES
from segmint.web.render import page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router"]

router = APIRouter()

#: the form's fields and their values on a fresh page
DEFAULTS = {"customer": "", "channel": "email", "status": "revoked", "source": ""}


def _page(
    request: Request,
    user: WebUser,
    *,
    values: dict[str, str] | None = None,
    saved: dict[str, Any] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    state = state_of(request)
    shown = {**DEFAULTS, **(values or {})}
    customer = shown["customer"].strip()[:200]
    history = service.history(state.workspace(), customer) if customer else []
    return page(
        request,
        "consent.html.j2",
        user,
        status=status,
        title="Consent",
        values=shown,
        customer=customer,
        history=[{**e, "at": e["at"].replace("T", " ")} for e in history],
        channels=CHANNELS,
        statuses=STATUSES,
        saved=saved,
        error=error,
    )


@router.get("/consent")
def consent(
    request: Request,
    user: Annotated[WebUser, Depends(page_user("analyst"))],
    customer: str = "",
) -> Response:
    return _page(request, user, values={"customer": customer})


@router.post("/consent")
async def set_consent(
    request: Request, user: Annotated[WebUser, Depends(form_user("analyst"))]
) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, default))[:200] for k, default in DEFAULTS.items()}
    state = state_of(request)
    try:
        done = await run_in_threadpool(
            lambda: service.set_consent(
                state,
                state.workspace(),
                customer_id=values["customer"],
                channel=values["channel"],
                status=values["status"],
                user=user.principal.name,
                origin=request.client.host if request.client else "unknown",
                source=values["source"].strip() or None,
            )
        )
    except SegmintError as exc:
        return _page(request, user, values=values, error=state.redact(str(exc)), status=400)
    return _page(request, user, values=values, saved=done)
