"""The "Test results" page: analyze a campaign of the workspace and see the forest plot.

A GET form (it reads, it changes nothing, so the URL can be bookmarked and shared): the
campaign, the column with the arms, the control, the metrics, and what to split by (a column
of ``campaign_contacts`` or a segmentation whose stored assignments give each customer's
segment). The answer renders the same body as ``segmint experiment analyze --html``
(``segmint.report.experiment``), inside the app. A user error is shown above the form.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from segmint.api.state import state_of
from segmint.exceptions import SegmintError
from segmint.web.render import page
from segmint.web.session import WebUser, page_user

__all__ = ["router"]

router = APIRouter()

FIXED = {"campaign_id", "customer_id", "sent_at", "_run_id", "_row"}


def _choices(ws: Any) -> dict[str, list[str]]:
    db = ws.store.db
    out: dict[str, list[str]] = {"campaigns": [], "columns": [], "segmentations": []}
    if ws.store.has_table("campaign_contacts"):
        out["campaigns"] = [
            str(r[0])
            for r in db.execute(
                "SELECT campaign_id FROM campaign_contacts GROUP BY 1 ORDER BY max(sent_at) "
                "DESC NULLS LAST, 1 LIMIT 200"
            ).fetchall()
        ]
        out["columns"] = [
            r[0] for r in db.execute("DESCRIBE campaign_contacts").fetchall() if r[0] not in FIXED
        ]
    if ws.store.has_table("segmentations"):
        out["segmentations"] = [
            str(r[0])
            for r in db.execute("SELECT DISTINCT name FROM segmentations ORDER BY 1").fetchall()
        ]
    return out


@router.get("/experiments/analyze")
async def analysis(
    request: Request,
    user: Annotated[WebUser, Depends(page_user("viewer"))],
    campaign: str | None = None,
    variant_column: str = "variant",
    control: str = "control",
    metrics: str = "",
    by: str = "",
    correction: str = "holm",
    engine: str = "both",
) -> Response:
    ws = state_of(request).workspace()
    form = {
        "campaign": campaign or "",
        "variant_column": variant_column,
        "control": control,
        "metrics": metrics,
        "by": by,
        "correction": correction,
        "engine": engine,
    }
    view = error = None
    if campaign:
        from segmint.report.experiment import experiment_view

        try:
            result = await run_in_threadpool(
                lambda: ws.analyze_experiment(
                    campaign,
                    variant_column=variant_column[:200] or None,
                    control=control[:200],
                    metrics=[m.strip() for m in metrics.split(",") if m.strip()][:50] or None,
                    by=by[:200] or None,
                    correction=correction,
                    engine=engine,
                    kind="campaign",
                )
            )
            view = experiment_view(result)
        except SegmintError as exc:
            error = exc
    return page(
        request,
        "analysis.html.j2",
        user,
        title="Test results",
        form=form,
        choices=await run_in_threadpool(lambda: _choices(ws)),
        r=view,
        error=error,
        charts=view is not None and any(p["chart"] for p in view["panels"]),
    )


@router.get("/experiments/power")
async def power(
    request: Request,
    user: Annotated[WebUser, Depends(page_user("viewer"))],
    baseline: str = "",
    mde: str = "0.1",
    kind: str = "proportion",
    sd: str = "",
    arms: str = "2",
    segment_size: str = "",
) -> Response:
    """How many customers per arm: the calculator of ``segmint experiment power``."""
    from segmint.measure.power import enough, sample_size

    form = {"baseline": baseline, "mde": mde, "kind": kind, "sd": sd, "arms": arms,
            "segment_size": segment_size}  # fmt: skip
    result = verdict = error = None
    if baseline:
        try:
            result = sample_size(
                _number(baseline, "Baseline"),
                _number(mde, "Smallest change"),
                kind="mean" if kind == "mean" else "proportion",
                sd=_number(sd, "Standard deviation") if sd else None,
                arms=int(_number(arms, "Arms")),
            )
            if segment_size:
                verdict = enough(result, int(_number(segment_size, "Segment size")))
        except ValueError as exc:
            error = str(exc)
    return page(request, "power.html.j2", user, title="Sample size", form=form,
                result=result, verdict=verdict, error=error)  # fmt: skip


def _number(text: str, what: str) -> float:
    try:
        return float(text.strip().replace(",", ""))
    except ValueError:
        raise ValueError(f"{what}: '{text[:40]}' is not a number.") from None
