"""Stable segment ids: a segment keeps its label (and the name a person gave it) across runs.

Why: k-means, GMM, k-prototypes and HDBSCAN number their clusters by size, so two fits on the
same customers may call the same group "2" once and "3" the next time; comparisons between
runs (migration, drift) and a name a person gave a segment in the web app would then follow
the number, not the group. Each new segmentation is therefore relabelled against the
previous run's segmentation of the same name and method before it is profiled and stored
(its stored model then predicts the stable labels too).

How a new segment is matched to a previous one:

* **clusters, by centroid**: the distance between every new and every previous centre, in
  the new fit's scaled space (the new model's scaler applied to both models' centres, which
  are kept in original units; k-prototypes: its own dissimilarity, squared standardized
  distance plus γ per differing category, square-rooted), then the optimal one-to-one
  assignment (:func:`scipy.optimize.linear_sum_assignment`, least total distance). A pair
  further apart than :data:`MAX_SHIFT` (in scaled units: standard deviations of the features
  after the model's transforms) is no match.
* **clusters, by customer overlap** when the centres cannot be compared (the previous model
  is missing or unreadable, or the two fits do not use the same features): the contingency
  table of the customers in both runs, and the assignment that keeps the most customers
  together; a pair is a match when it holds more than :data:`MIN_OVERLAP` of the new
  segment's customers that were in the previous run.
* **rules, RFM segments and value tiers, by definition**: their labels are the rule's, the RFM
  segment's and the tier's names, so the same label is the same segment.

A new cluster with no match gets a fresh number (above every number the previous run used);
a previous label that no segment of this run carries is retired. Both are said in the
segmentation's warnings (the report and ``segmint run`` show them), and the result keeps a
``stable_ids`` record: previous run, how segments were matched, new and retired labels.

A matched segment keeps its previous display name when a person had renamed it (the web app
and the API mark the renamed profile, :meth:`SegmentationResult.renamed`; for rules, RFM and
value tiers a stored name that differs from the label and from the spec's ``names:`` counts
as a rename too). Such a name wins over the automatic names and the spec's ``names:``; rename
the segment again to change it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmint._workspace import Workspace
from segmint.exceptions import SegmintError
from segmint.segment.base import UNASSIGNED
from segmint.store.results import SegmentationResult

__all__ = ["MAX_SHIFT", "MIN_OVERLAP", "Previous", "Stable", "previous", "stabilize"]

#: largest distance between matched centres, in the new fit's scaled units
MAX_SHIFT = 1.0
#: smallest share of a new segment's returning customers that a matched previous one must hold
MIN_OVERLAP = 0.5


@dataclass
class Previous:
    """The previous run's segmentation of the same name and method."""

    run_id: str
    result: SegmentationResult
    #: the fitted estimator (None when the stored model cannot be read)
    model: Any
    #: reads customer_id -> segment label in that run (only matching by overlap needs it)
    load_assignments: Callable[[], pd.Series]

    @functools.cached_property
    def assignments(self) -> pd.Series:
        """customer_id -> segment label in the previous run."""
        return self.load_assignments()


@dataclass
class Stable:
    """How a new segmentation's labels were matched to the previous run's."""

    previous_run: str
    #: centroid, overlap or definition
    by: str
    #: label of the fit -> stable label (labels not listed keep theirs)
    mapping: dict[str, str] = field(default_factory=dict)
    #: stable label -> the name a person gave it, carried over
    names: dict[str, str] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    retired_names: dict[str, str] = field(default_factory=dict)
    #: labels retired in earlier runs (never given to a new segment again)
    retired_before: list[str] = field(default_factory=list)

    def settle(self, labels: pd.Series, prev: Previous) -> None:
        """New and retired labels, from the final labels of this run."""
        now = set(labels.astype(str)) - {UNASSIGNED}
        before = [lab for lab in prev.result.labels() if lab != UNASSIGNED]
        self.new = sorted(now - set(before), key=_order)
        self.retired = [lab for lab in before if lab not in now]
        self.retired_names = {lab: prev.result.names().get(lab, lab) for lab in self.retired}
        self.retired_before = [x for x in _record(prev).get("retired_ever", []) if x not in now]

    def warnings(self) -> list[str]:
        """The plain words the report and the CLI show."""
        out = []
        if self.new:
            out.append(
                f"New segment{_s(self.new)} since run {self.previous_run}: "
                f"{', '.join(repr(x) for x in self.new)} (no match among that run's segments)."
            )
        if self.retired:
            gone = ", ".join(
                repr(x) + (f" ({self.retired_names[x]})" if self.retired_names[x] != x else "")
                for x in self.retired
            )
            out.append(
                f"Retired since run {self.previous_run}: segment{_s(self.retired)} {gone} "
                "(no segment of this run matches)."
            )
        return out

    def apply(self, result: SegmentationResult) -> SegmentationResult:
        """``result`` with carried-over names marked as renamed and the ``stable_ids`` record."""
        for label, name in self.names.items():
            if result.profiles.segment(label) is not None:
                result = result.renamed(label, name)
        record = {
            "previous_run": self.previous_run,
            "matched_by": self.by,
            "relabelled": {k: v for k, v in self.mapping.items() if k != v},
            "new": self.new,
            "retired": self.retired,
            "names_kept": dict(self.names),
            "retired_ever": sorted({*self.retired_before, *self.retired}, key=_order),
        }
        return result.model_copy(update={"stable_ids": record})


def previous(ws: Workspace, name: str, method: str) -> Previous | None:
    """The latest stored run's segmentation called ``name`` with ``method``, or None."""
    from segmint.segment.models import model_from_json

    if "segmentations" not in ws.tables():
        return None
    db = ws.store.db.cursor()
    row = db.execute(
        "SELECT s.run_id, s.result FROM segmentations s JOIN runs r USING (run_id) "
        "WHERE s.name = ? AND s.method = ? ORDER BY r.seq DESC LIMIT 1",
        [name, method],
    ).fetchone()
    if row is None:
        return None
    run_id, text = row
    try:
        result = SegmentationResult.from_json(text)
    except ValueError:  # a result this version cannot read: the run starts afresh
        return None
    model = None
    if "segment_models" in ws.tables():
        found = db.execute(
            "SELECT model FROM segment_models WHERE run_id = ? AND segmentation = ?",
            [run_id, name],
        ).fetchone()
        if found is not None and found[0] is not None:
            try:
                model = model_from_json(json.loads(found[0]))
            except (SegmintError, ValueError, TypeError, KeyError):
                model = None  # a model from another version: matched by overlap instead

    def assignments() -> pd.Series:
        frame = db.execute(
            "SELECT customer_id, CAST(segment AS VARCHAR) FROM segment_assignments "
            "WHERE run_id = ? AND segmentation = ?",
            [run_id, name],
        ).fetchdf()
        return pd.Series(frame.iloc[:, 1].to_numpy(), index=frame.iloc[:, 0].astype(str))

    return Previous(str(run_id), result, model, assignments)


def stabilize(
    est: Any, prev: Previous | None, *, by_definition: bool, given: dict[str, str]
) -> Stable | None:
    """Match the fitted ``est``'s segments to ``prev``'s and relabel ``est`` (in place) with
    the stable labels; None without a previous run. ``by_definition``: the labels are names
    (rules, RFM, value tiers). ``given``: the spec's ``names:`` of this segmentation."""
    if prev is None:
        return None
    if by_definition:
        stable = Stable(prev.run_id, "definition")
    else:
        found = _centre_distances(est, prev.model)
        if found is not None:
            stable = Stable(prev.run_id, "centroid", _match_centres(*found, prev))
        else:
            labels = est.labels_.astype(str)
            stable = Stable(prev.run_id, "overlap", _match_overlap(labels, prev))
        est.relabel(stable.mapping)
    kept = set(stable.mapping.values()) if not by_definition else set(prev.result.labels())
    for p in prev.result.profiles.segments:
        if p.label not in kept:
            continue
        marked = bool((p.model_extra or {}).get("renamed"))
        implied = by_definition and p.name != p.label and p.label not in given
        if marked or implied:
            stable.names[p.label] = p.name
    return stable


def _centre_distances(est: Any, old: Any) -> tuple[list[str], list[str], np.ndarray] | None:
    """(new labels, previous labels, distances) between the two models' centres in the new
    model's scaled space; None when they cannot be compared."""
    if old is None or type(old) is not type(est):
        return None
    new_c, old_c = getattr(est, "centers_", None), getattr(old, "centers_", None)
    if not isinstance(new_c, pd.DataFrame) or not isinstance(old_c, pd.DataFrame):
        return None
    if list(map(str, new_c.columns)) != list(map(str, old_c.columns)) or old_c.empty:
        return None
    if hasattr(est, "scaler_"):  # k-means, GMM, HDBSCAN
        try:
            a = est.scaler_.transform_array(new_c)
            b = est.scaler_.transform_array(old_c)
        except (SegmintError, ValueError, KeyError):
            return None
        d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    elif hasattr(est, "gamma_"):  # k-prototypes
        num = list(est.numeric_)
        cat = list(est.categorical_)
        a = (new_c[num].to_numpy("float64") - est.mean_) / est.scale_
        b = (old_c[num].to_numpy("float64") - est.mean_) / est.scale_
        sq = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
        na, nb = new_c[cat].to_numpy(object), old_c[cat].to_numpy(object)
        miss = (na[:, None, :] != nb[None, :, :]).sum(axis=2)
        d = np.sqrt(sq + est.gamma_ * miss)
    else:
        return None
    if not np.isfinite(d).all():
        return None
    return [str(x) for x in new_c.index], [str(x) for x in old_c.index], d


def _match_centres(new: list[str], old: list[str], d: np.ndarray, prev: Previous) -> dict[str, str]:
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(d)
    matched = {new[i]: old[j] for i, j in zip(rows, cols, strict=True) if d[i, j] <= MAX_SHIFT}
    return _with_fresh(new, matched, prev)


def _match_overlap(labels: pd.Series, prev: Previous) -> dict[str, str]:
    from scipy.optimize import linear_sum_assignment

    new = sorted(set(labels) - {UNASSIGNED}, key=_order)
    both = labels.index.intersection(prev.assignments.index)
    pairs = pd.DataFrame({"new": labels.loc[both], "old": prev.assignments.loc[both]})
    pairs = pairs[(pairs.new != UNASSIGNED) & (pairs.old != UNASSIGNED)]
    matched: dict[str, str] = {}
    if len(pairs):
        table = pd.crosstab(pairs.new, pairs.old)
        counts = table.to_numpy()
        rows, cols = linear_sum_assignment(-counts)
        totals = counts.sum(axis=1)
        for i, j in zip(rows, cols, strict=True):
            if counts[i, j] > MIN_OVERLAP * totals[i]:
                matched[str(table.index[i])] = str(table.columns[j])
    return _with_fresh(new, matched, prev)


def _with_fresh(new: list[str], matched: dict[str, str], prev: Previous) -> dict[str, str]:
    """The matches, and fresh numbers for the new labels without one (in the fit's order)."""
    used = [*prev.result.labels(), *_record(prev).get("retired_ever", []), *matched.values()]
    top = max((int(x) for x in used if str(x).isdigit()), default=0)
    out = dict(matched)
    for label in new:
        if label not in out:
            top += 1
            out[label] = str(top)
    return out


def _record(prev: Previous) -> dict[str, Any]:
    """The previous result's ``stable_ids`` record ({} before stable ids existed)."""
    record = (prev.result.model_extra or {}).get("stable_ids")
    return record if isinstance(record, dict) else {}


def _order(label: str) -> tuple[int, int | str]:
    return (0, int(label)) if label.isdigit() else (1, label)


def _s(items: list[str]) -> str:
    return "" if len(items) == 1 else "s"
