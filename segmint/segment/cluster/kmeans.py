"""k-means segmentation with automatic k, bootstrap stability and the size guard (M6).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame(np.r_[rng.normal(0, 1, (150, 2)), rng.normal(8, 1, (150, 2))],
...                  columns=["a", "b"]).rename_axis("customer_id")
>>> seg = KMeansSegmenter(k="auto", stability_runs=2).fit(X)
>>> seg.k_, seg.labels_.value_counts().tolist()
(2, [150, 150])
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans

from segmint.segment.cluster._assign import CentroidAssigner
from segmint.segment.cluster._base import ClusterSegmenter
from segmint.segment.cluster._params import check_choice, check_int, check_k_range
from segmint.segment.cluster._search import Fitted

__all__ = ["SILHOUETTE_TIE", "KMeansSegmenter", "choose_by_silhouette"]

#: silhouettes this close to the best count as a tie (the smaller k wins)
SILHOUETTE_TIE = 0.01
#: above this many customers the final fit uses mini-batch k-means (mini_batch="auto")
MINI_BATCH_ABOVE = 200_000


def choose_by_silhouette(curve: pd.DataFrame, tie: float = SILHOUETTE_TIE) -> tuple[int, str]:
    """The smallest k whose silhouette is within ``tie`` of the best.

    >>> curve = pd.DataFrame({"k": [2, 3, 4], "silhouette": [0.40, 0.52, 0.515]})
    >>> choose_by_silhouette(curve)[0]
    3
    """
    valid = curve.dropna(subset=["silhouette"])
    if len(curve) == 1 or valid.empty:
        return int(curve["k"].iloc[0]), "k was given"
    best = float(valid["silhouette"].max())
    k = int(valid.loc[valid["silhouette"] >= best - tie, "k"].min())
    rule = (
        f"highest silhouette (on a sample of at most 5,000 customers); k values within {tie:g} "
        f"of the best ({best:.3f}) count as ties and the smallest wins"
    )
    return k, rule


class KMeansSegmenter(ClusterSegmenter):
    """k-means on skew-aware scaled features; automatic k; one final fit on all customers.

    ``k="auto"`` fits every k in ``k_range`` on a random sample of ``sample_size`` customers
    (``n_init`` starts each), scores silhouette, Calinski–Harabasz, Davies–Bouldin, inertia
    and bootstrap stability (``stability_runs`` resamples of the ≤ 5,000 scoring customers,
    refitted with ``min(n_init, 2)`` starts, adjusted Rand index) into
    ``k_scores_``, and picks k by :func:`choose_by_silhouette`. The chosen k is then fitted
    once on all customers, starting from the sample's centres (mini-batch k-means above
    200,000 customers, or with ``mini_batch=True``; ``batch_size`` default 4096). Segments
    below ``min_segment_share`` of customers or with a per-segment bootstrap Jaccard below
    ``min_stability`` are merged into the nearest (``guard="merge"``), only reported
    (``"flag"``) or left alone (``"off"``).

    Fitted: ``labels_`` ("1" = largest), ``centers_`` (original units), ``k_`` (segments after
    the guard), ``k_chosen_`` (the k the rule chose, before merging), ``k_rule_``,
    ``k_scores_``, ``stability_``, ``segment_stability_``, ``scaler_``, ``warnings_``.
    """

    method: ClassVar[str] = "kmeans"

    def __init__(
        self,
        k: Any = "auto",
        *,
        k_range: tuple[int, int] = (2, 10),
        sample_size: int = 20_000,
        n_init: int = 4,
        batch_size: int | None = None,
        mini_batch: Any = "auto",
        stability_runs: int = 8,
        min_segment_share: float = 0.02,
        min_stability: float = 0.5,
        guard: str = "merge",
        random_state: int | None = 0,
        columns: list[str] | None = None,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.sample_size = sample_size
        self.n_init = n_init
        self.batch_size = batch_size
        self.mini_batch = mini_batch
        self.stability_runs = stability_runs
        self.min_segment_share = min_segment_share
        self.min_stability = min_stability
        self.guard = guard
        self.random_state = random_state
        self.columns = columns

    def _validate(self) -> None:
        name = type(self).__name__
        if self.k != "auto":
            check_int(name, "k", self.k, minimum=2, also="'auto'")
        check_k_range(name, self.k_range)
        check_int(name, "n_init", self.n_init, minimum=1)
        check_int(name, "batch_size", self.batch_size, minimum=16, allow_none=True)
        check_choice(name, "mini_batch", self.mini_batch, ["auto", True, False])

    def _candidate_ks(self, n: int) -> list[int]:
        return self._auto_ks(self.k, self.k_range, n)

    def _choose(self, curve: pd.DataFrame) -> tuple[int, str]:
        return choose_by_silhouette(curve)

    def _fit_sample(self, Z: np.ndarray, k: int, seed: int) -> Fitted:
        km = KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(Z)
        return Fitted(CentroidAssigner(km.cluster_centers_), km.labels_, float(km.inertia_))

    def _refit(self, Z: np.ndarray, k: int, seed: int) -> Fitted:
        km = KMeans(n_clusters=k, n_init=min(self.n_init, 2), random_state=seed).fit(Z)
        return Fitted(CentroidAssigner(km.cluster_centers_), km.labels_, float(km.inertia_))

    def _fit_full(
        self, Z: np.ndarray, k: int, start: Fitted, seed: int, positions: np.ndarray
    ) -> Fitted:
        init = start.assigner.centres
        mini = self.mini_batch is True or (self.mini_batch == "auto" and len(Z) > MINI_BATCH_ABOVE)
        model: KMeans | MiniBatchKMeans
        if mini:
            model = MiniBatchKMeans(
                n_clusters=k,
                init=init,
                n_init=1,
                batch_size=self.batch_size or 4096,
                compute_labels=False,
                random_state=seed,
            ).fit(Z)
        else:
            model = KMeans(n_clusters=k, init=init, n_init=1, random_state=seed).fit(Z)
        assigner = CentroidAssigner(model.cluster_centers_)
        labels = assigner.assign(Z)
        inertia = float(np.sum((Z - assigner.centroids[labels]) ** 2))
        return Fitted(assigner, labels, inertia)
