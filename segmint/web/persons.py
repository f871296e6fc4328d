"""The Persons page (analyst, ``/persons``): find duplicate customer records, see why, judge.

One page, four parts: a button that queues a dedupe run (a job, as a segmentation run is;
its page links back here), what the last run left (records → persons, the changes, the match
weights the model learned), the explanation of a customer's person (``?explain=ID``: its
records side by side and each link's match weights as bars), and the review queue: the pairs
the model is least sure of, side by side, with Accept and Reject buttons. A decision is a POST
form with the session's CSRF token that calls the same service as
``POST /api/v1/identity/decisions`` (:mod:`segmint.api.services_identity`), then reloads the
page (post/redirect/get), where the decided pair is no longer in the queue.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services_identity as service
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.web.identity_view import explanation_view, review_view, sure, weights_view
from segmint.web.render import page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router"]

router = APIRouter()
Analyst = Annotated[WebUser, Depends(page_user("analyst"))]
AnalystPost = Annotated[WebUser, Depends(form_user("analyst"))]
#: pairs shown in the review queue
QUEUE = 10
DONE = {
    "accept": "Kept: those two records are one person.",
    "reject": "Kept: those two records are different people.",
    "clear": "The decision was cleared: the model decides again.",
}


def _page(
    request: Request,
    user: WebUser,
    *,
    explain: str = "",
    other: str = "",
    error: str = "",
    done: str = "",
    threshold: str = "",
    status: int = 200,
) -> Response:
    state = state_of(request)
    ws = state.workspace()
    ov = service.overview(ws)
    explained = None
    if ov is not None and explain:
        try:
            explained = explanation_view(service.explain(ws, explain, other or None))
        except SegmintError as exc:
            error, status = state.redact(str(exc)), 400
    queue = review_view(service.review(ws, QUEUE), ov["threshold"]) if ov else []
    return page(
        request,
        "persons.html.j2",
        user,
        status=status,
        title="Persons",
        ov=ov,
        threshold_text=sure(ov["threshold"]) if ov else "",
        weights=weights_view(ov["comparisons"]) if ov else None,
        explain=explain,
        explained=explained,
        queue=queue,
        error=error,
        done=DONE.get(done, ""),
        threshold=threshold,
        charts=ov is not None,
    )


@router.get("/persons")
def persons(
    request: Request,
    user: Analyst,
    explain: Annotated[str, Query(max_length=200)] = "",
    other: Annotated[str, Query(max_length=200)] = "",
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return _page(request, user, explain=explain.strip(), other=other.strip(), done=done)


def _threshold(text: str) -> float | None:
    text = text.strip().rstrip("%").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    value = value / 100 if value > 1 else value
    if not 0 < value < 1:
        raise SegmintError(
            f"How sure the model must be is a percentage between 0 and 100; got '{text[:20]}'.",
            fix="e.g. 95 (higher links fewer, surer pairs), or leave it empty.",
        )
    return value


@router.post("/persons/dedupe")
async def dedupe(request: Request, user: AnalystPost) -> Response:
    form = await request.form()
    state = state_of(request)
    typed = str(form.get("threshold") or "")[:20]
    try:
        threshold = _threshold(typed)
        incremental = False if form.get("retrain") == "yes" else None
        job_id = await run_in_threadpool(
            lambda: service.start_dedupe(
                state, user.principal.name, threshold=threshold, incremental=incremental
            )
        )
    except SegmintError as exc:
        return _page(request, user, error=state.redact(str(exc)), threshold=typed, status=400)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/persons/decide")
async def decide(request: Request, user: AnalystPost) -> Response:
    form = await request.form()
    state = state_of(request)
    values = {k: str(form.get(k) or "")[:200] for k in ("a", "b", "decision", "explain")}
    try:
        await run_in_threadpool(
            lambda: service.decide(
                state,
                state.workspace(),
                a=values["a"],
                b=values["b"],
                decision=values["decision"],
                user=user.principal.name,
                origin=request.client.host if request.client else "unknown",
            )
        )
    except SegmintError as exc:
        return _page(request, user, explain=values["explain"], error=state.redact(str(exc)),
                     status=400)  # fmt: skip
    query: dict[str, Any] = {"done": values["decision"]}
    if values["explain"]:
        query["explain"] = values["explain"]
    anchor = "#explain" if values["explain"] else "#review"
    return RedirectResponse(f"/persons?{urlencode(query)}{anchor}", status_code=303)
