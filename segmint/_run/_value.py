"""The value step of a run: the purchase summaries from the engine, then the value models.

The models fit on one row per buyer (``features/repeat.py``), not on the feature frame; their
per-customer CLV and P(alive) then join the features, so every later profile and the
ranking's ``potential`` term can use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from segmint._workspace import Workspace
from segmint.exceptions import ModelError, SegmintError
from segmint.segment.registry import Builder
from segmint.spec.model import SegmentationSpec
from segmint.store.results import ValueExtras

__all__ = ["Summaries", "fit_value", "summaries"]


@dataclass
class Summaries:
    """What the value models fit on; a problem is kept to be raised or reported where the
    model is fitted (:func:`fit_value`)."""

    unit: str
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    calib: pd.DataFrame | None = None
    error: SegmintError | None = None
    calib_error: SegmintError | None = None


def summaries(ws: Workspace, s: SegmentationSpec, as_of: str) -> Summaries:
    """The repeat-purchase summary and, with a holdout, the calibration-period summary."""
    out = Summaries(unit=s.params.get("unit") or "weeks")
    try:
        out.summary = ws.value_summary(as_of, unit=out.unit)
    except ModelError as exc:
        out.error = exc
        return out
    if s.holdout_days:
        try:
            out.calib = ws.value_summary(as_of, unit=out.unit, holdout_days=s.holdout_days)
        except SegmintError as exc:
            out.calib_error = exc
    return out


def fit_value(
    s: SegmentationSpec,
    build: Builder,
    n_customers: int,
    inputs: Summaries,
    as_of: str,
    *,
    optional: bool,
) -> tuple[Any, ValueExtras] | str:
    """Fit the value models; return the estimator and the report's value section. With
    ``optional`` (zero-config runs) a ModelError skips the step (its reason is returned)
    instead of failing the run."""
    from segmint.report import jsonable
    from segmint.segment.value.diagnostics import clv_histogram, p_alive_matrix
    from segmint.segment.value.holdout import holdout_check

    try:
        if inputs.error is not None:
            raise inputs.error
        est = build(inputs.summary, as_of).fit(inputs.summary)
    except ModelError as exc:
        if not optional:
            raise
        return exc.problem
    holdout = None
    if s.holdout_days:  # a diagnostic: when it cannot be done, say so and go on
        try:
            if inputs.calib_error is not None:
                raise inputs.calib_error
            holdout = holdout_check(inputs.calib, penalizer=est.bgnbd_.penalizer).to_dict()
        except SegmintError as exc:
            est.warnings_.append(
                f"The {s.holdout_days}-day holdout check could not be done: {exc.problem}"
            )
    extra = ValueExtras(
        unit=inputs.unit,
        holdout=jsonable(holdout),
        clv_histogram=jsonable(clv_histogram(est.values_["clv"])),
        p_alive_matrix=jsonable(p_alive_matrix(est.bgnbd_, inputs.summary)),
        buyers=len(inputs.summary),
        customers=n_customers,
    )
    return est, extra
