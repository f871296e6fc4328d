"""The Export button of every segment card, and the Exports page (the export log).

The card's form posts here; the answer is the audience file itself (``Content-Disposition:
attachment``), so the browser downloads it and stays on the results page. The file is written
to a temporary folder by the same function as the REST API's export
(:func:`segmint.api.services.export_download`), logged with the signed-in token's name and
path ``download``, sent and deleted. A refusal (an ad audience under the platform's minimum,
nobody with consent) shows the results page again with the paragraph on that card, not an
error page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from segmint.activate.exporters import lookup
from segmint.api import services
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.web import views
from segmint.web.render import page
from segmint.web.runs import results_page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router"]

router = APIRouter()


@router.post("/runs/{run_id}/export")
async def export(
    request: Request,
    run_id: str,
    user: Annotated[WebUser, Depends(form_user("analyst"))],
) -> Response:
    form = await request.form()
    name, label = str(form.get("s") or ""), str(form.get("label") or "")
    to = str(form.get("to") or "")
    state = state_of(request)
    try:
        hashable = lookup(to).hashable
        done = await run_in_threadpool(
            lambda: services.export_download(
                state,
                state.workspace(),
                run_id,
                name,
                [label],
                to=to,
                user=user.principal.name,
                # the checkbox applies to the platforms that hash; the others are plain text
                hashed=bool(form.get("hashed")) if hashable else None,
            )
        )
    except services.NotFound:
        raise  # a run or segment that is not there: the 404 page
    except SegmintError as exc:
        message = state.redact(str(exc))
        return results_page(
            request,
            run_id,
            user,
            name,
            status=400,
            export_error={"label": label, "message": message},
        )
    return FileResponse(
        done.path,
        media_type="text/csv; charset=utf-8",
        filename=done.filename,
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(done.discard),
    )


@router.get("/exports")
def exports(request: Request, user: Annotated[WebUser, Depends(page_user("viewer"))]) -> Response:
    log = services.list_exports(state_of(request).workspace())
    return page(request, "exports.html.j2", user, title="Exports", exports=views.exports_view(log))
