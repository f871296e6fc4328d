"""Check and tidy the feature frame a segmenter is given (numeric columns only).

>>> import pandas as pd
>>> X = pd.DataFrame({"customer_id": ["a", "b"], "n": [1, 2], "vip": [True, False]})
>>> numeric_features(X, None, "KMeansSegmenter").dtypes.tolist()
[dtype('float64'), dtype('float64')]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from segmint.exceptions import ModelError

__all__ = ["as_frame", "numeric_features"]


def _names(cols: Sequence[Any]) -> str:
    return ", ".join(repr(str(c)) for c in cols)


def as_frame(X: Any, owner: str) -> pd.DataFrame:
    """``X`` as a DataFrame indexed by customer_id (a ``customer_id`` column becomes the index)."""
    if not isinstance(X, pd.DataFrame):
        raise ModelError(
            f"{owner} expects a pandas DataFrame of features indexed by customer_id. "
            f"Got {type(X).__name__}.",
            fix="wrap the values: pd.DataFrame(values, index=customer_ids, columns=names).",
        )
    if "customer_id" in X.columns:
        X = X.set_index("customer_id")
    if len(X) == 0:
        raise ModelError(
            f"{owner} got a feature frame with no rows.",
            fix="check the filter that built the features; at least a few customers are needed.",
        )
    if X.index.has_duplicates:
        dup = X.index[X.index.duplicated()].unique()[:3].tolist()
        raise ModelError(
            f"{owner} expects one row per customer, but customer_id {_names(dup)} "
            "appear more than once.",
            fix="aggregate the features to one row per customer before segmenting.",
        )
    return X


def numeric_features(
    X: Any, columns: Sequence[str] | None, owner: str, *, purpose: str = "fit"
) -> pd.DataFrame:
    """The columns to cluster on, as float64; clear errors for text, missing or infinite data.

    ``columns`` picks columns (None: all). Booleans count as numbers (0/1). ``purpose`` is
    ``"fit"`` or ``"predict"`` and only changes the wording of errors.
    """
    X = as_frame(X, owner)
    if columns is not None:
        missing = [c for c in columns if c not in X.columns]
        if missing:
            hint = (
                "pass a frame with the same feature columns as in fit()."
                if purpose == "predict"
                else "fix the names in columns= or add those features."
            )
            raise ModelError(
                f"{owner} needs column(s) {_names(missing)}, which the features lack. "
                f"Available: {_names(X.columns)}.",
                fix=hint,
            )
        X = X[list(columns)]
    bad = [
        c
        for c in X.columns
        if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))
    ]
    if bad:
        kinds = ", ".join(str(X[c].dtype) for c in bad)
        raise ModelError(
            f"{owner} needs numeric features, but column(s) {_names(bad)} are not numeric "
            f"({kinds}).",
            fix="use KPrototypesSegmenter for mixed numeric and categorical data, or choose "
            "numeric columns with columns=[...].",
        )
    if X.shape[1] == 0:
        raise ModelError(
            f"{owner} got a feature frame with no columns.",
            fix="pass at least one numeric feature column.",
        )
    out = X.astype("float64")
    values = out.to_numpy()
    if np.isinf(values).any():
        cols = [
            c
            for c, bad_col in zip(out.columns, np.isinf(values).any(axis=0), strict=True)
            if bad_col
        ]
        raise ModelError(
            f"{owner} cannot use infinite values, found in column(s) {_names(cols)}.",
            fix="replace them (for example ratios divided by zero) with a number or a missing "
            "value before segmenting.",
        )
    return out
