"""A 2-D picture of the customers: PCA of the standardized numeric features.

:func:`pca_projection` standardizes the numeric columns, fits a two-component PCA on every row
(or on a random sample of at most 200,000 rows) and returns a *stratified* sample of at most
``max_points`` customers: each segment keeps its share of the points, and every segment keeps
at least one, so small segments stay visible.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from segmint.exceptions import ModelError

__all__ = ["pca_projection", "stratified_sample"]

#: PCA is fitted on at most this many rows (a random sample beyond it)
FIT_ROWS = 200_000


def stratified_sample(labels: np.ndarray, max_points: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of at most ``max_points`` rows, every label keeping ≥ 1 row.

    Quotas follow the label shares (largest remainder); a label whose quota rounds to zero
    gets one row, taken from the largest quotas.

    >>> import numpy as np
    >>> labels = np.array(["a"] * 98 + ["b"] * 2)
    >>> pos = stratified_sample(labels, 10, np.random.default_rng(0))
    >>> len(pos), sorted(map(str, set(labels[pos])))
    (10, ['a', 'b'])
    """
    n = len(labels)
    if n <= max_points:
        return np.arange(n)
    inverse, uniques = pd.factorize(labels, sort=True)  # as np.unique, without its object sort
    sizes = np.bincount(inverse, minlength=len(uniques))
    exact = sizes * max_points / n
    quota = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - quota), kind="stable")[: max_points - int(quota.sum())]:
        quota[i] += 1
    quota = np.maximum(quota, 1)
    while quota.sum() > max_points:  # the minimum of one per label overshot: trim the largest
        quota[int(np.argmax(quota))] -= 1
    chosen = [
        rng.choice(np.flatnonzero(inverse == i), size=int(q), replace=False)
        for i, q in enumerate(quota)
    ]
    return np.sort(np.concatenate(chosen))


def _numeric(X: pd.DataFrame) -> pd.DataFrame:
    numeric = X.select_dtypes(include=["number", "bool"])
    if numeric.shape[1] == 0:
        raise ModelError(
            "pca_projection needs at least one numeric feature column. "
            f"Got columns {list(map(str, X.columns))[:10]} with none numeric.",
            fix="pass the numeric feature frame (e.g. ws.features().to_pandas()).",
        )
    return numeric


def _rows(numeric: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """float64 values of the given row positions only (missing → NaN): no copy of every row."""
    return numeric.iloc[rows].to_numpy(dtype=np.float64, na_value=np.nan)


def _scaler(fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per column of ``fit``; missing values count as the mean; constant → std 1."""
    known = ~np.isnan(fit)
    mean = np.where(known, fit, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
    std = np.where(known, fit, mean).std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def _standardize(rows: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(x − mean) / std, missing → the mean (so → 0)."""
    return (np.where(np.isnan(rows), mean, rows) - mean) / std


def pca_projection(
    X: pd.DataFrame, labels: pd.Series, *, max_points: int = 5000, random_state: int = 0
) -> dict[str, Any]:
    """Project customers to 2-D with PCA, for the report's scatter plot.

    ``X`` is the feature frame (index ``customer_id``; non-numeric columns are ignored, missing
    values count as the column mean), ``labels`` the segment of every customer (aligned on the
    index). Returns ``{"x", "y", "label", "explained_variance": [v1, v2], "n_shown",
    "n_total"}`` where ``explained_variance`` holds the shares of the total variance of the
    standardized features carried by each component.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    >>> labels = pd.Series(np.where(X["a"] > 0, "high a", "low a"), index=X.index)
    >>> p = pca_projection(X, labels, max_points=100)
    >>> p["n_shown"], p["n_total"], sorted(set(p["label"]))
    (100, 300, ['high a', 'low a'])
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int | np.integer):
        raise ModelError(
            f"The 'max_points' parameter of pca_projection must be an int ≥ 1. Got {max_points!r}.",
            fix="pass e.g. max_points=5000.",
        )
    if not isinstance(X, pd.DataFrame):
        raise ModelError(
            f"pca_projection expects a pandas DataFrame of features. Got {type(X).__name__}.",
            fix="convert the features first, e.g. ws.features().to_pandas().",
        )
    numeric = _numeric(X)
    n_total = len(numeric)
    if n_total < 2:
        raise ModelError(
            f"pca_projection needs at least 2 customers. Got {n_total}.",
            fix="project a segmentation with more customers.",
        )
    aligned = pd.Series(labels).reindex(numeric.index)
    missing = int(aligned.isna().sum())
    if missing:
        raise ModelError(
            f"Every customer of the feature frame needs a segment label; {missing} of "
            f"{n_total} have none (labels are matched on the index).",
            fix="pass segmentation.labels for the same customers as the feature frame.",
        )
    label_values = aligned.astype(str).to_numpy()
    n_segments = len(pd.unique(label_values))
    if max_points < max(1, min(n_segments, n_total)):
        raise ModelError(
            f"The 'max_points' parameter of pca_projection must be ≥ the number of segments "
            f"({n_segments}) so that every segment is shown. Got {max_points}.",
            fix=f"pass max_points={max(n_segments, 5000)}.",
        )

    rng = np.random.default_rng(random_state)
    if n_total > FIT_ROWS:
        fit_rows = np.sort(rng.choice(n_total, size=FIT_ROWS, replace=False))
    else:
        fit_rows = np.arange(n_total)
    fit = _rows(numeric, fit_rows)
    mean, std = _scaler(fit)
    n_components = min(2, fit.shape[1], len(fit_rows))
    pca = PCA(n_components=n_components, svd_solver="full").fit(_standardize(fit, mean, std))

    shown = stratified_sample(label_values, max_points, rng)
    coords = pca.transform(_standardize(_rows(numeric, shown), mean, std))
    ratios = [float(v) for v in np.nan_to_num(pca.explained_variance_ratio_)]
    if n_components < 2:  # one feature: the points lie on a line
        coords = np.column_stack([coords[:, 0], np.zeros(len(shown))])
        ratios.append(0.0)
    return {
        "x": [float(v) for v in coords[:, 0]],
        "y": [float(v) for v in coords[:, 1]],
        "label": [str(v) for v in label_values[shown]],
        "explained_variance": ratios,
        "n_shown": len(shown),
        "n_total": n_total,
    }
