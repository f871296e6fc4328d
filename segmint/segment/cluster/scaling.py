"""Skew-aware scaling, chosen per column and recorded, with the same transform in Ibis.

For every column, on the values seen in ``fit``:

1. missing values are filled with the column's median (the count is recorded and warned);
2. a column with a single distinct value (or none at all) is dropped, with a warning;
3. a transform is chosen from the shape of the distribution:

   * ``log1p``: non-negative and right-skewed (skewness > ``skew_threshold``, default 1):
     ``log(1 + x / c)``; negative values met later are clipped to 0;
   * ``signed-log``: takes negative values and has heavy tails (excess kurtosis >
     ``tail_kurtosis``, default 3, as a Laplace distribution): ``sign(x) · log(1 + |x| / c)``;
   * none otherwise.

   ``c`` is the median of the non-zero absolute values, so the result does not depend on the
   unit (cents or euros);
4. robust scaling of the result: ``(t - median) / IQR``; where the interquartile range is 0
   (mostly one value), the standard deviation is used instead.

``choices_`` records the outcome per column (``"log1p+robust"``, ``"signed-log+std"``,
``"robust"``, ``"dropped (constant)"``, ...), ``params_`` the numbers.

>>> import pandas as pd
>>> X = pd.DataFrame({"revenue": [1, 2, 3, 5, 8, 400.0], "age": [30, 40, 50, 60, 35, 45]})
>>> Scaler().fit(X).choices_
{'revenue': 'log1p+robust', 'age': 'robust'}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from segmint.exceptions import ModelError, NotFittedError
from segmint.segment.cluster._frame import numeric_features

__all__ = ["ColumnScaling", "Scaler"]


@dataclass(frozen=True)
class ColumnScaling:
    """How one column is scaled: ``((transform(fill_null(x)) - center) / scale``."""

    column: str
    transform: str  # "log1p", "signed-log" or "none"
    divisor: float  # c in log(1 + x / c)
    fill: float  # the median that replaces missing values
    missing: int  # missing values seen in fit
    center: float
    scale: float
    scale_kind: str  # "robust" (IQR) or "std"
    skewness: float
    kurtosis: float

    @property
    def choice(self) -> str:
        return (
            self.scale_kind if self.transform == "none" else f"{self.transform}+{self.scale_kind}"
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The transform without centring/scaling (missing values already filled)."""
        if self.transform == "log1p":
            return np.log1p(np.maximum(x, 0.0) / self.divisor)
        if self.transform == "signed-log":
            return np.sign(x) * np.log1p(np.abs(x) / self.divisor)
        return x

    def inverse(self, t: np.ndarray) -> np.ndarray:
        """Original units from transformed (not scaled) values."""
        if self.transform == "log1p":
            return self.divisor * np.expm1(t)
        if self.transform == "signed-log":
            return np.sign(t) * self.divisor * np.expm1(np.abs(t))
        return t

    def ibis_expr(self, column: ir.Value) -> ir.FloatingValue:
        """The whole scaling of one column as an Ibis expression."""
        x = column.cast("float64").fill_null(self.fill)
        if self.transform == "log1p":
            x = (ibis.greatest(x, 0.0) / self.divisor + 1.0).ln()
        elif self.transform == "signed-log":
            x = x.sign() * (x.abs() / self.divisor + 1.0).ln()
        out: ir.FloatingValue = (x - self.center) / self.scale
        return out


class Scaler:
    """Per-column skew-aware transform + robust scaling (see the module docstring).

    >>> import pandas as pd
    >>> X = pd.DataFrame({"x": [0, 1, 2, 3, 100.0], "flag": [1, 1, 1, 1, 1]})
    >>> s = Scaler().fit(X)
    >>> s.features_, s.choices_["flag"]
    (['x'], 'dropped (constant)')
    >>> s.transform(X).round(2)["x"].tolist()
    [-1.3, -0.56, 0.0, 0.44, 6.92]
    """

    def __init__(self, skew_threshold: float = 1.0, tail_kurtosis: float = 3.0) -> None:
        self.skew_threshold = skew_threshold
        self.tail_kurtosis = tail_kurtosis

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame) -> Scaler:
        """Choose and record the scaling of every numeric column of ``X``."""
        X = numeric_features(X, None, "Scaler")
        self.columns_: list[str] = [str(c) for c in X.columns]
        self.choices_: dict[str, str] = {}
        self.warnings_: list[str] = []
        self.scalings_: dict[str, ColumnScaling] = {}
        n = len(X)
        for name in self.columns_:
            values = X[name].to_numpy(dtype="float64")
            scaling, dropped = self._fit_column(name, values)
            if scaling is None:
                self.choices_[name] = f"dropped ({dropped})"
                continue
            self.scalings_[name] = scaling
            self.choices_[name] = scaling.choice
        filled = [
            f"'{c}' {s.missing} ({100 * s.missing / n:.1f} %, median {s.fill:g})"
            for c, s in self.scalings_.items()
            if s.missing
        ]
        if filled:
            self.warnings_.append(
                "Missing values were filled with the column's median: " + ", ".join(filled) + "."
            )
        self.features_: list[str] = list(self.scalings_)
        if not self.features_:
            raise ModelError(
                "Every feature column is constant or empty, so there is nothing to cluster on "
                f"(columns: {', '.join(self.columns_)}).",
                fix="add features that differ between customers.",
            )
        return self

    def _fit_column(self, name: str, x: np.ndarray) -> tuple[ColumnScaling | None, str]:
        seen = x[~np.isnan(x)]
        if seen.size == 0:
            self.warnings_.append(f"Column '{name}' has no values and was left out.")
            return None, "all missing"
        if seen.min() == seen.max():
            self.warnings_.append(
                f"Column '{name}' is constant (every customer has {seen[0]:g}) and was left out."
            )
            return None, "constant"
        skew = float(stats.skew(seen))
        kurt = float(stats.kurtosis(seen))
        nonzero = np.abs(seen[seen != 0])
        divisor = float(np.median(nonzero)) if nonzero.size else 1.0
        if seen.min() >= 0 and skew > self.skew_threshold:
            transform = "log1p"
        elif seen.min() < 0 and kurt > self.tail_kurtosis:
            transform = "signed-log"
        else:
            transform = "none"
        fill = float(np.median(seen))
        draft = ColumnScaling(
            name, transform, divisor, fill, int(x.size - seen.size), 0.0, 1.0, "robust", skew, kurt
        )
        t = draft.forward(np.where(np.isnan(x), fill, x))
        q25, center, q75 = np.percentile(t, [25, 50, 75])
        scale, kind = float(q75 - q25), "robust"
        if scale <= 0:
            scale, kind = float(np.std(t)), "std"
        if scale <= 0:  # only if the transform collapsed distinct values
            self.warnings_.append(f"Column '{name}' is constant after scaling and was left out.")
            return None, "constant"
        fields = {**asdict(draft), "center": float(center), "scale": scale, "scale_kind": kind}
        return ColumnScaling(**fields), ""

    # -- applying --------------------------------------------------------------------------
    def _check(self) -> None:
        if not hasattr(self, "scalings_"):
            raise NotFittedError(
                "This Scaler is not fitted yet.", fix="call Scaler().fit(features) first."
            )

    @property
    def params_(self) -> pd.DataFrame:
        """One row per kept column: transform, divisor, fill, center, scale, ..."""
        self._check()
        rows = [asdict(s) for s in self.scalings_.values()]
        return pd.DataFrame(rows).set_index("column")

    def transform_array(self, X: pd.DataFrame) -> np.ndarray:
        """Scaled values of the kept columns of a checked float frame, as an (n, d) array."""
        self._check()
        out = np.empty((len(X), len(self.features_)), dtype="float64")
        for j, name in enumerate(self.features_):
            out[:, j] = self._scaled(name, X[name].to_numpy(dtype="float64"))
        return out

    def scale_values(self, values: np.ndarray) -> np.ndarray:
        """:meth:`transform_array` of plain values: an (n, d) float array whose columns are
        ``features_`` in order (NaN: missing). Each column goes through the same arithmetic
        as a frame's, so both give the same numbers."""
        self._check()
        out = np.empty((len(values), len(self.features_)), dtype="float64")
        for j, name in enumerate(self.features_):
            out[:, j] = self._scaled(name, np.ascontiguousarray(values[:, j], dtype="float64"))
        return out

    def _scaled(self, name: str, x: np.ndarray) -> np.ndarray:
        """One column's values, missing ones filled, transformed, centred and scaled."""
        s = self.scalings_[name]
        x = np.where(np.isnan(x), s.fill, x)
        out: np.ndarray = (s.forward(x) - s.center) / s.scale
        return out

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The kept columns of ``X``, scaled (same index)."""
        self._check()
        checked = numeric_features(X, self.features_, "Scaler", purpose="predict")
        return pd.DataFrame(
            self.transform_array(checked), index=checked.index, columns=self.features_
        )

    def fit_transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: np.ndarray | pd.DataFrame) -> pd.DataFrame:
        """Original units from scaled values (columns in ``features_`` order)."""
        self._check()
        values = np.asarray(Z, dtype="float64")
        out = {}
        for j, name in enumerate(self.features_):
            s = self.scalings_[name]
            out[name] = s.inverse(values[:, j] * s.scale + s.center)
        index = Z.index if isinstance(Z, pd.DataFrame) else None
        return pd.DataFrame(out, index=index)

    def expressions(self, table: ir.Table) -> dict[str, ir.FloatingValue]:
        """``{column: scaled Ibis expression}`` for the kept columns of ``table``."""
        self._check()
        missing = [c for c in self.features_ if c not in table.columns]
        if missing:
            raise ModelError(
                f"The table lacks column(s) {', '.join(map(repr, missing))} that the scaler "
                "was fitted on.",
                fix="compute the same features in the engine before assigning segments.",
            )
        return {c: s.ibis_expr(table[c]) for c, s in self.scalings_.items()}

    def to_ibis(self, table: ir.Table) -> ir.Table:
        """``table`` with the kept feature columns replaced by their scaled values (in SQL)."""
        return table.mutate(**self.expressions(table))

    def __repr__(self) -> str:
        args: dict[str, Any] = {
            "skew_threshold": self.skew_threshold,
            "tail_kurtosis": self.tail_kurtosis,
        }
        return "Scaler(" + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"
