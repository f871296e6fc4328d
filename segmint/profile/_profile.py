"""``profile()``: statistics, key variables, names, rules and reasons of one segmentation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from segmint.exceptions import ModelError
from segmint.profile._frame import Prepared, prepare
from segmint.profile._types import Profiles, SegmentProfile
from segmint.profile.explain import fit_surrogate
from segmint.profile.keyvars import rank_features
from segmint.profile.naming import name_segments, range_features
from segmint.profile.reasons import (
    customer_reasons,
    standardize,
    typical_customers,
    typical_positions,
)
from segmint.profile.stats import SegmentStats, segment_stats
from segmint.segment.base import Segmentation

__all__ = ["profile"]


def _check(segmentation: Any, value: Any, max_depth: Any, examples: Any, seed: Any) -> None:
    if not isinstance(segmentation, Segmentation):
        raise ModelError(
            f"profile() needs a Segmentation. Got {type(segmentation).__name__}.",
            fix="pass segmenter.segmentation('name'), or Segmentation(name, method, labels).",
        )
    if not isinstance(value, str):
        raise ModelError(
            f"The 'value' parameter of profile() must be a column name. Got {value!r}."
        )
    for param, got, low in (("max_depth", max_depth, 1), ("examples", examples, 0)):
        if isinstance(got, bool) or not isinstance(got, int) or got < low:
            raise ModelError(
                f"The '{param}' parameter of profile() must be an int ≥ {low}. Got {got!r}.",
                fix=f"use e.g. {param}={3 if param == 'max_depth' else 5}.",
            )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ModelError(f"The 'random_state' parameter of profile() must be an int. Got {seed!r}.")


def profile(
    features: pd.DataFrame,
    segmentation: Segmentation,
    *,
    value: str = "monetary_total",
    max_depth: int = 3,
    examples: int = 5,
    random_state: int = 0,
    every_reason: bool = True,
) -> Profiles:
    """Profile every segment of ``segmentation`` over ``features`` (indexed by customer_id).

    ``every_reason`` False: ``Profiles.reasons`` holds the reasons of the typical customers
    only (the others' reason columns are empty), which is all a run keeps.

    Names already in ``segmentation.names`` (set by the user) are kept; the others are filled
    in there as well. Statistics use every customer; the surrogate tree and mutual information
    use seeded samples (see ``docs/profiles.md``).

    >>> import pandas as pd
    >>> X = pd.DataFrame({"frequency": [1, 2, 1, 20, 25, 30],
    ...                   "monetary_total": [10.0, 25.0, 12.0, 900.0, 1100.0, 1500.0]},
    ...                  index=["a", "b", "c", "d", "e", "f"])
    >>> seg = Segmentation("demo", "rules", pd.Series(list("LLLHHH"), index=X.index))
    >>> p = profile(X, seg)
    >>> p.segment("H").name, round(p.segment("H").revenue_share, 3), p.fidelity
    ('Frequent high spenders', 0.987, 1.0)
    """
    _check(segmentation, value, max_depth, examples, random_state)
    P = prepare(features, segmentation.labels)
    if not P.numeric:
        raise ModelError(
            f"profile() needs at least one numeric feature. Got only {list(P.X.columns)}.",
            fix="compute features first (ws.features()) and pass them with the segmentation.",
        )
    # The surrogate tree needs only P: it is fitted on a second thread while this one computes
    # the statistics and the per-customer reasons (scikit-learn's tree building and most of
    # numpy release the GIL; the tree works on a sample, so memory hardly grows). The shared
    # lazy caches are filled first so that the threads do not both build them.
    P.medians(), P.groups()
    with ThreadPoolExecutor(max_workers=1) as pool:
        tree_job = pool.submit(fit_surrogate, P, max_depth=max_depth, random_state=random_state)
        stats, reasons, typical = _stats_and_reasons(P, value, examples, every_reason)
        surrogate = tree_job.result()
    notes = list(stats.notes)
    if P.left_out:
        notes.append(
            f"{P.left_out} labeled customers have no row in the features and are left out."
        )
    if len(stats.segments) < 2:
        notes.append("Only one segment: key variables and rules cannot separate segments.")
    key_vars = rank_features(P, stats, surrogate, random_state=random_state)
    order = sorted(stats.segments, key=lambda s: (-stats.segments[s]["size"], s))
    segments = [
        SegmentProfile(
            label=label,
            name=label,
            rules=surrogate.rules.get(label, []),
            examples=typical.get(label, []),
            **stats.segments[label],
        )
        for label in order
    ]
    fixed = {k: v for k, v in segmentation.names.items() if k in stats.segments}
    names = name_segments(segments, quartiles=stats.quartiles, fixed=fixed)
    for seg in segments:
        seg.name = names[seg.label]
        segmentation.names.setdefault(seg.label, seg.name)
    return Profiles(
        segmentation=segmentation.name,
        method=segmentation.method,
        population=stats.population,
        segments=segments,
        key_variables=key_vars,
        fidelity=surrogate.fidelity,
        reasons=reasons,
        notes=notes,
    )


def _stats_and_reasons(
    P: Prepared, value: str, examples: int, every_reason: bool = True
) -> tuple[SegmentStats, pd.DataFrame, dict[str, list[dict[str, Any]]]]:
    """Per-segment statistics, then each customer's top reasons and the typical customers."""
    stats = segment_stats(P, value=value, quartiles=range_features(P.numeric))
    mean = np.array([stats.population["means"][c] for c in P.numeric])
    std = np.array([stats.population["stds"][c] for c in P.numeric])
    lift = np.array(
        [[stats.segments.get(label, {}).get("lift", {}).get(c, 0.0) for c in P.numeric]
         for label in P.classes]
    )  # fmt: skip
    z = standardize(P, mean, std)
    found = typical_positions(P, z, lift, examples)
    only = None if every_reason else np.concatenate([np.empty(0, np.int64), *found.values()])
    reasons = customer_reasons(P, lift, mean, std, z, only=only)
    typical = typical_customers(P, z, lift, reasons, examples, positions=found)
    return stats, reasons, typical
