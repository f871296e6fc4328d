"""Start segmentations, explore results and profiles, rename, edit plans, download, compare.

Segmentation names and segment labels travel as query or form fields (``?s=…&label=…``), so
any text a user gave them works in a URL.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services, services_engine
from segmint.api.engine import refuse
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.store.results import SegmentationResult
from segmint.web import runform, views
from segmint.web.render import anchor, page
from segmint.web.session import WebUser, form_user, json_user, page_user

__all__ = ["results_page", "router"]

router = APIRouter()
Viewer = Annotated[WebUser, Depends(page_user("viewer"))]
Analyst = Annotated[WebUser, Depends(page_user("analyst"))]
AnalystPost = Annotated[WebUser, Depends(form_user("analyst"))]


def _run_form(
    request: Request, user: WebUser, values: dict[str, str], problems: list[str], status: int
) -> Response:
    columns = services.rule_columns(state_of(request).workspace())
    return page(
        request,
        "run_new.html.j2",
        user,
        status=status,
        title="New segmentation",
        values=values,
        problems=problems,
        methods=runform.CLUSTER_METHODS,
        has_data=columns is not None,
        feature_names=[c for c in columns or () if c != "customer_id"],
    )


@router.get("/runs/new")
def new_run(request: Request, user: Analyst) -> Response:
    return _run_form(request, user, dict(runform.DEFAULTS), [], 200)


@router.post("/runs/new")
async def start_run(request: Request, user: AnalystPost) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in runform.DEFAULTS}
    specs, problems = runform.build_specs(values)
    if not problems:
        try:
            job_id = await run_in_threadpool(
                services.start_run, state_of(request), user.principal.name, specs
            )
        except SegmintError as exc:
            problems = [str(exc)]
        else:
            return RedirectResponse(f"/jobs/{job_id}", status_code=303)
    return _run_form(request, user, values, problems, 400)


@router.post("/web/api/rules/validate")
async def validate_rules(
    request: Request, _: Annotated[WebUser, Depends(json_user("viewer"))]
) -> JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        body = {}
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or len(text) > 50_000:
        return JSONResponse({"error": "Send {'text': 'Name: expression, one per line'}."}, 400)
    rules, errors = runform.parse_rules_text(text)
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        name = raw.partition(":")[0].strip()
        lines.setdefault(name, number)
    if rules:
        value = bool(body.get("value"))  # the form's value step adds clv, p_alive, … to rules
        ws = state_of(request).workspace()
        columns = await run_in_threadpool(services.rule_columns, ws, value=value)
        checked = services.validate_rules(rules, columns)
        errors += [{"line": lines.get(e["rule"], 0), **e} for e in checked["errors"]]
    return JSONResponse({"ok": not errors, "rules": len(rules), "errors": errors})


def _result(request: Request, run_id: str, name: str) -> SegmentationResult:
    return services.get_segmentation(state_of(request).workspace(), run_id, name)


def _run(request: Request, run_id: str) -> dict[str, Any]:
    for run in services.list_segment_runs(state_of(request).workspace()):
        if run["run_id"] == run_id:
            return run
    raise services.NotFound(
        f"There is no segmentation run '{run_id}'.", fix="pick a run on the dashboard."
    )


@router.get("/runs/{run_id}")
def results(request: Request, run_id: str, user: Viewer, s: str = "") -> Response:
    return results_page(request, run_id, user, s)


def results_page(
    request: Request,
    run_id: str,
    user: WebUser,
    s: str,
    *,
    status: int = 200,
    export_error: dict[str, str] | None = None,
) -> Response:
    """A run's results for segmentation ``s`` (the first when ``s`` is not one of them);
    ``export_error`` ({label, message}) shows why a card's export was refused."""
    run = _run(request, run_id)
    names = [x["name"] for x in run["segmentations"]]
    name = s if s in names else names[0]
    view = views.results_view(_result(request, run_id, name))
    state = state_of(request)
    has_report = (state.reports / run_id / "report.html").exists()
    return page(
        request,
        "results.html.j2",
        user,
        status=status,
        title=f"Results · {name}",
        run=run,
        name=name,
        s=view,
        has_report=has_report,
        charts=view["charts"],
        # audience files of a Spark run are written by segmint export (the card has no form)
        destinations=views.destinations(),
        export_error=export_error,
    )


@router.get("/runs/{run_id}/segment")
def profile(request: Request, run_id: str, user: Viewer, s: str, label: str) -> Response:
    view = views.profile_view(_result(request, run_id, s), label)
    if view is None:
        raise services.NotFound(f"There is no segment '{label}' in '{s}'.")
    preview: dict[str, Any] | None = None
    preview_error = ""
    if user.can("analyst") and state_of(request).engine is not None:
        preview_error = str(refuse("GET", "preview", "A message preview"))
    elif user.can("analyst"):  # real customers' names and e-mails: the members' role
        try:
            preview = services.message_preview(state_of(request).workspace(), run_id, s, label)
        except SegmintError as exc:  # e.g. a template stored by an older segmint
            preview_error = str(exc)
    return page(
        request,
        "profile.html.j2",
        user,
        title=view["card"]["name"],
        run_id=run_id,
        name=s,
        label=label,
        p=view,
        preview=preview,
        preview_error=preview_error,
        charts=view["lift_chart"] is not None,
    )


def _back(run_id: str, form: Any) -> str:
    name, label = str(form.get("s") or ""), str(form.get("label") or "")
    if form.get("back") == "profile":
        return f"/runs/{run_id}/segment?{urlencode({'s': name, 'label': label})}"
    return f"/runs/{run_id}?{urlencode({'s': name})}#{anchor(label)}"


@router.post("/runs/{run_id}/rename")
async def rename(request: Request, run_id: str, user: AnalystPost) -> Response:
    form = await request.form()
    state = state_of(request)
    services.rename_segment(
        state,
        state.workspace(),
        run_id,
        str(form.get("s") or ""),
        str(form.get("label") or ""),
        str(form.get("name") or ""),
    )
    return RedirectResponse(_back(run_id, form), status_code=303)


@router.post("/runs/{run_id}/plan")
async def edit_plan(request: Request, run_id: str, user: AnalystPost) -> Response:
    form = await request.form()
    state = state_of(request)
    # only the fields the form sent: "Use this suggestion" sends the templates alone
    fields = {k: str(form.get(k) or "") for k in services.PLAN_FIELDS if k in form}
    services.update_targeting(
        state,
        state.workspace(),
        run_id,
        str(form.get("s") or ""),
        str(form.get("label") or ""),
        fields,
    )
    return RedirectResponse(_back(run_id, {**form, "back": "profile"}), status_code=303)


@router.get("/runs/{run_id}/members.csv")
def members_csv(
    request: Request,
    run_id: str,
    _: Annotated[WebUser, Depends(page_user("analyst"))],
    s: str,
    label: str | None = None,
) -> Response:
    text, filename = services_engine.members_csv(state_of(request), run_id, s, label or None)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/runs/{run_id}/report.html")
def report(request: Request, run_id: str, _: Viewer) -> Response:
    path = services.report_file(state_of(request), run_id)
    return FileResponse(
        path,
        media_type="text/html",
        filename=f"segmint-report-{run_id}.html",
        headers={"Content-Security-Policy": services.REPORT_CSP},
    )


def _split(choice: str) -> tuple[str, str]:
    run_id, _, name = choice.partition("/")
    return run_id, name


@router.get("/compare")
def compare(request: Request, user: Viewer, a: str = "", b: str = "") -> Response:
    runs = services.list_segment_runs(state_of(request).workspace())
    choices = views.run_choices(runs)
    values = [c["value"] for c in choices]
    a = a or (values[0] if values else "")
    b = b or (values[1] if len(values) > 1 else a)
    data = None
    if a and b and "a" in request.query_params:
        data = views.compare_view(
            services_engine.compare_runs(state_of(request), *_split(a), *_split(b))
        )
    return page(
        request,
        "compare.html.j2",
        user,
        title="Compare runs",
        choices=choices,
        a=a,
        b=b,
        data=data,
        charts=bool(data and data["chart"]),
    )
