"""The Update page: the week's new exports in, every customer re-scored (``segmint update``).

A full run refits every model and rebuilds every feature; an update imports the new files,
rebuilds only the feature rows they touch and re-scores with the stored models, so labels keep
their meaning from week to week. The form posts the files here; as on the Upload page the
session and role are checked before the body is read, the files are streamed with the upload
limit (for all of them together), then the form's CSRF token is checked (a mismatch deletes
the files). The work is :mod:`segmint.api.services_update`, as ``POST /api/v1/update`` does;
the job page then shows :func:`summary` of its result: rows imported, feature rows rebuilt,
whether it refitted and why, segment sizes before → after, the alerts, and a link to the
Monitoring page comparing the two runs.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from segmint._run.update import REFIT
from segmint.api import services_update as service
from segmint.api.app import error_status
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.monitor.compare import segment_runs
from segmint.web.render import page
from segmint.web.session import CsrfFailed, WebUser, check_csrf, page_user
from segmint.web.uploads import ACCEPT

__all__ = ["monitor_link", "router", "summary"]

router = APIRouter()
Analyst = Annotated[WebUser, Depends(page_user("analyst"))]  # reads no body
#: the refit choices as the form explains them
CHOICES = {
    "never": "Keep the models: re-score with the last run's (fast; labels keep their meaning)",
    "auto": "Refit when a feature a segmentation uses drifted",
    "always": "Refit every segmentation (a full run on the updated data)",
}
assert tuple(CHOICES) == REFIT


def _page(
    request: Request,
    user: WebUser,
    *,
    error: str = "",
    refit: str = "never",
    status: int = 200,
) -> Response:
    state = state_of(request)
    ws = state.workspace()
    runs = segment_runs(ws.store) if "segmentations" in ws.tables() else []
    return page(
        request,
        "update.html.j2",
        user,
        status=status,
        title="Update segments",
        error=error,
        refit=refit if refit in CHOICES else "never",
        choices=CHOICES,
        last_run=runs[-1] if runs else None,
        accept=ACCEPT,
        limit_mb=state.settings.max_upload_bytes // (1 << 20),
    )


@router.get("/update")
def update_form(request: Request, user: Analyst) -> Response:
    return _page(request, user)


@router.post("/update")
async def update(request: Request, user: Analyst) -> Response:
    state = state_of(request)
    try:
        batch = await service.receive(state, request)
    except SegmintError as exc:
        return _page(request, user, error=state.redact(str(exc)), status=error_status(exc))
    if not check_csrf(user.csrf, batch.fields.get("csrf")):
        batch.discard()
        raise CsrfFailed()
    refit = batch.fields.get("refit", "never")

    try:
        job_id = await run_in_threadpool(service.submit, state, user.principal.name, batch)
    except SegmintError as exc:
        msg = state.redact(str(exc))
        return _page(request, user, error=msg, refit=refit, status=error_status(exc))
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def monitor_link(result: dict[str, Any]) -> str:
    """The Monitoring page comparing the update's run with the one it updated."""
    return "/monitor?" + urlencode({"baseline": result["base_run"], "current": result["run_id"]})


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """What the job page says about a finished update, in plain words and small tables."""
    f = result["features"]
    if f["incremental"]:
        features = f"{f['rebuilt']:,} of {f['customers']:,} customers' features rebuilt"
    else:
        features = f"All {f['customers']:,} customers' features rebuilt: {f['reason']}"
    m = result.get("monitoring") or {}
    return {
        "rows": sum(int(i["rows"]) for i in result["imported"]),
        "files": [
            {"file": i["file"], "table": i["table"], "rows": i["rows"]} for i in result["imported"]
        ],
        "features": features,
        "as_of": (f.get("as_of") or "")[:10],
        "refitted": result["refit"] == "refitted",
        "refit_reason": result.get("refit_reason") or "",
        "base_run": result["base_run"],
        "run_id": result["run_id"],
        "segmentations": [_sizes(s) for s in m.get("segmentations", [])],
        "alerts": [a["message"] for a in m.get("alerts", [])],
        "compared": bool(m) and "error" not in m,
        "compare_error": m.get("error") or "",
        "notes": list(result.get("notes") or []),
        "monitor": monitor_link(result),
        "seconds": result.get("seconds"),
    }


def _sizes(s: dict[str, Any]) -> dict[str, Any]:
    """One segmentation's segments with their sizes before and after (new ones last)."""
    base, cur = s["sizes"]["baseline"], s["sizes"]["current"]
    names = {**s["names"]["baseline"], **s["names"]["current"]}
    rows = []
    for label in [*cur, *(x for x in base if x not in cur)]:
        before, after = int(base.get(label, 0)), int(cur.get(label, 0))
        change = f"{(after - before) / before:+.1%}" if before else "new"
        rows.append(
            {
                "segment": names.get(label) or label,
                "before": before,
                "after": after,
                "change": change,
            }
        )
    return {
        "name": s["name"],
        "rows": rows,
        "new": s.get("new", []),
        "retired": s.get("retired", []),
    }
