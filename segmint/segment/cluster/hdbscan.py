"""HDBSCAN segmentation: density-based clusters, noise left unassigned (M6).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame(np.r_[rng.normal(0, 1, (150, 2)), rng.normal(8, 1, (150, 2))],
...                  columns=["a", "b"]).rename_axis("customer_id")
>>> seg = HDBSCANSegmenter(stability_runs=2).fit(X)
>>> seg.k_, sorted(set(seg.labels_))[:2]
(2, ['1', '2'])
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.cluster import HDBSCAN

from segmint.exceptions import ModelError
from segmint.segment.cluster._assign import CentroidAssigner
from segmint.segment.cluster._base import ClusterSegmenter
from segmint.segment.cluster._params import check_int
from segmint.segment.cluster._search import Fitted

__all__ = ["HDBSCANSegmenter"]


class HDBSCANSegmenter(ClusterSegmenter):
    """HDBSCAN (scikit-learn) on skew-aware scaled features; it finds the number of clusters.

    HDBSCAN runs on a random sample of ``sample_size`` customers (all of them when fewer);
    points it calls noise get :data:`~segmint.segment.base.UNASSIGNED`. Every other customer,
    and every customer given to :meth:`predict` or :meth:`to_ibis`, goes to the nearest
    cluster centroid (mean of its members), but only within that cluster's radius (the
    farthest member's distance); farther customers are unassigned. So ``predict`` on the
    sampled customers approximates, and need not equal, HDBSCAN's own labels.

    ``min_cluster_size="auto"`` is ``max(5, ceil(min_segment_share · n))`` for ``n`` sampled
    points. Stability: ``stability_runs`` subsamples of 80 % (no bootstrap duplicates, which
    would fake density), adjusted Rand index against the sample's clusters, noise included.
    ``k_scores_`` has one row: k = clusters found, their silhouette (noise left out),
    Calinski–Harabasz, Davies–Bouldin, inertia, stability and ``unassigned_share``.
    """

    method: ClassVar[str] = "hdbscan"
    _bootstrap: ClassVar[bool] = False
    _curve_columns: ClassVar[tuple[str, ...]] = (
        "k",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "inertia",
        "stability",
        "unassigned_share",
    )

    def __init__(
        self,
        *,
        min_cluster_size: Any = "auto",
        min_samples: int | None = None,
        sample_size: int = 10_000,
        stability_runs: int = 4,
        min_segment_share: float = 0.02,
        min_stability: float = 0.5,
        guard: str = "merge",
        random_state: int | None = 0,
        columns: list[str] | None = None,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.sample_size = sample_size
        self.stability_runs = stability_runs
        self.min_segment_share = min_segment_share
        self.min_stability = min_stability
        self.guard = guard
        self.random_state = random_state
        self.columns = columns

    def _validate(self) -> None:
        name = type(self).__name__
        if self.min_cluster_size != "auto":
            check_int(name, "min_cluster_size", self.min_cluster_size, minimum=2, also="'auto'")
        check_int(name, "min_samples", self.min_samples, minimum=1, allow_none=True)

    def _mcs(self, n: int) -> int:
        if self.min_cluster_size == "auto":
            return max(5, math.ceil(self.min_segment_share * n))
        return int(self.min_cluster_size)

    def _candidate_ks(self, n: int) -> list[int]:
        if n < max(self._mcs(n), 3):
            raise ModelError(
                f"HDBSCANSegmenter got {n} customers, fewer than min_cluster_size "
                f"({self._mcs(n)}).",
                fix="segment more customers or lower min_cluster_size.",
            )
        return [0]  # one run; the number of clusters is found, not given

    def _choose(self, curve: pd.DataFrame) -> tuple[int, str]:
        found = int(curve["clusters"].iloc[0])
        if found == 0:
            raise ModelError(
                "HDBSCANSegmenter found no clusters: every sampled customer is noise.",
                fix="lower min_cluster_size or min_samples, or use KMeansSegmenter.",
            )
        return 0, f"HDBSCAN finds the number of clusters itself ({found} found)"

    def _tidy_curve(self, curve: pd.DataFrame) -> pd.DataFrame:
        out = curve.assign(k=curve["clusters"].astype(int))
        return out[list(self._curve_columns)].reset_index(drop=True)

    def _fit_sample(self, Z: np.ndarray, k: int, seed: int) -> Fitted:
        mcs = self._mcs(len(Z))
        min_samples = None if self.min_samples is None else min(self.min_samples, len(Z) - 1)
        labels = HDBSCAN(min_cluster_size=mcs, min_samples=min_samples, copy=True).fit(Z).labels_
        found = int(labels.max()) + 1
        centroids = np.empty((found, Z.shape[1]))
        radius = np.empty(found)
        inertia = 0.0
        for j in range(found):
            members = Z[labels == j]
            centroids[j] = members.mean(axis=0)
            d2 = np.sum((members - centroids[j]) ** 2, axis=1)
            radius[j] = float(np.sqrt(d2.max()))
            inertia += float(d2.sum())
        return Fitted(CentroidAssigner(centroids, radius), labels.astype(np.int64), inertia)

    def _refit(self, Z: np.ndarray, k: int, seed: int) -> Fitted:
        return self._fit_sample(Z, k, seed)

    def _fit_full(
        self, Z: np.ndarray, k: int, start: Fitted, seed: int, positions: np.ndarray
    ) -> Fitted:
        labels = start.assigner.assign(Z)
        labels[positions] = start.labels
        return Fitted(start.assigner, labels, start.inertia)
