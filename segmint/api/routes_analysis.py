"""REST endpoints for analyzing and sizing a split test (measure stage), under ``/api/v1``.

The answer is :meth:`segmint.measure.analyze.Analysis.to_dict`: every number at full
precision, the verdicts as text. A campaign of the workspace needs a viewer (the answer holds
aggregates only); an uploaded results file needs an analyst, as uploading does.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import Field

from segmint.api import services
from segmint.api.auth import role_allows
from segmint.api.openapi import errors
from segmint.api.routes import Name, State, Strict, Viewer
from segmint.exceptions import SpecError
from segmint.report import jsonable

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
    #: a designed test whose split the sample-ratio check expects (default: the campaign's name)
    experiment: Name | None = None
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
        raise SpecError(
            "Give either 'campaign' (a campaign id of campaign_contacts) or 'upload_id' (a "
            "results file sent to POST /api/v1/uploads), not both and not neither.",
            fix='e.g. {"campaign": "spring", "by": "rfm"}.',
        )
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
        experiment=body.experiment,
    )
    return result.to_dict()


@router.get(
    "/experiments/power",
    summary="Customers per arm a split test needs (sample size)",
    description="Two-sided test, equal arms: Cohen's h and a z-test for proportions, Cohen's d "
    "and a t-test for means (statsmodels). `mde` is relative to the baseline unless "
    "`absolute`; with `segment_size`, says whether the segment fills every arm. "
    "docs/experiments.md (Sample size).",
    responses=errors(),
)
def power(
    _: Viewer,
    baseline: Annotated[float, Query(description="Today's rate (0–1) or mean.")],
    mde: Annotated[float, Query(description="The smallest change worth detecting.")],
    kind: Literal["proportion", "mean"] = "proportion",
    sd: Annotated[
        float | None, Query(gt=0, description="For means: the standard deviation.")
    ] = None,
    absolute: bool = False,
    alpha: Annotated[float, Query(gt=0, lt=0.5)] = 0.05,
    power: Annotated[float, Query(gt=0, lt=1)] = 0.8,
    arms: Annotated[int, Query(ge=2, le=26)] = 2,
    segment_size: Annotated[int | None, Query(ge=0, le=10**12)] = None,
) -> dict[str, Any]:
    from segmint.measure.power import enough, sample_size

    if kind == "mean" and sd is None:
        raise SpecError("A mean needs its standard deviation.", fix="add sd=…")
    try:
        result = sample_size(
            baseline, mde, kind=kind, sd=sd, relative=not absolute, alpha=alpha, power=power,
            arms=arms,
        )  # fmt: skip
    except ValueError as exc:
        raise SpecError(str(exc), fix="check the parameters (docs/experiments.md).") from None
    out: dict[str, Any] = jsonable(asdict(result))
    if segment_size is not None:
        ok, sentence = enough(result, segment_size)
        out |= {"segment_size": segment_size, "enough": ok, "verdict": sentence}
    return out
