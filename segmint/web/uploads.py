"""Upload an export, fix its column mapping, import it (a background job)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from segmint.api import services
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.ingest.mapping import resolve
from segmint.web.mapping import changed, mapping_view
from segmint.web.render import page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router"]

router = APIRouter()
Analyst = Annotated[WebUser, Depends(page_user("analyst"))]
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
async def upload(request: Request, user: AnalystPost) -> Response:
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _upload_page(request, user, "Choose a file to upload first.", status=400)
    state = state_of(request)

    def store() -> str:
        upload_id, path = services.save_upload(state, str(file.filename), file.file)
        services.preview_upload(path)  # content errors now, on this page
        return upload_id

    try:
        upload_id = await run_in_threadpool(store)  # file work off the event loop
    except SegmintError as exc:
        return _upload_page(request, user, str(exc), status=400)
    return RedirectResponse(f"/upload/{upload_id}", status_code=303)


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
