"""What the clustering segmenters share: scaling, the k search, the final fit, the guard,
assignment in Python and in Ibis, and the :class:`Segmentation` they produce.

A subclass says how to fit one k on some points (``_fit_sample``, ``_refit``, ``_fit_full``),
which ks to try and how to choose among them (``_candidate_ks``, ``_choose``).

>>> import numpy as np, pandas as pd
>>> from segmint.segment.cluster import KMeansSegmenter
>>> X = pd.DataFrame({"spend": [1.0, 1.2, 0.9, 9.0, 9.5, 8.8]}, index=list("abcdef"))
>>> seg = KMeansSegmenter(k=2, stability_runs=0).fit(X)
>>> seg.labels_.tolist(), seg.predict(X.iloc[[0]]).tolist()
(['1', '1', '1', '2', '2', '2'], ['1'])
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.exceptions import ModelError
from segmint.segment.base import UNASSIGNED, BaseSegmenter, Segmentation
from segmint.segment.cluster._frame import numeric_features
from segmint.segment.cluster._params import (
    check_choice,
    check_columns,
    check_int,
    check_real,
    check_seed,
)
from segmint.segment.cluster._scores import jaccard_per_cluster
from segmint.segment.cluster._search import Fitted, SearchResult, search_k, seeds
from segmint.segment.cluster.guard import guard_segments, relabel_text
from segmint.segment.cluster.scaling import Scaler

__all__ = ["ClusterSegmenter"]


class ClusterSegmenter(BaseSegmenter):
    """Base of the numeric clustering segmenters (k-means, Gaussian mixture, HDBSCAN).

    Subclasses define ``__init__`` with at least: sample_size, stability_runs,
    min_segment_share, min_stability, guard, random_state, columns.
    """

    method: ClassVar[str] = "cluster"
    #: resample with replacement (bootstrap) for stability; density methods subsample instead
    _bootstrap: ClassVar[bool] = True
    #: columns of ``k_scores_``
    _curve_columns: ClassVar[tuple[str, ...]] = (
        "k",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "inertia",
        "stability",
    )

    sample_size: int
    stability_runs: int
    min_segment_share: float
    min_stability: float
    guard: str
    random_state: int | None
    columns: list[str] | None

    # -- hooks -----------------------------------------------------------------------------
    @abstractmethod
    def _validate(self) -> None:
        """Check the method's own parameters (raise ModelError)."""

    @abstractmethod
    def _candidate_ks(self, n: int) -> list[int]:
        """The ks to try on a sample of ``n`` points."""

    @abstractmethod
    def _fit_sample(self, Z: np.ndarray, k: int, seed: int) -> Fitted:
        """Fit one k on the sample."""

    @abstractmethod
    def _refit(self, Z: np.ndarray, k: int, seed: int) -> Fitted:
        """Fit one k on a resample (for stability; may be cheaper)."""

    @abstractmethod
    def _fit_full(
        self, Z: np.ndarray, k: int, start: Fitted, seed: int, positions: np.ndarray
    ) -> Fitted:
        """Fit the chosen k once on all points, starting from the fit on the sample (the rows
        at ``positions``)."""

    @abstractmethod
    def _choose(self, curve: pd.DataFrame) -> tuple[int, str]:
        """The chosen k and the rule, in words."""

    # -- fitting ---------------------------------------------------------------------------
    def _validate_common(self) -> None:
        name = type(self).__name__
        check_int(name, "sample_size", self.sample_size, minimum=100)
        check_int(name, "stability_runs", self.stability_runs, minimum=0)
        check_real(name, "min_segment_share", self.min_segment_share, low=0.0, high=0.5)
        check_real(name, "min_stability", self.min_stability, low=0.0, high=1.0)
        check_choice(name, "guard", self.guard, ["merge", "flag", "off"])
        check_seed(name, self.random_state)
        check_columns(name, self.columns)

    def fit(self, X: pd.DataFrame, y: Any = None) -> ClusterSegmenter:
        """Scale, search k on a sample, fit once on all customers, guard; returns ``self``."""
        self._validate_common()
        self._validate()
        frame = numeric_features(X, self.columns, type(self).__name__)
        scaler = Scaler().fit(frame)
        Z = scaler.transform_array(frame)
        n = len(Z)
        seed_sample, seed_search, seed_final = seeds(self.random_state, 3)
        if n > self.sample_size:
            rng = np.random.default_rng(seed_sample)
            positions = np.sort(rng.choice(n, size=self.sample_size, replace=False))
        else:
            positions = np.arange(n)
        search = search_k(
            Z[positions],
            self._candidate_ks(len(positions)),
            self._fit_sample,
            self._refit,
            runs=self.stability_runs,
            random_state=seed_search,
            replace=self._bootstrap,
        )
        k, rule = self._choose(search.curve)
        start = search.fits[k]
        full = len(positions) == n
        final = start if full else self._fit_full(Z, k, start, seed_final, positions)
        self._finish(frame, scaler, search, k, rule, final, positions)
        return self

    def _finish(
        self,
        frame: pd.DataFrame,
        scaler: Scaler,
        search: SearchResult,
        k: int,
        rule: str,
        final: Fitted,
        positions: np.ndarray,
    ) -> None:
        raw = final.labels
        m = final.assigner.n_components
        sub = positions[search.subsample]
        runs = [jaccard_per_cluster(raw[sub], other, m) for other in search.resampled[k]]
        with np.errstate(all="ignore"):
            jac = np.nanmean(np.vstack(runs), axis=0) if runs else np.full(m, np.nan)
        sizes = np.bincount(raw[raw >= 0], minlength=m)
        if self.guard == "off":
            ranked = guard_segments(sizes, final.assigner.centres, min_share=0.0, min_stability=0.0)
        else:
            ranked = guard_segments(
                sizes,
                final.assigner.centres,
                jac,
                min_share=self.min_segment_share,
                min_stability=self.min_stability,
                merge=self.guard == "merge",
                total=len(raw),
            )
        self.component_labels_ = np.array(ranked.labels, dtype=object)
        lookup = np.array([*ranked.labels, UNASSIGNED], dtype=object)
        self.labels_ = pd.Series(lookup[raw], index=frame.index, name="segment", dtype="str")
        segments = sorted(set(ranked.labels), key=int)
        self.k_ = len(segments)
        self.k_chosen_ = int(k)  # by the rule, before the guard merged any segment
        self.k_rule_ = rule
        curve = search.curve
        row = curve.loc[curve["k"] == k].iloc[0]
        self.k_scores_ = self._tidy_curve(curve)
        self.stability_ = float(row["stability"])
        self.segment_stability_ = self._per_segment(jac, sizes, segments)
        self.assigner_ = final.assigner
        self.scaler_ = scaler
        self.features_in_ = [str(c) for c in frame.columns]
        self.features_ = list(scaler.features_)
        self.n_features_in_ = len(self.features_in_)
        self.sample_size_ = len(positions)
        self.centers_ = self._centers(sizes, segments)
        self.guard_report_ = ranked.report
        self.warnings_ = [*scaler.warnings_, *ranked.warnings]

    def _tidy_curve(self, curve: pd.DataFrame) -> pd.DataFrame:
        return curve[list(self._curve_columns)].reset_index(drop=True)

    def _per_segment(self, jac: np.ndarray, sizes: np.ndarray, segments: list[str]) -> pd.Series:
        """Jaccard stability of the largest cluster carrying each segment's label."""
        out = {}
        for label in segments:
            members = [i for i, lab in enumerate(self.component_labels_) if lab == label]
            out[label] = float(jac[max(members, key=lambda i: sizes[i])])
        return pd.Series(out, name="stability", dtype="float64")

    def _centers(self, sizes: np.ndarray, segments: list[str]) -> pd.DataFrame:
        centres = self.assigner_.centres
        rows = []
        for label in segments:
            mask = self.component_labels_ == label
            weights = np.maximum(sizes[mask].astype("float64"), 1e-12)
            rows.append(np.average(centres[mask], axis=0, weights=weights))
        out = self.scaler_.inverse_transform(np.vstack(rows))
        out.index = pd.Index(segments, name="segment")
        return out

    def relabel(self, mapping: dict[str, str]) -> ClusterSegmenter:
        """Rename the fitted segments (label -> new label; others keep theirs) everywhere the
        model keeps them, so ``predict`` and ``to_ibis`` give the new labels (stable ids across
        runs, ``segmint/_run/_stable.py``); returns ``self``."""
        self._check_fitted()

        def new(label: Any) -> str:
            return mapping.get(str(label), str(label))

        self.component_labels_ = np.array([new(x) for x in self.component_labels_], dtype=object)
        self.labels_ = self.labels_.map(new).astype("str")
        self.centers_ = self.centers_.rename(index=new)
        self.segment_stability_ = self.segment_stability_.rename(index=new)
        self.guard_report_ = [
            {**r, "final_segment": new(r["final_segment"])} for r in self.guard_report_
        ]
        self.warnings_ = [relabel_text(w, new) for w in self.warnings_]
        return self

    # -- assignment ------------------------------------------------------------------------
    def _assign(self, X: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
        self._check_fitted()
        frame = numeric_features(X, self.features_, type(self).__name__, purpose="predict")
        return frame.index, self.assigner_.assign(self.scaler_.transform_array(frame))

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Segment label of every customer of ``X`` (same feature columns as in ``fit``)."""
        index, raw = self._assign(X)
        return pd.Series(self._labels_of(raw), index=index, name="segment", dtype="str")

    def predict_values(self, values: np.ndarray) -> np.ndarray:
        """Segment labels (an object array of str) of the rows of ``values``: floats, one
        column per feature of ``features_`` in that order, NaN for a missing value.

        :meth:`predict` without the DataFrame, for a caller that holds plain numbers (the
        API scores one customer this way): the same scaling and assignment, so the same
        labels. Infinite values are refused as ``predict`` refuses them.
        """
        self._check_fitted()
        values = np.asarray(values, dtype="float64")
        if values.ndim != 2 or values.shape[1] != len(self.features_):
            raise ModelError(
                f"{type(self).__name__}.predict_values expects an (n, {len(self.features_)}) "
                f"array (columns {', '.join(self.features_)}). Got shape {values.shape}.",
                fix="put the values in features_ order, one row per customer.",
            )
        if np.isinf(values).any():
            raise ModelError(
                f"{type(self).__name__} cannot use infinite values.",
                fix="replace them with a number or NaN (a missing value).",
            )
        return self._labels_of(self.assigner_.assign(self.scaler_.scale_values(values)))

    def _labels_of(self, raw: np.ndarray) -> np.ndarray:
        """Component indices (-1: none) as segment labels."""
        lookup = np.array([*self.component_labels_, UNASSIGNED], dtype=object)
        out: np.ndarray = lookup[raw]
        return out

    def to_ibis(self, table: ir.Table, column: str = "segment") -> ir.Table:
        """``table`` plus a ``column`` with the segment of every row, computed by the engine.

        Scaling and the assignment rule are Ibis expressions (the same arithmetic as
        :meth:`predict`), so this runs as SQL on DuckDB, Spark, ...
        """
        self._check_fitted()
        z = self.scaler_.expressions(table)
        znames = [f"__segmint_z{j}" for j in range(len(z))]
        t = table.mutate(**dict(zip(znames, z.values(), strict=True)))
        scores = self.assigner_.ibis_scores([t[c] for c in znames])
        snames = [f"__segmint_s{j}" for j in range(len(scores))]
        t = t.mutate(**dict(zip(snames, scores, strict=True)))
        t = t.mutate(__segmint_i=self.assigner_.ibis_assign([t[c] for c in snames]))
        idx = t["__segmint_i"]
        branches = [(idx == i, str(lab)) for i, lab in enumerate(self.component_labels_)]
        seg = ibis.cases(*branches, else_=UNASSIGNED) if branches else ibis.literal(UNASSIGNED)
        return t.mutate(**{column: seg}).drop(*znames, *snames, "__segmint_i")

    # -- result ----------------------------------------------------------------------------
    def segmentation(self, name: str) -> Segmentation:
        """The fitted result as a :class:`Segmentation` (k curve, rule, stability, scaling)."""
        self._check_fitted()
        details: dict[str, Any] = {
            "k": self.k_,
            "k_chosen": self.k_chosen_,
            "k_rule": self.k_rule_,
            "k_scores": self.k_scores_.to_dict("records"),
            "stability": self.stability_,
            "segment_stability": self.segment_stability_.to_dict(),
            "scaling": dict(self.scaler_.choices_),
            "features": list(self.features_),
            "sample_size": self.sample_size_,
            "customers": len(self.labels_),
            "centers": self.centers_.to_dict("index"),
            "guard": list(self.guard_report_),
            "params": self.get_params(),
        }
        return Segmentation(
            name=name,
            method=self.method,
            labels=self.labels_.copy(),
            features=list(self.features_),
            details=details,
            warnings=list(self.warnings_),
        )

    # -- helpers for subclasses ------------------------------------------------------------
    def _auto_ks(self, k: Any, k_range: tuple[int, int], n: int) -> list[int]:
        """Candidate ks for ``k`` ('auto' or an int), limited by the ``n`` sampled customers."""
        name = type(self).__name__
        if k != "auto":
            if k >= n:
                raise ModelError(
                    f"The 'k' parameter of {name} is {k}, but only {n} customers were given.",
                    fix="use a smaller k, or k='auto'.",
                )
            return [int(k)]
        low, high = k_range[0], min(k_range[1], n - 1)
        if low > high:
            raise ModelError(
                f"{name} cannot try k in {tuple(k_range)} with only {n} customers.",
                fix="segment more customers or lower k_range.",
            )
        return list(range(low, high + 1))
