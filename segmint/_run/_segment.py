"""One segmentation of a run: fit, name, profile, rank, plan, and the typed result.

What a finished segmentation keeps is a :class:`Segmented`: the per-customer labels (stored
as a table), the typed :class:`~segmint.store.results.SegmentationResult` (stored as JSON and
shown by the report, the web pages and the API), the fitted model as JSON data (for scoring
new customers) and, for a value segmentation, the per-customer values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from segmint._run._stable import Previous, stabilize
from segmint.segment.base import Segmentation
from segmint.segment.registry import get_method
from segmint.spec.model import SegmentationSpec, Spec
from segmint.store.results import SegmentationResult, ValueExtras

__all__ = ["NO_PURCHASES", "Segmented", "rescored_result", "segment"]

#: value segment of customers with no purchase before the as-of date
NO_PURCHASES = "No purchases yet"


@dataclass
class Segmented:
    """A finished segmentation, ready to be stored."""

    spec: SegmentationSpec
    segmentation: Segmentation
    result: SegmentationResult
    #: the fitted estimator as a JSON document (``segmint.segment.models``)
    model: dict[str, Any]
    #: per-customer CLV, P(alive), … of a value segmentation
    values: pd.DataFrame | None = None
    #: the purchase summary a value segmentation scored (one row per buyer)
    summary: pd.DataFrame | None = None


def segment(
    s: SegmentationSpec,
    fit: Callable[[pd.DataFrame], Any],
    features: pd.DataFrame,
    spec: Spec,
    say: Callable[[str], None],
    value: ValueExtras | None = None,
    previous: Previous | None = None,
) -> Segmented:
    """Fit ``s`` on ``features`` (``fit`` builds and fits the estimator), then profile, rank
    and plan its segments; ``value`` is the value models' section of a value segmentation;
    ``previous``: the last run's segmentation of the same name, whose labels and user-given
    names the new segments keep where they match (``_stable``)."""
    from segmint.segment.history import history_span, history_warnings
    from segmint.segment.models import model_to_json

    method = get_method(s.method)
    cols = method.columns(s, features)
    est = fit(method.frame(features, cols))
    given = spec.names.get(s.name, {})
    stable = stabilize(est, previous, by_definition=method.labels_are_names, given=given)
    seg = est.segmentation(s.name)
    seg.warnings += history_warnings(  # a history too short for the labels, a far as-of date
        history_span(features), s.method, features=cols, horizon_days=s.horizon_days
    )
    if s.method == "value":  # customers without a purchase have no value forecast
        seg.labels = seg.labels.reindex(features.index).fillna(NO_PURCHASES)
    if method.labels_are_names:
        seg.names.update({label: label for label in seg.segments})
    seg.names.update(given)
    if stable is not None and previous is not None:
        stable.settle(seg.labels, previous)
        seg.names.update(stable.names)
        seg.warnings += stable.warnings()
    # what the result and scoring need from the estimator, taken before the profile: the
    # fitted per-customer arrays (RFM's scores, 88 MB on 1M customers) are then freed and
    # do not sit in memory during this profile or the next segmentation's
    fitted, model = _fitted(est, seg), model_to_json(est)
    del est
    say(f"Profiling: {s.name}")
    result = _result(s, fitted, seg, features, cols, spec, value)
    if stable is not None:
        result = stable.apply(result)
    return Segmented(s, seg, result, model)


def _fitted(est: Any, seg: Segmentation) -> dict[str, Any]:
    """The sections of a segmentation's result that come from its fitted estimator."""
    return {
        "k_curve": _k_curve(est),
        # the k the rule chose; the guard's merges after it are listed in "guard"
        "chosen_k": seg.details.get("k_chosen", getattr(est, "k_", None)),
        "needs": _needs(est),
    }


def _result(
    s: SegmentationSpec,
    fitted: dict[str, Any],
    seg: Segmentation,
    features: pd.DataFrame,
    cols: list[str],
    spec: Spec,
    value: ValueExtras | None,
) -> SegmentationResult:
    from segmint.report import jsonable

    details = jsonable(seg.details)
    data = {
        "name": s.name,
        "method": s.method,
        "features": cols,
        **_described(s, seg, features, cols, spec),
        "k_curve": fitted["k_curve"],
        "chosen_k": fitted["chosen_k"],
        "k_rule": seg.details.get("k_rule"),
        "guard": list(details.get("guard", [])),
        "model": {k: v for k, v in details.items() if k != "k_scores"},
        "value": None if value is None else {**value.to_json(), "models": details},
        "needs": fitted["needs"],
    }
    return SegmentationResult.model_validate(jsonable(data))


def rescored_result(
    s: SegmentationSpec,
    seg: Segmentation,
    features: pd.DataFrame,
    spec: Spec,
    fitted: SegmentationResult,
) -> SegmentationResult:
    """The result of segments re-scored with a stored model (``segmint update --profile``):
    the fit's sections (model, k curve, value models) from ``fitted``, the profiles, ranking,
    plans, projection and rule matches of the current customers."""
    from segmint.report import jsonable

    data = fitted.model_dump() | jsonable(_described(s, seg, features, list(fitted.features), spec))
    return SegmentationResult.model_validate(data)


def _described(
    s: SegmentationSpec, seg: Segmentation, features: pd.DataFrame, cols: list[str], spec: Spec
) -> dict[str, Any]:
    """What depends on the customers in each segment: profiles, ranking, plans, projection."""
    from segmint.activate.targeting import plan_targeting
    from segmint.activate.templates import apply_templates
    from segmint.profile import profile
    from segmint.profile.rank import rank

    # the run keeps the typical customers' reasons, not every customer's (about 3 s on 1M)
    prof = profile(features, seg, every_reason=False)
    ranking = rank(prof, features, weights=spec.ranking.weights, labels=seg.labels)
    plans = plan_targeting(prof, ranking, overrides=spec.targeting.get(s.name))
    names = {seg.label: seg.name for seg in prof.segments}
    plans = apply_templates(plans, names, spec.templates.get(s.name), segmentation=s.name)
    return {
        "n_customers": len(seg.labels),
        "warnings": list(seg.warnings),
        "profiles": prof.to_dict(),
        "ranking": ranking.to_dict(),
        "targeting": {label: p.to_dict() for label, p in plans.items()},
        "projection": _projection(features, cols, seg.labels),
        "rules": _rules(s, seg),
    }


def _needs(est: Any) -> dict[str, Any] | None:
    """The factor solution of a needs segmentation (None for other methods)."""
    from segmint.feedback.survey import FactorSolution

    solution = getattr(est, "factors_", None)
    return solution.extras().to_json() if isinstance(solution, FactorSolution) else None


def _k_curve(est: Any) -> list[dict[str, Any]]:
    from segmint.report import jsonable

    k_scores = getattr(est, "k_scores_", None)
    if not isinstance(k_scores, pd.DataFrame):
        return []
    out: list[dict[str, Any]] = jsonable(k_scores.to_dict(orient="records"))
    return out


def _projection(features: pd.DataFrame, cols: list[str], labels: pd.Series) -> Any:
    from segmint.report import pca_projection

    numeric = features[[c for c in cols if pd.api.types.is_numeric_dtype(features[c])]]
    if numeric.shape[1] < 2:
        numeric = features.select_dtypes("number")
    return pca_projection(numeric, labels) if numeric.shape[1] >= 2 else None


def _rules(s: SegmentationSpec, seg: Segmentation) -> list[dict[str, Any]]:
    if s.method != "rules":
        return []
    matched = seg.labels.value_counts()
    return [
        {"name": n, "rule": r, "matched": int(matched.get(n, 0))}
        for n, r in (s.rules or {}).items()
    ]
