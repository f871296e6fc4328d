"""The tokens page (admin): list, create (the secret is shown once), revoke; and the
workspace's pseudonyms (a button, with a confirmation, that runs ``segmint pseudonymize``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from segmint.api.auth import ROLES
from segmint.api.state import state_of
from segmint.web.render import page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router"]

router = APIRouter()
Admin = Annotated[WebUser, Depends(page_user("admin"))]
AdminPost = Annotated[WebUser, Depends(form_user("admin"))]


def _tokens_page(
    request: Request,
    user: WebUser,
    *,
    created: dict[str, str] | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> Response:
    from segmint.privacy.pseudonyms import enabled

    tokens = [
        {
            **t,
            "created_at": t["created_at"].isoformat(sep=" ", timespec="minutes"),
            "active": t["revoked_at"] is None,
            "yours": t["token_id"] == user.principal.token_id,
        }
        for t in state_of(request).tokens.list()
    ]
    return page(
        request,
        "tokens.html.j2",
        user,
        status=status,
        title="Tokens",
        tokens=tokens,
        roles=ROLES,
        created=created,
        error=error,
        notice=notice,
        pseudonyms=enabled(state_of(request).workspace().store),
    )


@router.get("/tokens")
def tokens(request: Request, user: Admin) -> Response:
    return _tokens_page(request, user)


@router.post("/tokens")
async def create_token(request: Request, user: AdminPost) -> Response:
    form = await request.form()
    name = " ".join(str(form.get("name") or "").split())
    role = str(form.get("role") or "")
    if not name or len(name) > 80 or role not in ROLES:
        return _tokens_page(
            request,
            user,
            error=f"A token needs a name (1–80 characters) and one of the roles "
            f"{', '.join(ROLES)}.",
            status=400,
        )
    principal, secret = state_of(request).tokens.create(name, role)
    created = {"name": principal.name, "role": principal.role, "token": secret}
    return _tokens_page(request, user, created=created)


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(request: Request, token_id: str, user: AdminPost) -> Response:
    if token_id == user.principal.token_id:
        return _tokens_page(
            request,
            user,
            error="You cannot revoke the token you are signed in with; "
            "sign in with another admin token first.",
            status=400,
        )
    if not state_of(request).tokens.revoke(token_id):
        return _tokens_page(request, user, error="That token is already revoked.", status=404)
    return RedirectResponse("/tokens", status_code=303)


@router.post("/privacy/pseudonymize")
async def pseudonymize(request: Request, user: AdminPost) -> Response:
    from starlette.concurrency import run_in_threadpool

    from segmint.api.routes_pseudonyms import pseudonymize as service

    origin = request.client.host if request.client else "web"
    done = await run_in_threadpool(
        service, state_of(request), user.principal.name, origin, dry_run=False
    )
    return _tokens_page(
        request,
        user,
        notice=f"{done['rows']:,} customer ids in {len(done['tables'])} derived tables are "
        "now pseudonyms; later runs, exports and designs keep them so.",
    )
