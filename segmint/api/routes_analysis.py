"""REST endpoint for analyzing a split test (measure stage), under ``/api/v1``.

The answer is :meth:`segmint.measure.analyze.Analysis.to_dict`: every number at full
precision, the verdicts as text. A campaign of the workspace needs a viewer (the answer holds
aggregates only); an uploaded results file needs an analyst, as uploading does.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import Field

from segmint.api import services
from segmint.api.auth import role_allows
from segmint.api.openapi import errors
from segmint.api.routes import Name, State, Strict, Viewer

__all__ = ["AnalyzeRequest", "router"]

router = APIRouter(prefix="/api/v1")


class AnalyzeRequest(Strict):
    """What to compare: a campaign (or an upload), the arms, the metrics, the split."""

    #: a campaign id of campaign_contacts
    campaign: Name | None = None
    #: or a results file sent to POST /api/v1/uploads
    upload_id: str | None = Field(None, max_length=64)
    #: the column with each row's arm (default for a campaign: variant)
    variant_column: Name | None = None
    control: Name = "control"
    #: metric columns; 0/1 columns are proportions (default for a campaign: its outcomes)
    metrics: list[Name] | None = Field(None, min_length=1, max_length=50)
    #: a column of the rows, or a segmentation of the workspace
    by: Name | None = None
    #: the run whose assignments `by` uses (default: the latest)
    run: Name | None = None
    #: the design's split for the sample-ratio check (default: equal)
    weights: dict[Name, float] | None = Field(None, max_length=26)
    correction: Literal["holm", "bh", "none"] = "holm"
    engine: Literal["frequentist", "bayesian", "both"] = "both"
    alpha: float = Field(0.05, gt=0, lt=0.5)


@router.post(
    "/experiments/analyze",
    summary="Analyze a split test overall and per segment",
    description="Each variant against the control on each metric, overall and per segment of "
    "`by`: lift and absolute difference with CIs and p-values (Welch), the Bayesian chance "
    "to win and risk, p-values adjusted across segments, the sample-ratio check and a "
    "verdict per segment. Formulas: docs/experiments.md.",
    responses=errors(404),
)
def analyze(body: AnalyzeRequest, who: Viewer, state: State) -> dict[str, Any]:
    if (body.campaign is None) == (body.upload_id is None):
        raise HTTPException(422, "Give either 'campaign' or 'upload_id'.")
    ws = state.workspace()
    if body.upload_id is not None:
        if not role_allows(who.role, "analyst"):
            raise HTTPException(
                403, f"Analyzing an upload needs the analyst role; '{who.name}' is a {who.role}."
            )
        source: Any = services.upload_path(state, body.upload_id)
        kind = "file"
    else:
        source, kind = body.campaign, "campaign"
    result = ws.analyze_experiment(
        source,
        variant_column=body.variant_column,
        control=body.control,
        metrics=body.metrics,
        by=body.by,
        run=body.run,
        weights=body.weights,
        correction=body.correction,
        engine=body.engine,
        alpha=body.alpha,
        kind=kind,
    )
    return result.to_dict()
