"""Upload an export, fix its column mapping, import it (a background job)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services
from segmint.api.app import error_status
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.ingest.mapping import resolve
from segmint.web.mapping import changed, mapping_view
from segmint.web.render import page
from segmint.web.session import CsrfFailed, WebUser, check_csrf, form_user, page_user

__all__ = ["router"]

router = APIRouter()
Analyst = Annotated[WebUser, Depends(page_user("analyst"))]  # reads no body
AnalystPost = Annotated[WebUser, Depends(form_user("analyst"))]
ACCEPT = ".csv,.tsv,.txt,.xlsx,.xls,.parquet,.json,.jsonl,.ndjson"


def _upload_page(request: Request, user: WebUser, error: str = "", status: int = 200) -> Response:
    limit = state_of(request).settings.max_upload_bytes // (1 << 20)
    return page(
        request,
        "upload.html.j2",
        user,
        status=status,
        title="Upload",
        error=error,
        accept=ACCEPT,
        limit_mb=limit,
    )


@router.get("/upload")
def upload_form(request: Request, user: Analyst) -> Response:
    return _upload_page(request, user)


@router.post("/upload")
async def upload(request: Request, user: Analyst) -> Response:
    """The session and its role are checked before the body is read; the file is streamed to
    its folder (size limit enforced while reading), then the form's CSRF token is checked
    (a mismatch deletes the file), then the content."""
    state = state_of(request)
    try:
        received = await services.receive_upload(state, request)
    except SegmintError as exc:
        return _upload_page(request, user, state.redact(str(exc)), status=error_status(exc))
    if not check_csrf(user.csrf, received.fields.get("csrf")):
        received.discard()
        raise CsrfFailed()

    def check() -> None:
        services.check_upload(state, received)
        try:
            services.preview_upload(received.path)  # content errors now, on this page
        except BaseException:
            received.discard()
            raise

    try:
        await run_in_threadpool(check)  # file work off the event loop
    except SegmintError as exc:
        return _upload_page(request, user, state.redact(str(exc)), status=error_status(exc))
    return RedirectResponse(f"/upload/{received.upload_id}", status_code=303)


def _mapping_page(
    request: Request,
    user: WebUser,
    upload_id: str,
    path: Path,
    view: dict[str, Any],
    error: str = "",
    status: int = 200,
) -> Response:
    return page(
        request,
        "mapping.html.j2",
        user,
        status=status,
        title="Check the columns",
        upload_id=upload_id,
        filename=path.name,
        m=view,
        error=error,
    )


@router.get("/upload/{upload_id}")
def mapping(request: Request, upload_id: str, user: Analyst, table: str = "") -> Response:
    path = services.upload_path(state_of(request), upload_id)
    view = mapping_view(services.preview_upload(path), table or None)
    return _mapping_page(request, user, upload_id, path, view)


@router.post("/upload/{upload_id}/import")
async def import_upload(request: Request, upload_id: str, user: AnalystPost) -> Response:
    state = state_of(request)
    path = services.upload_path(state, upload_id)
    form = await request.form()
    preview = await run_in_threadpool(services.preview_upload, path)
    view = mapping_view(preview, str(form.get("table") or "") or None)
    selected = {c["name"]: str(form.get(f"map-{c['name']}") or "") for c in view["columns"]}
    for column in view["columns"]:  # show the user's choices again if something is wrong
        column["selected"] = selected[column["name"]]
    explicit = changed(selected, view["detected_mapping"])
    try:
        resolve(view["headers"], entity=view["table"], explicit=explicit, where=path.name)
    except SegmintError as exc:
        return _mapping_page(request, user, upload_id, path, view, str(exc), status=400)
    job_id = services.start_ingest(
        state, user.principal.name, path, into=view["table"], mapping=explicit
    )
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
