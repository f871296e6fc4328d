"""Sign-in and sign-out, the dashboard, data quality, job pages and the offline API docs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services, services_engine
from segmint.api.actor import ANONYMOUS, client_address
from segmint.api.state import AppState, state_of
from segmint.privacy.audit import Actor, record
from segmint.report import quality_view
from segmint.store import CANONICAL, TABLES
from segmint.web import docs, update
from segmint.web.render import page
from segmint.web.session import (
    WebUser,
    clear,
    form_user,
    issue,
    page_user,
    read,
    set_signin_cookie,
    signin_csrf,
    signin_csrf_ok,
)

__all__ = ["router"]

router = APIRouter()
#: the server's own bookkeeping, not shown with the shop's data
SERVER_TABLES = tuple(t.name for t in TABLES.values() if t.kind == "server")
Viewer = Annotated[WebUser, Depends(page_user("viewer"))]


def _safe_next(target: object) -> str:
    """Only local paths: '/runs/x' yes, '//evil.example' or 'https://…' no."""
    text = str(target or "/")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return "/"
    return text


def _signin_page(request: Request, next_path: str, error: str = "", status: int = 200) -> Response:
    nonce, token = signin_csrf(request)
    response = page(
        request,
        "signin.html.j2",
        None,
        status=status,
        title="Sign in",
        next_path=next_path,
        error=error,
        signin_token=token,
    )
    set_signin_cookie(request, response, nonce)
    return response


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    if read(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _signin_page(request, _safe_next(next))


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await request.form()
    next_path = _safe_next(form.get("next"))
    if not signin_csrf_ok(request, form.get("csrf")):
        await run_in_threadpool(_audit, request, "signin.failed", reason="the form's token")
        return _signin_page(
            request,
            next_path,
            "The sign-in form expired (its security token did not match). Please try again.",
            status=403,
        )
    token = str(form.get("token") or "").strip()
    principal = state_of(request).tokens.verify(token)
    if principal is None:  # what was typed is not kept: it may be a real token with a typo
        await run_in_threadpool(_audit, request, "signin.failed", reason="no such token")
        return _signin_page(
            request,
            next_path,
            "That token is not valid: it may be mistyped or revoked. Paste the whole token "
            "(it starts with sgm_), or ask an admin for a new one (segmint token NAME).",
            status=401,
        )
    await run_in_threadpool(
        _audit, request, "signin", principal.name, token_id=principal.token_id, role=principal.role
    )
    response = RedirectResponse(next_path, status_code=303)
    issue(request, response, principal)
    return response


def _audit(request: Request, action: str, name: str = ANONYMOUS, **detail: str) -> None:
    """A sign-in row: the session does not exist yet, so the actor is given here. Run off the
    event loop: the write lock may be held by an export."""
    state = state_of(request)
    with state.write_lock:
        record(
            state.workspace().store,
            action,
            detail=detail,
            actor=Actor(name, client_address(request.scope)),
        )


@router.post("/signout")
def signout(request: Request, user: Annotated[WebUser, Depends(form_user("viewer"))]) -> Response:
    state = state_of(request)
    with state.write_lock:
        record(state.workspace().store, "signout", detail={"token_id": user.principal.token_id})
    response = RedirectResponse("/signin", status_code=303)
    clear(response)
    return response


@router.get("/")
def dashboard(request: Request, user: Viewer) -> Response:
    state = state_of(request)
    ws = state.workspace()
    tables = [t for t in services_engine.list_tables(state) if t["name"] not in SERVER_TABLES]
    return page(
        request,
        "dashboard.html.j2",
        user,
        title="Dashboard",
        tables=[t for t in tables if t["name"] in CANONICAL],
        other_tables=[t for t in tables if t["name"] not in CANONICAL],
        jobs=state.jobs.list(limit=10),
        runs=services.list_segment_runs(ws),
    )


def _last_ingest(state: AppState) -> dict[str, Any] | None:
    for job in state.jobs.list(limit=200):
        if job["kind"] == "ingest" and job["status"] == "done":
            return job
    return None


@router.get("/quality")
def quality(request: Request, user: Viewer) -> Response:
    state = state_of(request)
    ws = state.workspace()
    report: dict[str, Any] = {}
    if any(t in ws.tables() for t in ("orders", "customers", "events")):
        report = ws.quality()
    has_file = (state.reports / "quality" / "quality.html").exists()
    return page(
        request,
        "quality.html.j2",
        user,
        title="Data quality",
        job=_last_ingest(state),
        report=report,
        view=quality_view(report),
        has_file=has_file,
    )


@router.get("/quality/report.html")
def quality_file(request: Request, _: Viewer) -> Response:
    path = state_of(request).reports / "quality" / "quality.html"
    if not path.exists():
        raise services.NotFound(
            "No quality report has been written yet.", fix="upload and import an export first."
        )
    return FileResponse(
        path, media_type="text/html", headers={"Content-Security-Policy": services.REPORT_CSP}
    )


def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    result = job.get("result") or {}
    link = None
    if job["status"] == "done":
        if job["kind"] == "ingest":
            link = {"href": "/quality", "text": "See the data quality report"}
        elif job["kind"] == "dedupe":
            link = {"href": "/persons", "text": "See the persons"}
        elif job["kind"] == "feedback":
            link = {"href": "/feedback", "text": "See what customers wrote"}
        elif result.get("run_id"):
            link = {"href": f"/runs/{result['run_id']}", "text": "Open the results"}
    return {
        "job_id": job["job_id"],
        "kind": job["kind"],
        "status": job["status"],
        "message": job.get("message") or "",
        "error": job.get("error") or "",
        "finished": job["status"] in ("done", "failed"),
        "link": link,
    }


def _job(request: Request, job_id: str) -> dict[str, Any]:
    job = state_of(request).jobs.get(job_id)
    if job is None:
        raise services.NotFound(f"There is no job '{job_id}'.", fix="see the dashboard's jobs.")
    return job


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, user: Viewer) -> Response:
    job = _job(request, job_id)
    return page(
        request,
        "job.html.j2",
        user,
        title="Job",
        job=job,
        view=_job_view(job),
        update=update.summary(job["result"]) if job["kind"] == "update" and job["result"] else None,
    )


@router.get("/web/api/jobs/{job_id}")
def job_status(request: Request, job_id: str, _: Viewer) -> JSONResponse:
    return JSONResponse(_job_view(_job(request, job_id)), headers={"Cache-Control": "no-store"})


@router.get("/docs")
def api_docs(request: Request, user: Viewer) -> Response:
    return page(request, "docs.html.j2", user, title="API", api=docs.api_view(request.app))
