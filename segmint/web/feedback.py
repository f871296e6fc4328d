"""The Feedback page (analyst, ``/feedback``): what customers wrote, analysed.

A button queues an analysis (a job of kind ``feedback``, as ``POST /api/v1/feedback/analyze``
does: :mod:`segmint.api.services_feedback`); below it, what the last analysis found: how many
texts, how many were scored and how many flagged as not English, the sentiment split as a
bar chart, and each topic by its top terms with its share and three example texts; then the
survey's needs (``GET /api/v1/needs``): the loadings heat map, the factors with their items
and Cronbach's alpha. What each segment wrote is on the segment's profile page
(``SegmentationResult.feedback``).
"""

from __future__ import annotations

from typing import Annotated

import plotly.graph_objects as go
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from segmint.api import services_feedback as service
from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.report import Chart, as_chart, base_layout, fmt, needs_view, plot_text
from segmint.web.render import page
from segmint.web.session import WebUser, form_user, page_user

__all__ = ["router", "sentiment_chart"]

router = APIRouter()
Analyst = Annotated[WebUser, Depends(page_user("analyst"))]
AnalystPost = Annotated[WebUser, Depends(form_user("analyst"))]
#: negative, neutral, positive, not scored (ColorBrewer-like, colour-blind readable)
COLOURS = {"negative": "#D55E00", "neutral": "#999999", "positive": "#009E73",
           "not scored": "#E0E0E0"}  # fmt: skip


def sentiment_chart(counts: dict[str, int]) -> Chart | None:
    """One stacked bar: the share of texts negative, neutral, positive and not scored."""
    total = sum(counts.values())
    if not total:
        return None
    fig = go.Figure()
    for key, colour in COLOURS.items():
        n = counts.get(key, 0)
        if not n:
            continue
        fig.add_bar(
            x=[n / total],
            y=[""],
            orientation="h",
            name=f"{key} ({fmt.count(n)})",
            marker={"color": colour},
            text=[fmt.share(n / total)],
            textposition="inside",
            hovertemplate=plot_text(key) + ": %{x:.1%}<extra></extra>",
        )
    base_layout(
        fig,
        160,
        barmode="stack",
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": -0.4},
    )
    parts = ", ".join(
        f"{k} {fmt.share(counts.get(k, 0) / total)}" for k in COLOURS if counts.get(k)
    )
    return as_chart(fig, f"Sentiment of {fmt.count(total)} texts: {parts}.")


def _page(
    request: Request, user: WebUser, *, error: str = "", topics: str = "", status: int = 200
) -> Response:
    state = state_of(request)
    ws = state.workspace()
    ov = service.overview(ws)
    has_feedback = ws.store.has_table("feedback")
    needs, needs_note = None, ""
    if has_feedback:
        try:
            needs = needs_view(service.needs(ws))
        except SegmintError as exc:  # no survey items, too few respondents: said, not hidden
            needs_note = state.redact(exc.problem)
    return page(
        request,
        "feedback.html.j2",
        user,
        status=status,
        title="Feedback",
        ov=ov,
        has_feedback=has_feedback,
        chart=sentiment_chart(ov["sentiment"]) if ov else None,
        error=error,
        topics=topics,
        needs=needs,
        needs_note=needs_note,
        charts=ov is not None or needs is not None,
    )


@router.get("/feedback")
def feedback(request: Request, user: Analyst) -> Response:
    return _page(request, user)


def _topics(text: str) -> int | str:
    text = text.strip().lower()
    if text in ("", "auto"):
        return "auto"
    if text.isdigit() and 2 <= int(text) <= 50:
        return int(text)
    raise SegmintError(
        f"The number of topics is 'auto' or a whole number from 2 to 50; got '{text[:20]}'.",
        fix="leave it empty to let segmint choose, or type e.g. 8.",
    )


@router.post("/feedback/analyze")
async def analyze(request: Request, user: AnalystPost) -> Response:
    form = await request.form()
    state = state_of(request)
    typed = str(form.get("topics") or "")[:20]
    try:
        topics = _topics(typed)
        job_id = await run_in_threadpool(
            lambda: service.start_analyze(state, user.principal.name, topics=topics)
        )
    except SegmintError as exc:
        return _page(request, user, error=state.redact(str(exc)), topics=typed, status=400)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
