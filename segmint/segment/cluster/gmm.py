"""Gaussian mixture segmentation with automatic k by BIC (M6).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame(np.r_[rng.normal(0, 1, (150, 2)), rng.normal(8, 1, (150, 2))],
...                  columns=["a", "b"]).rename_axis("customer_id")
>>> seg = GMMSegmenter(k_range=(1, 4), stability_runs=2).fit(X)
>>> seg.k_, seg.k_scores_["bic"].idxmin() + 1
(2, 2)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

from segmint.exceptions import ModelError
from segmint.segment.cluster._assign import GaussianAssigner
from segmint.segment.cluster._base import ClusterSegmenter
from segmint.segment.cluster._params import check_choice, check_int
from segmint.segment.cluster._search import Fitted

__all__ = ["GMMSegmenter", "choose_by_bic"]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def choose_by_bic(curve: pd.DataFrame) -> tuple[int, str]:
    """The k with the lowest BIC (ties: the smaller k).

    >>> choose_by_bic(pd.DataFrame({"k": [2, 3, 4], "bic": [900.0, 850.0, 870.0]}))[0]
    3
    """
    if len(curve) == 1:
        return int(curve["k"].iloc[0]), "k was given"
    best = float(curve["bic"].min())
    k = int(curve.loc[curve["bic"] == best, "k"].min())
    return k, f"lowest BIC (Bayesian information criterion) on the sample ({best:.1f})"


def _full_prec_chol(gm: GaussianMixture, d: int) -> np.ndarray:
    """scikit-learn's precision Cholesky factors as (k, d, d) for every covariance type."""
    pc = np.asarray(gm.precisions_cholesky_)
    k = gm.n_components
    if gm.covariance_type == "full":
        return pc
    if gm.covariance_type == "tied":
        return np.broadcast_to(pc, (k, d, d)).copy()
    if gm.covariance_type == "diag":
        return np.stack([np.diag(row) for row in pc])
    return np.stack([np.eye(d) * v for v in pc])


class GMMSegmenter(ClusterSegmenter):
    """Gaussian mixture on skew-aware scaled features; k chosen by the lowest BIC.

    Works as :class:`KMeansSegmenter` (sample, k curve with ``bic`` added, bootstrap
    stability, guard), but each customer goes to the most likely component. Unlike k-means,
    there is no final EM run on all customers: with more than ``sample_size`` of them, the
    mixture fitted on the sample assigns everyone (one EM iteration on a million customers
    costs about as much as the whole k search; fit on a sample, apply everywhere). ``k_range``
    may start at 1 (BIC can say "no segments"; a single segment is then returned).
    ``to_ibis`` evaluates the component log-densities in the engine.

    Fitted: as KMeansSegmenter, plus ``weights_`` (mixture weight per segment).
    """

    method: ClassVar[str] = "gmm"
    _curve_columns: ClassVar[tuple[str, ...]] = (
        "k",
        "bic",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "inertia",
        "stability",
    )

    def __init__(
        self,
        k: Any = "auto",
        *,
        k_range: tuple[int, int] = (2, 10),
        covariance_type: str = "full",
        sample_size: int = 20_000,
        n_init: int = 2,
        max_iter: int = 200,
        stability_runs: int = 4,
        min_segment_share: float = 0.02,
        min_stability: float = 0.5,
        guard: str = "merge",
        random_state: int | None = 0,
        columns: list[str] | None = None,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.covariance_type = covariance_type
        self.sample_size = sample_size
        self.n_init = n_init
        self.max_iter = max_iter
        self.stability_runs = stability_runs
        self.min_segment_share = min_segment_share
        self.min_stability = min_stability
        self.guard = guard
        self.random_state = random_state
        self.columns = columns

    def _validate(self) -> None:
        name = type(self).__name__
        if self.k != "auto":
            check_int(name, "k", self.k, minimum=1, also="'auto'")
        ok = (
            isinstance(self.k_range, tuple | list)
            and len(self.k_range) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in self.k_range)
            and 1 <= self.k_range[0] <= self.k_range[1]
        )
        if not ok:
            raise ModelError(
                f"The 'k_range' parameter of {name} must be a pair of ints (low, high) with "
                f"1 ≤ low ≤ high. Got {self.k_range!r}.",
                fix="pass for example k_range=(2, 10).",
            )
        check_choice(name, "covariance_type", self.covariance_type, COVARIANCE_TYPES)
        check_int(name, "n_init", self.n_init, minimum=1)
        check_int(name, "max_iter", self.max_iter, minimum=1)

    def _candidate_ks(self, n: int) -> list[int]:
        return self._auto_ks(self.k, self.k_range, n)

    def _choose(self, curve: pd.DataFrame) -> tuple[int, str]:
        return choose_by_bic(curve)

    def _mixture(self, k: int, seed: int, n_init: int, **init: Any) -> GaussianMixture:
        return GaussianMixture(
            n_components=k,
            covariance_type=self.covariance_type,
            n_init=n_init,
            max_iter=self.max_iter,
            random_state=seed,
            **init,
        )

    def _fitted(self, gm: GaussianMixture, Z: np.ndarray) -> Fitted:
        assigner = GaussianAssigner(gm.weights_, gm.means_, _full_prec_chol(gm, Z.shape[1]))
        labels = assigner.assign(Z)
        inertia = float(np.sum((Z - gm.means_[labels]) ** 2))
        return Fitted(assigner, labels, inertia, float(gm.bic(Z)), gm)

    def _fit_sample(self, Z: np.ndarray, k: int, seed: int) -> Fitted:
        return self._fitted(self._mixture(k, seed, self.n_init).fit(Z), Z)

    def _refit(self, Z: np.ndarray, k: int, seed: int) -> Fitted:
        return self._fitted(self._mixture(k, seed, 1).fit(Z), Z)

    def _fit_full(
        self, Z: np.ndarray, k: int, start: Fitted, seed: int, positions: np.ndarray
    ) -> Fitted:
        """The sample's mixture assigns every customer (no EM on all of them, see above)."""
        labels = start.assigner.assign(Z)
        inertia = float(np.sum((Z - start.assigner.centres[labels]) ** 2))
        return Fitted(start.assigner, labels, inertia, start.bic, start.model)

    def _finish(self, *args: Any, **kwargs: Any) -> None:
        super()._finish(*args, **kwargs)
        raw_weights = np.exp(self.assigner_.log_weights)  # type: ignore[attr-defined]
        self.weights_ = pd.Series(
            {
                label: float(raw_weights[self.component_labels_ == label].sum())
                for label in self.centers_.index
            },
            name="weight",
        )

    def relabel(self, mapping: dict[str, str]) -> GMMSegmenter:
        """As :meth:`ClusterSegmenter.relabel`, the mixture weights included."""
        super().relabel(mapping)
        self.weights_ = self.weights_.rename(index=lambda x: mapping.get(str(x), str(x)))
        return self
