"""RFM segments (M7): scores 1–``bins`` for recency, frequency and monetary value, then names.

Scoring rule (``docs/rfm.md``): among the customers with a purchase (frequency > 0), a
customer's score on a column is ``1 + floor(bins × w / n)``, where ``w`` is the number of
scored customers with a strictly *worse* value (a larger recency; a smaller frequency or
monetary value) and ``n`` the number scored. Equal values always share a score, and a column
with few distinct values (most customers bought once) never fails: scores are simply skipped.
The fitted cut points (``thresholds_``) score new customers in :meth:`RFMSegmenter.predict`,
and in the engine (DuckDB, Spark) in :meth:`RFMSegmenter.to_ibis`, with the same labels.

Names come from a map of regular expressions matched in order (first match wins) against
the two-digit code R·FM, where FM = (F + M) / 2 rounded half up (``DEFAULT_SEGMENT_MAP``).

>>> import pandas as pd
>>> X = pd.DataFrame(
...     {"recency_days": [1, 5, 30, 90, 300], "frequency": [9, 4, 2, 1, 1],
...      "monetary_total": [900.0, 300.0, 80.0, 20.0, 15.0]},
...     index=pd.Index(["a", "b", "c", "d", "e"], name="customer_id"))
>>> model = RFMSegmenter().fit(X)
>>> model.scores_["rfm"].tolist()
['555', '444', '333', '212', '111']
>>> model.labels_.tolist()
['Champions', 'Champions', 'Need Attention', 'Hibernating', 'Lost']
"""

from __future__ import annotations

import math
import re
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.exceptions import ModelError
from segmint.segment._cuts import compare, require_columns
from segmint.segment.base import BaseSegmenter, Segmentation

__all__ = ["DEFAULT_SEGMENT_MAP", "NO_PURCHASE", "OTHER", "RFMSegmenter"]

#: R·FM code pattern → segment name, evaluated in order (written for bins = 5)
DEFAULT_SEGMENT_MAP: dict[str, str] = {
    "[45][45]": "Champions",
    "43|3[45]": "Loyal",
    "5[23]|42": "Potential Loyalist",
    "51": "New",
    "41": "Promising",
    "3[23]": "Need Attention",
    "[23]1": "About to Sleep",
    "2[34]|13": "At Risk",
    "25|1[45]": "Can't Lose",
    "[12]2": "Hibernating",
    "11": "Lost",
}
#: label of customers with frequency 0 (or missing): they have no recency to score
NO_PURCHASE = "No purchase"
#: label of scored customers whose code matches no pattern of a user's map
OTHER = "Other"


def _edges(better: np.ndarray, bins: int) -> list[float]:
    """Cut points on a "higher is better" scale: edge s-2 is the smallest observed value with
    at least (s-1)/bins of the customers strictly below it (NaN when no value reaches s)."""
    uniq, counts = np.unique(better, return_counts=True)
    below = np.concatenate(([0], np.cumsum(counts)[:-1]))
    n = len(better)
    edges: list[float] = []
    for s in range(2, bins + 1):
        hit = np.flatnonzero(bins * below >= (s - 1) * n)
        edges.append(float(uniq[hit[0]]) if len(hit) else math.nan)
    return edges


def _fm(f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """FM score: the mean of F and M rounded half up."""
    return (f + m + 1) // 2


class RFMSegmenter(BaseSegmenter):
    """RFM scores and named segments (Champions, Loyal, …, Lost) from per-customer features.

    Parameters are stored unchanged and checked in :meth:`fit`: ``bins`` (int 2–9; the
    default map is written for 5), ``segment_map`` (regex on the R·FM code → name, in order;
    ``None`` uses :data:`DEFAULT_SEGMENT_MAP`) and the three column names. ``X`` is indexed by
    ``customer_id`` (a ``customer_id`` column is used as the index when present).

    Fitted attributes: ``labels_`` (segment name per customer), ``scores_`` (columns r, f, m,
    fm and the code ``rfm`` such as ``"545"``; 0 / ``"000"`` for customers without purchase),
    ``thresholds_`` (cut points per score), ``segment_map_``, ``n_scored_`` and ``warnings_``.
    """

    def __init__(
        self,
        bins: int = 5,
        *,
        segment_map: dict[str, str] | None = None,
        recency: str = "recency_days",
        frequency: str = "frequency",
        monetary: str = "monetary_total",
    ) -> None:
        self.bins = bins
        self.segment_map = segment_map
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary

    # ----------------------------------------------------------------- checks
    def _checked_map(self) -> dict[str, str]:
        bins = self.bins
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 2 <= bins <= 9:
            raise ModelError(
                f"The 'bins' parameter of RFMSegmenter must be an int from 2 to 9. Got {bins!r}.",
                fix="use RFMSegmenter(bins=5) for quintile scores.",
            )
        if self.segment_map is None:
            if bins != 5:
                raise ModelError(
                    f"The default RFM segment map is written for bins=5. Got bins={bins}.",
                    fix="pass segment_map={pattern: name} written for your scores, or bins=5.",
                )
            return dict(DEFAULT_SEGMENT_MAP)
        if not isinstance(self.segment_map, dict) or not self.segment_map:
            raise ModelError(
                "The 'segment_map' parameter of RFMSegmenter must be a non-empty dict of "
                f"regex pattern → segment name. Got {self.segment_map!r}.",
                fix='pass e.g. {"[45][45]": "Champions", ".*": "Everyone else"}.',
            )
        for pattern, name in self.segment_map.items():
            try:
                re.compile(str(pattern))
            except re.error as exc:
                raise ModelError(
                    f"Pattern {pattern!r} of segment_map is not a valid regular expression "
                    f"({exc}).",
                    fix="patterns are matched against the two-digit code R·FM, e.g. '5[45]'.",
                ) from exc
            if not isinstance(name, str) or not name.strip():
                raise ModelError(
                    f"Pattern {pattern!r} of segment_map must map to a segment name (text). "
                    f"Got {name!r}.",
                    fix="give every pattern a non-empty name.",
                )
        return {str(p): n for p, n in self.segment_map.items()}

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise ModelError(
                f"RFMSegmenter needs a pandas DataFrame of features. Got {type(X).__name__}.",
                fix="pass ws.features().to_pandas().",
            )
        if "customer_id" in X.columns:
            X = X.set_index("customer_id")
        cols = [self.recency, self.frequency, self.monetary]
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise ModelError(
                f"RFMSegmenter needs the columns {', '.join(map(repr, missing))}. "
                f"Got: {', '.join(map(str, X.columns)) or 'no columns'}.",
                fix="compute features first (ws.features()) or name your columns with "
                "recency=, frequency=, monetary=.",
            )
        out = pd.DataFrame(index=X.index)
        for c in cols:
            try:
                out[c] = pd.to_numeric(X[c], errors="raise").astype(float)
            except (TypeError, ValueError) as exc:
                raise ModelError(
                    f"Column {c!r} must be numeric for RFM scores. Got dtype {X[c].dtype}.",
                    fix="convert the column to numbers (clean the data) before fitting.",
                ) from exc
        if out.index.has_duplicates:
            dup = out.index[out.index.duplicated()][0]
            raise ModelError(
                f"RFM features need one row per customer. Customer {dup!r} appears twice.",
                fix="pass the per-customer feature table (ws.features()).",
            )
        buyers = self._buyers(out)
        gaps = out.loc[buyers, [self.recency, self.monetary]].isna().any(axis=1)
        if gaps.any():
            raise ModelError(
                f"{int(gaps.sum())} customers with purchases have no {self.recency} or "
                f"{self.monetary} (first: {gaps.index[gaps.to_numpy()][0]!r}).",
                fix="fill or drop those rows; only customers with frequency 0 may lack them.",
            )
        return out

    def _buyers(self, frame: pd.DataFrame) -> np.ndarray:
        freq = frame[self.frequency].to_numpy(dtype=float)
        return np.asarray(np.nan_to_num(freq, nan=0.0) > 0)

    # ------------------------------------------------------------ fit/predict
    def fit(self, X: pd.DataFrame, y: Any = None) -> RFMSegmenter:
        """Learn the cut points from ``X`` and label every customer; return ``self``."""
        seg_map = self._checked_map()
        frame = self._frame(X)
        buyers = self._buyers(frame)
        n = int(buyers.sum())
        if n == 0:
            raise ModelError(
                f"RFM needs customers with purchases; all {len(frame)} have {self.frequency} 0.",
                fix="check the orders table (statuses, amounts) and the as-of date.",
            )
        bought = frame[buyers]
        self.thresholds_: dict[str, list[float]] = {
            "r": [-e for e in _edges(-bought[self.recency].to_numpy(), self.bins)],
            "f": _edges(bought[self.frequency].to_numpy(), self.bins),
            "m": _edges(bought[self.monetary].to_numpy(), self.bins),
        }
        self.segment_map_ = seg_map
        self.n_scored_ = n
        self.scores_ = self._score(frame)
        self.labels_ = self._name(self.scores_)
        self.warnings_ = self._warnings(bought)
        return self

    def score(self, X: pd.DataFrame) -> pd.DataFrame:
        """R, F, M, FM scores and the code ``rfm`` of the customers of ``X`` (fitted cut points).

        A customer with the value of a fitted cut point gets that score; a value between two
        training values gets the score of the training value just below it (above, for
        recency). Customers without purchase get 0 and ``"000"``.
        """
        self._check_fitted()
        return self._score(self._frame(X))

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Segment names for the customers of ``X``, scored with the fitted cut points."""
        return self._name(self.score(X))

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        buyers = self._buyers(frame)
        t = {k: np.asarray(v, dtype=float)[None, :] for k, v in self.thresholds_.items()}
        with np.errstate(invalid="ignore"):
            rec = frame[self.recency].to_numpy()[:, None]
            r = 1 + (rec <= t["r"]).sum(axis=1)
            f = 1 + (frame[self.frequency].to_numpy()[:, None] >= t["f"]).sum(axis=1)
            m = 1 + (frame[self.monetary].to_numpy()[:, None] >= t["m"]).sum(axis=1)
        scores = pd.DataFrame(
            {"r": np.where(buyers, r, 0), "f": np.where(buyers, f, 0), "m": np.where(buyers, m, 0)},
            index=frame.index,
        )
        scores["fm"] = np.where(buyers, _fm(scores.f.to_numpy(), scores.m.to_numpy()), 0)
        code = scores.r.to_numpy() * 100 + scores.f.to_numpy() * 10 + scores.m.to_numpy()
        scores["rfm"] = np.array([f"{c:03d}" for c in range(1000)], dtype=object)[code]
        return scores

    def _lookup(self) -> np.ndarray:
        """Segment name by code 10·R + FM (R = 0: no purchase)."""
        compiled = [(re.compile(p), name) for p, name in self.segment_map_.items()]
        lookup = np.full(100, NO_PURCHASE, dtype=object)
        for key in range(11, 100):
            text = f"{key:02d}"
            if "0" not in text:
                lookup[key] = next((n for rx, n in compiled if rx.fullmatch(text)), OTHER)
        return lookup

    def _name(self, scores: pd.DataFrame) -> pd.Series:
        codes = scores.r.to_numpy() * 10 + scores.fm.to_numpy()
        return pd.Series(self._lookup()[codes], index=scores.index, name="segment", dtype=object)

    def to_ibis(self, table: ir.Table, column: str = "segment") -> ir.Table:
        """``table`` plus a ``column`` with every row's segment name, computed by the engine.

        The fitted cut points become CASE expressions making :meth:`predict`'s comparisons (a
        value at a cut point gets that score), so DuckDB, Spark, ... give every customer the
        label ``predict`` gives. Rows with frequency 0, NULL or NaN are ``No purchase``. Where
        ``predict`` refuses a buyer without recency or monetary value, the engine (which cannot
        raise per row) scores that value 1.

        >>> import ibis, pandas as pd
        >>> X = pd.DataFrame({"customer_id": ["a", "b", "c"], "recency_days": [3, 40, None],
        ...                   "frequency": [5, 1, 0], "monetary_total": [500.0, 20.0, None]})
        >>> model = RFMSegmenter(bins=2, segment_map={"22": "Best", ".*": "Rest"}).fit(X)
        >>> out = model.to_ibis(ibis.memtable(X)).to_pandas()
        >>> out.segment.tolist() == model.predict(X).tolist() == ["Best", "Rest", "No purchase"]
        True
        """
        self._check_fitted()
        require_columns(table, [self.recency, self.frequency, self.monetary], "RFMSegmenter")
        cuts = self.thresholds_

        def score(col: str, op: str, edges: list[float]) -> ir.IntegerValue:
            hits = [compare(table[col], op, e).ifelse(1, 0) for e in edges]
            return sum(hits, ibis.literal(1, type="int64"))

        buyer = compare(table[self.frequency], ">", 0.0)
        f, m = score(self.frequency, ">=", cuts["f"]), score(self.monetary, ">=", cuts["m"])
        r, fm = "__segmint_r", "__segmint_fm"
        t = table.mutate(
            **{
                r: buyer.ifelse(score(self.recency, "<=", cuts["r"]), 0),
                fm: buyer.ifelse((f + m + 1) // 2, 0),
            }
        )
        code = t[r] * 10 + t[fm]
        lookup = self._lookup()
        reachable = [10 * i + j for i in range(1, self.bins + 1) for j in range(1, self.bins + 1)]
        names = dict.fromkeys(lookup[reachable])  # first-seen order, for a stable SQL text
        branches = [(code.isin([c for c in reachable if lookup[c] == n]), n) for n in names]
        return t.mutate(**{column: ibis.cases(*branches, else_=NO_PURCHASE)}).drop(r, fm)

    def _warnings(self, bought: pd.DataFrame) -> list[str]:
        out: list[str] = []
        for letter, col in (("R", self.recency), ("F", self.frequency), ("M", self.monetary)):
            values = bought[col]
            if values.nunique() == 1:
                out.append(
                    f"All {len(values)} scored customers have the same {col} ({values.iloc[0]:g}),"
                    f" so every customer gets {letter} = 1; {letter} does not separate anyone."
                )
        if self.n_scored_ < self.bins:
            out.append(
                f"Only {self.n_scored_} customers were scored; with fewer than {self.bins} the "
                f"top score {self.bins} cannot be reached."
            )
        other = int((self.labels_ == OTHER).sum())
        if other:
            out.append(
                f"{other} customers match no pattern of the segment map and are labeled {OTHER!r}."
            )
        return out

    # ------------------------------------------------------------ the result
    def segmentation(self, name: str) -> Segmentation:
        """The fitted RFM segments as a :class:`Segmentation` (labels are segment names)."""
        self._check_fitted()
        labels = self.labels_.copy()
        codes = self.scores_.r.to_numpy() * 10 + self.scores_.fm.to_numpy()
        scored = codes[(self.scores_.r.to_numpy() > 0) & (self.scores_.fm.to_numpy() > 0)]
        values, counts = np.unique(scored, return_counts=True)
        order = np.lexsort((values, -counts))  # most customers first, as value_counts
        r_fm_codes = {str(values[i]): int(counts[i]) for i in order}
        matched = labels.value_counts()
        rules = []
        for pattern, seg in self.segment_map_.items():
            cells = [
                f"{r}{fm}"
                for r in range(self.bins, 0, -1)
                for fm in range(self.bins, 0, -1)
                if re.fullmatch(pattern, f"{r}{fm}")
            ]
            rule = f"R·FM code matches {pattern} ({', '.join(cells) or 'no code'})"
            rules.append({"name": seg, "rule": rule, "matched": int(matched.get(seg, 0))})
        details: dict[str, Any] = {
            "bins": self.bins,
            "score_rule": "score = 1 + floor(bins × customers with a strictly worse value / "
            "customers scored); FM = (F + M) / 2 rounded half up",
            "thresholds": {
                "r": {"column": self.recency, "score_if_at_most": self.thresholds_["r"]},
                "f": {"column": self.frequency, "score_if_at_least": self.thresholds_["f"]},
                "m": {"column": self.monetary, "score_if_at_least": self.thresholds_["m"]},
            },
            "segment_map": dict(self.segment_map_),
            "rules": rules,
            "r_fm_codes": r_fm_codes,
            "n_scored": self.n_scored_,
            "no_purchase": int((labels == NO_PURCHASE).sum()),
        }
        return Segmentation(
            name=name,
            method="rfm",
            labels=labels,
            features=[self.recency, self.frequency, self.monetary],
            details=details,
            names={label: label for label in labels.unique()},
            warnings=list(self.warnings_),
        )
