"""Cluster quality and stability measures used to choose k and to guard segments.

* :func:`silhouettes`: mean silhouette of several labelings of the same points at once (one
  blocked pass over the pairwise distances, instead of one pass per k);
* :func:`internal_scores`: Calinski–Harabasz and Davies–Bouldin (scikit-learn);
* :func:`jaccard_per_cluster`: for each reference cluster, the best Jaccard overlap with a
  cluster of another labeling (Hennig's bootstrap stability, prediction-based).

>>> import numpy as np
>>> Z = np.array([[0.0], [0.1], [5.0], [5.1]])
>>> [round(s, 3) for s in silhouettes(Z, [np.array([0, 0, 1, 1])])]
[0.98]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

__all__ = ["internal_scores", "jaccard_per_cluster", "silhouettes"]

_BLOCK = 1024


def silhouettes(Z: np.ndarray, labelings: Sequence[np.ndarray]) -> list[float]:
    """Mean silhouette (Euclidean) of each labeling of the rows of ``Z``.

    Labels are ints ≥ 0; a point alone in its cluster scores 0 (as in scikit-learn); a
    labeling with fewer than 2 clusters gives NaN.
    """
    n = len(Z)
    codes, sizes, offsets = [], [], [0]
    for labels in labelings:
        _, code = np.unique(labels, return_inverse=True)
        codes.append(code)
        sizes.append(np.bincount(code).astype("float64"))
        offsets.append(offsets[-1] + len(sizes[-1]))
    onehot = np.zeros((n, offsets[-1]))
    for code, off in zip(codes, offsets[:-1], strict=True):
        onehot[np.arange(n), off + code] = 1.0
    sums = np.empty((n, offsets[-1]))  # sum of distances from each point to each cluster
    sq = np.einsum("nd,nd->n", Z, Z)
    for start in range(0, n, _BLOCK):
        block = Z[start : start + _BLOCK]
        d = block @ Z.T  # in place from here: |a|² + |b|² - 2ab, clipped at 0, square root
        d *= -2.0
        d += sq[None, :]
        d += sq[start : start + _BLOCK, None]
        d[np.arange(len(block)), np.arange(start, start + len(block))] = 0.0
        np.maximum(d, 0.0, out=d)
        np.sqrt(d, out=d)
        sums[start : start + _BLOCK] = d @ onehot
    out = []
    rows = np.arange(n)
    for code, size, lo, hi in zip(codes, sizes, offsets[:-1], offsets[1:], strict=True):
        if len(size) < 2:
            out.append(float("nan"))
            continue
        own = size[code]
        mean = sums[:, lo:hi] / size[None, :]
        a = sums[rows, lo + code] / np.maximum(own - 1.0, 1.0)
        mean[rows, code] = np.inf
        b = mean.min(axis=1)
        s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
        out.append(float(s.mean()))
    return out


def internal_scores(Z: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(Calinski–Harabasz, Davies–Bouldin); NaN for fewer than 2 clusters."""
    if len(np.unique(labels)) < 2:
        return float("nan"), float("nan")
    return float(calinski_harabasz_score(Z, labels)), float(davies_bouldin_score(Z, labels))


def jaccard_per_cluster(reference: np.ndarray, other: np.ndarray, n_clusters: int) -> np.ndarray:
    """For clusters ``0..n_clusters-1`` of ``reference``: max over clusters of ``other`` of
    |A ∩ B| / |A ∪ B| (``other`` = -1 means "in no cluster"). A cluster absent from
    ``reference`` gives NaN."""
    keep = reference >= 0
    ref, oth = reference[keep], other[keep]
    ref_size = np.bincount(ref, minlength=n_clusters).astype("float64")
    width = int(max(other.max(initial=-1), 0)) + 1
    oth_size = np.bincount(other[other >= 0], minlength=width).astype("float64")
    both = np.zeros((n_clusters, width))
    hit = oth >= 0
    np.add.at(both, (ref[hit], oth[hit]), 1.0)
    union = ref_size[:, None] + oth_size[None, :] - both
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(union > 0, both / union, 0.0).max(axis=1)
    result: np.ndarray = np.where(ref_size > 0, jac, np.nan)
    return result
