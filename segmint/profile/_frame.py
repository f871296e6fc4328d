"""The aligned, encoded input every profile step shares (built once, reused everywhere).

``prepare(features, labels)`` keeps the customers present in both, encodes labels as integer
codes (classes sorted as text), picks numeric and categorical columns and builds the numeric
matrix once (missing and infinite values as NaN), with rows grouped by segment for fast
per-segment slices.

>>> import pandas as pd
>>> X = pd.DataFrame({"frequency": [1, 5, 2], "gender": ["f", "m", "f"]}, index=["a", "b", "c"])
>>> P = prepare(X, pd.Series(["B", "A", "B"], index=["a", "b", "c"]))
>>> P.classes, P.codes.tolist(), P.numeric, P.categorical
(['A', 'B'], [1, 0, 1], ['frequency'], ['gender'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segmint.exceptions import ModelError

__all__ = ["MAX_CATEGORIES", "Prepared", "prepare", "sample_positions"]

#: categorical columns with more distinct values than this are skipped (ids, free text)
MAX_CATEGORIES = 50

_ID_COLUMNS = {"customer_id", "segment", "label"}


@dataclass
class Prepared:
    """Features and labels aligned on customer_id, encoded for numpy."""

    X: pd.DataFrame
    codes: np.ndarray
    classes: list[str]
    numeric: list[str]
    categorical: list[str]
    #: float64 matrix of the numeric columns, NaN where missing or infinite
    M: np.ndarray
    #: labeled customers without a feature row
    left_out: int = 0
    _imputed: np.ndarray | None = field(default=None, repr=False)
    _medians: np.ndarray | None = field(default=None, repr=False)
    _groups: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.codes)

    def sizes(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.classes))

    def groups(self) -> list[np.ndarray]:
        """Row positions of each class (ascending), in ``classes`` order."""
        if self._groups is None:
            order = np.argsort(self.codes, kind="stable")
            bounds = np.searchsorted(self.codes[order], np.arange(len(self.classes) + 1))
            self._groups = [order[bounds[i] : bounds[i + 1]] for i in range(len(self.classes))]
        return self._groups

    def labels(self) -> pd.Categorical:
        return pd.Categorical.from_codes(self.codes, categories=self.classes)

    def medians(self) -> np.ndarray:
        """Median of each numeric column over its known values (0 for an all-missing column)."""
        if self._medians is None:
            med = np.zeros(self.M.shape[1])
            for j in range(self.M.shape[1]):
                col = self.M[:, j]
                missing = np.isnan(col)
                if missing.any():  # only columns with gaps need their median
                    known = col[~missing]
                    med[j] = float(np.median(known)) if len(known) else 0.0
            self._medians = med
        return self._medians

    def imputed_rows(self, rows: np.ndarray) -> np.ndarray:
        """``M[rows]`` with NaN replaced by the column median (a new array)."""
        part = self.M[rows]
        return np.where(np.isnan(part), self.medians(), part)

    def imputed(self) -> np.ndarray:
        """``M`` with NaN replaced by the column median (0 for an all-missing column)."""
        if self._imputed is None:
            M = self.M
            gaps = np.flatnonzero(np.isnan(M).any(axis=0)) if M.size else np.zeros(0, int)
            if len(gaps):
                M = M.copy()
                med = self.medians()
                for j in gaps:
                    col = M[:, j]
                    col[np.isnan(col)] = med[j]
            self._imputed = M
        return self._imputed


def _numeric(X: pd.DataFrame) -> list[str]:
    return [
        str(c)
        for c in X.columns
        if str(c) not in _ID_COLUMNS
        and pd.api.types.is_numeric_dtype(X[c])
        and not pd.api.types.is_bool_dtype(X[c])
        and X[c].notna().any()  # a column without any value (not in the source) says nothing
    ]


def _categorical(X: pd.DataFrame) -> list[str]:
    out = []
    for c in X.columns:
        col = X[c]
        is_cat = (
            pd.api.types.is_bool_dtype(col)
            or isinstance(col.dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(col)
            or col.dtype == object
        )
        if str(c) not in _ID_COLUMNS and is_cat and 0 < col.nunique(dropna=True) <= MAX_CATEGORIES:
            out.append(str(c))
    return out


def prepare(features: pd.DataFrame, labels: pd.Series) -> Prepared:
    """Align ``features`` (indexed by customer_id, or with a customer_id column) and labels."""
    if not isinstance(features, pd.DataFrame):
        raise ModelError(
            f"Profiles need the features as a pandas DataFrame. Got {type(features).__name__}.",
            fix="pass ws.table('customer_features').to_pandas() or a frame indexed by customer_id.",
        )
    if "customer_id" in features.columns:
        features = features.set_index("customer_id")
    X, n_labels = features, len(labels)
    if not X.index.equals(labels.index):
        y = labels.reindex(X.index)
        keep = y.notna().to_numpy()
        X, labels = X.loc[keep], y[keep]
    left_out = n_labels - len(X)
    if len(X) == 0:
        raise ModelError(
            f"The features ({len(features)} rows) and the segment labels share no customer_id.",
            fix="index both by customer_id (features.set_index('customer_id')).",
        )
    raw_codes, uniques = pd.factorize(labels)
    if (raw_codes < 0).any():
        raise ModelError(
            f"{int((raw_codes < 0).sum())} customers have an empty segment label.",
            fix="give every customer a label (use 'Unassigned' for customers left out).",
        )
    text = [str(u) for u in uniques]
    classes = sorted(set(text))
    remap = np.array([classes.index(t) for t in text], dtype=np.int64)
    numeric = _numeric(X)
    M = X[numeric].to_numpy(dtype=np.float64, na_value=np.nan) if numeric else np.zeros((len(X), 0))
    if np.isinf(M).any():
        M = np.where(np.isinf(M), np.nan, M)  # a new array: the caller's frame stays as is
    return Prepared(X, remap[raw_codes], classes, numeric, _categorical(X), M, left_out)


def sample_positions(
    codes: np.ndarray, n: int, random_state: int, min_per_segment: int = 50
) -> np.ndarray:
    """Sorted row positions of a seeded random sample of at most ``n`` rows (about, see below).

    Segments that the plain sample leaves with fewer than ``min_per_segment`` rows are topped
    up (all of their rows when they are smaller), so small segments can still be explained.
    """
    total = len(codes)
    if total <= n:
        return np.arange(total)
    rng = np.random.default_rng(random_state)
    chosen = np.zeros(total, dtype=bool)
    chosen[rng.choice(total, size=n, replace=False)] = True
    counts = np.bincount(codes[chosen], minlength=int(codes.max()) + 1)
    for code in np.flatnonzero(counts < min_per_segment):
        rows = np.flatnonzero(codes == code)
        chosen[rng.choice(rows, size=min(len(rows), min_per_segment), replace=False)] = True
    return np.flatnonzero(chosen)
