"""k-prototypes: segments from numeric and categorical features together (M6).

Huang's k-prototypes (1997, 1998), written vectorized with numpy. The dissimilarity of a
customer ``x`` to a prototype ``c`` is

    d(x, c) = Σ_numeric (z_j − c_j)²  +  γ · #{categorical j : x_j ≠ c_j}

where ``z`` are the numeric columns standardized with the mean and standard deviation
(ddof = 0) seen in ``fit``. Prototypes are cluster means (numeric) and modes (categorical).
``cost_`` is Σ d(x, prototype of x) over all customers — the definition of ``cost_`` in the
``kmodes`` package. The default ``γ`` is Huang's rule as ``kmodes`` applies it, computed
after scaling: 0.5 × the mean standard deviation of the standardized numeric columns, which
is 0.5 unless some column is constant (1.0 when there are no numeric columns).

* **Initialization** (``init="robust"``): k-means++ seeding on the mixed dissimilarity
  (greedy, 2 + ⌊ln k⌋ candidates per step, chosen with probability ∝ d to the nearest
  prototype so far). Rows equal to a chosen prototype have d = 0 and are never drawn again,
  so the k prototypes are distinct rows; if the data has fewer than k distinct rows a
  :class:`~segmint.exceptions.ModelError` says so. ``init="random"`` draws k distinct rows
  uniformly; a DataFrame of k rows (same columns as ``X``) gives the starting prototypes.
* **Iterations**: Lloyd steps (assign every customer, then recompute means and modes) until
  no label changes or ``max_iter``. An empty cluster is reseeded at the customer farthest
  from its own prototype. The best of ``n_init`` seeded runs (lowest cost) is kept. The steps
  run in :mod:`segmint.segment.cluster._lloyd`: rows in blocks (small work arrays at any
  size), categorical columns as combined codes, and bounds from the triangle inequality that
  skip the rows whose prototype cannot have changed, with the labels of plain Lloyd steps.
* **Large data**: with more than ``sample_size`` rows, the ``n_init`` runs are made on a
  random sample of ``sample_size`` rows and the best one is refined by Lloyd steps on all
  rows (``n_iter_`` counts those). ``sample_size=None`` runs everything on all rows.
* **Automatic k** (``k="auto"``): every k in ``k_range`` (inclusive) is fitted on the sample;
  ``k_scores_`` holds its cost and its mean silhouette on at most 4,000 of those rows, with
  distance √d (the Euclidean distance after embedding each category as a one-hot vector
  scaled by √(γ/2), so a metric). The k with the highest silhouette wins (ties: the smaller k).
* **Missing values**: a missing numeric value is an error in ``fit`` (impute first); in
  ``predict`` and ``to_ibis`` that customer's segment is ``Unassigned``. A missing
  categorical value is a category of its own: it matches a prototype whose mode is missing.
  A category not seen in ``fit`` mismatches every prototype.
* By default the categorical columns are the non-numeric ones and booleans.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame(
...     {"spend": np.r_[rng.normal(20, 2, 60), rng.normal(80, 2, 40)],
...      "channel": ["web"] * 60 + ["store"] * 40},
...     index=pd.Index([f"c{i}" for i in range(100)], name="customer_id"))
>>> model = KPrototypesSegmenter(k=2).fit(X)
>>> model.labels_.value_counts().to_dict()
{'1': 60, '2': 40}
>>> model.centers_["channel"].tolist(), model.centers_["spend"].round(-1).tolist()
(['web', 'store'], [20.0, 80.0])
>>> new = pd.DataFrame({"spend": [78.0], "channel": ["app"]}, index=["x"])
>>> model.predict(new).tolist()
['2']
>>> import ibis  # the same assignment as SQL, run by the engine (DuckDB here)
>>> model.to_ibis(ibis.memtable(new.reset_index(names="customer_id"))).execute().to_dict("list")
{'customer_id': ['x'], 'spend': [78.0], 'channel': ['app'], 'segment': ['2']}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segmint.exceptions import ModelError
from segmint.segment.base import UNASSIGNED, BaseSegmenter, Segmentation
from segmint.segment.cluster._frame import as_frame
from segmint.segment.cluster._lloyd import Data as _Data
from segmint.segment.cluster._lloyd import Run as _Run
from segmint.segment.cluster._lloyd import lloyd as _lloyd
from segmint.segment.cluster._params import check_choice, check_int, check_k_range, check_seed

__all__ = ["KPrototypesSegmenter"]

_OWNER = "KPrototypesSegmenter"
_BLOCK = 65_536  # rows per block in predict: bounds memory at any n
_SILHOUETTE_ROWS = 4_000  # rows scored by the silhouette in k="auto"


def _mismatches(codes: np.ndarray, ccat: np.ndarray) -> np.ndarray:
    """Number of categorical mismatches of every row with every prototype (rows × k).

    One broadcast comparison per categorical column; faster than one (rows × k × m) compare
    followed by a sum over the short last axis.
    """
    out = np.zeros((len(codes), len(ccat)), dtype=np.int32)
    for j in range(codes.shape[1]):
        out += codes[:, j, None] != ccat[None, :, j]
    return out


def _distances(data: _Data, cnum: np.ndarray, ccat: np.ndarray, gamma: float) -> np.ndarray:
    """Exact dissimilarities (n × k), summed column by column in the order ``to_ibis`` uses."""
    out = np.empty((data.n, len(ccat)))
    for s in range(0, data.n, _BLOCK):
        e = min(data.n, s + _BLOCK)
        num = np.zeros((e - s, len(ccat)))
        for j in range(data.Z.shape[1]):
            t = data.Z[s:e, j, None] - cnum[None, :, j]
            num += t * t
        out[s:e] = num + gamma * _mismatches(data.codes[s:e], ccat)
    return out


class _TooFewDistinct(Exception):
    def __init__(self, distinct: int) -> None:
        self.distinct = distinct


def _to_row(data: _Data, i: int, gamma: float) -> np.ndarray:
    diff = data.Z - data.Z[i]
    return (diff * diff).sum(axis=1) + gamma * (data.codes != data.codes[i]).sum(axis=1)


def _seed(
    data: _Data, k: int, gamma: float, rng: np.random.Generator, robust: bool
) -> tuple[np.ndarray, np.ndarray]:
    """k distinct rows as prototypes: greedy k-means++ on d (``robust``) or uniform."""
    chosen = [int(rng.integers(data.n))]
    closest = _to_row(data, chosen[0], gamma)
    trials = 2 + int(math.log(k)) if robust else 1
    for _ in range(1, k):
        weight = closest if robust else (closest > 0).astype(float)
        cum = np.cumsum(weight)
        if cum[-1] <= 0:  # every row equals a chosen prototype
            raise _TooFewDistinct(len(chosen))
        picks = np.searchsorted(cum, rng.random(trials) * cum[-1], side="right")
        best: tuple[float, int, np.ndarray] | None = None
        for i in np.minimum(picks, data.n - 1):
            i = int(i) if weight[i] > 0 else int(np.flatnonzero(weight)[-1])
            new = np.minimum(closest, _to_row(data, i, gamma))
            if best is None or new.sum() < best[0]:
                best = (float(new.sum()), i, new)
        assert best is not None
        chosen.append(best[1])
        closest = best[2]
    rows = np.array(chosen)
    return data.Z[rows].copy(), data.codes[rows].copy()


def _best_of(
    data: _Data, k: int, gamma: float, model: KPrototypesSegmenter, rng: np.random.Generator
) -> _Run:
    runs = []
    for _ in range(model.n_init):
        cnum, ccat = _seed(data, k, gamma, rng, model.init == "robust")
        runs.append(_lloyd(data, cnum, ccat, gamma, model.max_iter))
    return min(runs, key=lambda r: r.cost)


def _sample(data: _Data, size: int | None, rng: np.random.Generator) -> _Data:
    if size is None or data.n <= size:
        return data
    return data.take(np.sort(rng.choice(data.n, size, replace=False)))


def _silhouettes(data: _Data, gamma: float, labelings: dict[int, np.ndarray]) -> list[float]:
    """Mean silhouette of each labeling, distance √d (see the module docstring)."""
    onehots = [np.eye(q)[data.codes[:, j]] for j, q in enumerate(data.ncats)]
    emb = np.hstack([data.Z, math.sqrt(gamma / 2.0) * np.hstack(onehots)])
    sq = (emb * emb).sum(axis=1)
    member = np.hstack([np.eye(k)[lab] for k, lab in labelings.items()])
    sums = np.empty((data.n, member.shape[1]))
    for s in range(0, data.n, 1024):
        e = min(data.n, s + 1024)
        d2 = sq[s:e, None] + sq[None, :] - 2.0 * emb[s:e] @ emb.T
        d2[np.arange(e - s), np.arange(s, e)] = 0.0
        sums[s:e] = np.sqrt(np.maximum(d2, 0.0)) @ member
    out, offset, rows = [], 0, np.arange(data.n)
    for k, lab in labelings.items():
        block, counts = sums[:, offset : offset + k], np.bincount(lab, minlength=k)
        offset += k
        own = counts[lab]
        a = block[rows, lab] / np.maximum(own - 1, 1)
        other = block / np.maximum(counts, 1)
        other[rows, lab] = np.inf
        other[:, counts == 0] = np.inf
        b = other.min(axis=1)
        sil = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
        out.append(float(sil.mean()))
    return out


# -- the estimator ---------------------------------------------------------------------------
class KPrototypesSegmenter(BaseSegmenter):
    """k-prototypes on mixed numeric + categorical features (see the module docstring).

    Fitted state: ``labels_`` ("1" … "k", "1" the largest segment, index customer_id),
    ``centers_`` (numeric means in original units, categorical modes), ``cost_``,
    ``n_iter_``, ``k_``, ``k_scores_`` (cost and silhouette per k for ``k="auto"``, else
    None), ``gamma_``, ``numeric_``, ``categorical_``, ``mean_``, ``scale_``, ``categories_``.

    >>> import pandas as pd
    >>> X = pd.DataFrame({"age": [20, 21, 22, 23, 60, 61], "city": list("aaaabb")})
    >>> KPrototypesSegmenter(k=2).fit(X).centers_.to_dict("list")
    {'age': [21.5, 60.5], 'city': ['a', 'b']}
    """

    def __init__(
        self,
        k: int | str = 5,
        *,
        categorical: Sequence[str] | None = None,
        gamma: float | None = None,
        n_init: int = 4,
        max_iter: int = 100,
        init: str | pd.DataFrame = "robust",
        k_range: tuple[int, int] = (2, 10),
        sample_size: int | None = 20_000,
        random_state: int | None = 0,
    ) -> None:
        self.k = k
        self.categorical = categorical
        self.gamma = gamma
        self.n_init = n_init
        self.max_iter = max_iter
        self.init = init
        self.k_range = k_range
        self.sample_size = sample_size
        self.random_state = random_state

    # -- checks and encoding ---------------------------------------------------------------
    def _check_params(self) -> None:
        if not (isinstance(self.k, str) and self.k == "auto"):
            check_int(_OWNER, "k", self.k, minimum=2, also="'auto'")
        check_int(_OWNER, "n_init", self.n_init, minimum=1)
        check_int(_OWNER, "max_iter", self.max_iter, minimum=1)
        check_int(_OWNER, "sample_size", self.sample_size, minimum=2, allow_none=True)
        check_seed(_OWNER, self.random_state)
        check_k_range(_OWNER, self.k_range)
        if not isinstance(self.init, pd.DataFrame):
            check_choice(_OWNER, "init", self.init, ["robust", "random"])
        elif self.k == "auto" or len(self.init) != self.k:
            raise ModelError(
                f"The 'init' prototypes of {_OWNER} must have one row per segment (k = "
                f"{self.k!r}). Got {len(self.init)} row(s).",
                fix="pass k equal to the number of rows of init, or init='robust'.",
            )
        g = self.gamma
        if g is not None and not (
            isinstance(g, int | float) and not isinstance(g, bool) and math.isfinite(g) and g > 0
        ):
            raise ModelError(
                f"The 'gamma' parameter of {_OWNER} must be a number > 0 or None. Got {g!r}.",
                fix="leave gamma=None for Huang's default, or pass a positive weight.",
            )
        cats = self.categorical
        if cats is not None and (
            isinstance(cats, str) or not all(isinstance(c, str) for c in cats)
        ):
            raise ModelError(
                f"The 'categorical' parameter of {_OWNER} must be None or a list of column "
                f"names. Got {cats!r}.",
                fix="pass for example categorical=['channel', 'region'].",
            )

    def _split(self, X: pd.DataFrame) -> tuple[list[str], list[str]]:
        cols = list(X.columns)
        if self.categorical is None:
            cats = [
                c
                for c in cols
                if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
            ]
        else:
            cats = list(self.categorical)
            absent = [c for c in cats if c not in cols]
            if absent:
                raise ModelError(
                    f"{_OWNER}: categorical column(s) {absent} are not in the features. "
                    f"Available: {cols}.",
                    fix="fix the names in categorical=[...].",
                )
        nums = [c for c in cols if c not in cats]
        text = [c for c in nums if not pd.api.types.is_numeric_dtype(X[c])]
        if text:
            raise ModelError(
                f"{_OWNER}: column(s) {text} are not numeric but are not listed in "
                f"categorical={list(cats)}.",
                fix="add them to categorical=[...] (or leave categorical=None).",
            )
        if not cats:
            raise ModelError(
                f"{_OWNER} clusters mixed data, but none of the columns {cols} is categorical "
                "(text, category or boolean).",
                fix="use KMeansSegmenter for numeric-only features, or name the categorical "
                "columns with categorical=[...].",
            )
        return nums, cats

    def _numeric(self, X: pd.DataFrame, purpose: str) -> np.ndarray:
        """Standardized numeric values; a missing value is an error in fit and stays NaN
        otherwise (the row becomes Unassigned); an infinite value is always an error."""
        values = X[self.numeric_].to_numpy(dtype="float64", na_value=np.nan)
        bad = np.isinf(values) | (np.isnan(values) if purpose != "predict" else False)
        if bad.any():
            counts = {c: int(n) for c, n in zip(self.numeric_, bad.sum(axis=0), strict=True) if n}
            raise ModelError(
                f"{_OWNER} needs finite numeric features{' without gaps' * (purpose != 'predict')} "
                f"in {purpose}(), but found missing or infinite values (per column: {counts}).",
                fix="impute them (for example with the median) or drop those customers; "
                "missing categorical values are fine (they form their own category).",
            )
        return np.ascontiguousarray((values - self.mean_) / self.scale_)  # rows contiguous

    def _codes(self, X: pd.DataFrame) -> np.ndarray:
        codes = np.empty((len(X), len(self.categorical_)), dtype=np.int32)
        for j, c in enumerate(self.categorical_):
            known = self.categories_[c]
            found, uniques = pd.factorize(X[c])  # missing → −1
            lookup = pd.Index(known, dtype=object).get_indexer(pd.Index(uniques, dtype=object))
            missing = len(known) if self._has_missing[j] else -1  # not seen in fit: −1
            codes[:, j] = np.append(lookup, missing)[found]  # unseen → −1; missing: found = −1
        return codes

    def _encode(self, X: pd.DataFrame, purpose: str) -> _Data:
        missing = [c for c in self.numeric_ + self.categorical_ if c not in X.columns]
        if missing:
            raise ModelError(
                f"{_OWNER}.{purpose}() needs the columns it was fitted on; {missing} are missing.",
                fix="pass a frame with the same feature columns as in fit().",
            )
        ncats = [
            len(v) + int(m)
            for v, m in zip(self.categories_.values(), self._has_missing, strict=True)
        ]
        return _Data(self._numeric(X, purpose), self._codes(X), ncats)

    def _learn_encoding(self, X: pd.DataFrame) -> None:
        self.numeric_, self.categorical_ = self._split(X)
        raw = X[self.numeric_].to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            self.mean_ = np.nanmean(raw, axis=0) if raw.size else np.zeros(0)
            std = np.nanstd(raw, axis=0) if raw.size else np.zeros(0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.categories_: dict[str, list[Any]] = {}
        self._has_missing: list[bool] = []
        for c in self.categorical_:
            try:
                uniques = pd.unique(X[c].dropna()).tolist()
                uniques.sort()
            except TypeError:  # mixed types: keep order of appearance
                pass
            self.categories_[c] = [u.item() if hasattr(u, "item") else u for u in uniques]
            self._has_missing.append(bool(X[c].isna().any()))
        if self.gamma is not None:
            self.gamma_ = float(self.gamma)
        else:
            self.gamma_ = 0.5 * float(np.mean(std / self.scale_)) if len(std) else 1.0

    # -- fit / predict ---------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> KPrototypesSegmenter:
        """Learn the prototypes from ``X`` (one row per customer); return ``self``."""
        self._check_params()
        X = as_frame(X, _OWNER).rename(columns=str)
        self._learn_encoding(X)
        data = self._encode(X, "fit")
        rng = np.random.default_rng(self.random_state)
        self.k_scores_: pd.DataFrame | None = None
        # one BLAS thread: the products are thin (rows × p × k), where threads only add
        # overhead, badly so on a busy machine (scikit-learn's k-means does the same)
        with threadpool_limits(limits=1, user_api="blas"):
            if isinstance(self.init, pd.DataFrame):
                start = self._encode(as_frame(self.init, _OWNER).rename(columns=str), "init")
                run = _lloyd(data, start.Z, start.codes, self.gamma_, self.max_iter)
            elif self.k == "auto":
                run = self._fit_auto(data, rng)
            else:
                run = self._fit_k(data, int(self.k), rng)
        self._finish(X, run)
        return self

    def _fit_k(self, data: _Data, k: int, rng: np.random.Generator, sample: bool = True) -> _Run:
        sub = _sample(data, self.sample_size if sample else None, rng)
        try:
            best = _best_of(sub, k, self.gamma_, self, rng)
        except _TooFewDistinct as err:
            if sub is data:
                raise self._too_few(k, err.distinct, data.n) from None
            return self._fit_k(data, k, rng, sample=False)  # the sample had too few
        if sub is data:
            return best
        return _lloyd(data, best.cnum, best.ccat, self.gamma_, self.max_iter)

    @staticmethod
    def _too_few(k: int, distinct: int, n: int) -> ModelError:
        return ModelError(
            f"{_OWNER} needs at least k = {k} distinct customers to place {k} distinct "
            f"prototypes, but the features have only {distinct} distinct row(s) among {n}.",
            fix=f"choose k ≤ {distinct}, or add features that tell these customers apart.",
        )

    def _fit_auto(self, data: _Data, rng: np.random.Generator) -> _Run:
        low, high = check_k_range(_OWNER, self.k_range)
        sub = _sample(data, self.sample_size, rng)
        if high >= sub.n:
            raise ModelError(
                f"The 'k_range' of {_OWNER} must stay below the number of customers used "
                f"({sub.n}). Got {self.k_range!r}.",
                fix=f"pass k_range with an upper end below {sub.n}.",
            )
        runs: dict[int, _Run] = {}
        for k in range(low, high + 1):
            try:
                runs[k] = _best_of(sub, k, self.gamma_, self, rng)
            except _TooFewDistinct as err:
                raise self._too_few(k, err.distinct, sub.n) from None
        rows = np.sort(rng.choice(sub.n, min(sub.n, _SILHOUETTE_ROWS), replace=False))
        sil = _silhouettes(
            sub.take(rows), self.gamma_, {k: r.labels[rows] for k, r in runs.items()}
        )
        ks = list(runs)
        self.k_scores_ = pd.DataFrame(
            {"cost": [runs[k].cost for k in ks], "silhouette": sil},
            index=pd.Index(ks, name="k"),
        )
        best = runs[ks[int(np.argmax(sil))]]
        if sub is data:
            return best
        return _lloyd(data, best.cnum, best.ccat, self.gamma_, self.max_iter)

    def _finish(self, X: pd.DataFrame, run: _Run) -> None:
        k = len(run.ccat)
        counts = np.bincount(run.labels, minlength=k)
        order = np.argsort(-counts, kind="stable")  # order[r] = cluster labelled r + 1
        rank = np.empty(k, dtype=np.intp)
        rank[order] = np.arange(k)
        self._cnum, self._ccat = run.cnum[order], run.ccat[order]
        self._names = np.array([str(r + 1) for r in range(k)], dtype=object)
        self.labels_ = pd.Series(self._names[rank[run.labels]], index=X.index, name="segment")
        self.k_, self.cost_, self.n_iter_ = k, run.cost, run.n_iter
        centers: dict[str, Any] = {}
        for j, c in enumerate(self.numeric_):
            centers[c] = self._cnum[:, j] * self.scale_[j] + self.mean_[j]
        for j, c in enumerate(self.categorical_):
            known = self.categories_[c]
            centers[c] = [known[i] if 0 <= i < len(known) else None for i in self._ccat[:, j]]
        index = pd.Index(list(self._names), name="segment")
        self.centers_ = pd.DataFrame(centers, index=index)[list(X.columns)]

    def relabel(self, mapping: dict[str, str]) -> KPrototypesSegmenter:
        """Rename the fitted segments (label -> new label; others keep theirs), so ``predict``
        and ``to_ibis`` give the new labels (stable ids across runs); returns ``self``."""
        self._check_fitted()

        def new(label: Any) -> str:
            return mapping.get(str(label), str(label))

        self._names = np.array([new(x) for x in self._names], dtype=object)
        self.labels_ = self.labels_.map(new)
        self.centers_ = self.centers_.rename(index=new)
        return self

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """The nearest prototype's label for every row of ``X`` (index kept); rows with a
        missing numeric feature get ``Unassigned``."""
        self._check_fitted()
        X = as_frame(X, _OWNER).rename(columns=str)
        data = self._encode(X, "predict")
        gap = np.isnan(data.Z).any(axis=1)
        data.Z[gap] = 0.0
        labels = self._names[_distances(data, self._cnum, self._ccat, self.gamma_).argmin(axis=1)]
        labels[gap] = UNASSIGNED
        return pd.Series(labels, index=X.index, name="segment")

    def to_ibis(self, table: ir.Table, column: str = "segment") -> ir.Table:
        """``table`` plus a ``column`` with every row's nearest prototype, computed by the engine.

        The same arithmetic as :meth:`predict`, in the same order, as Ibis expressions (SQL on
        DuckDB, Spark, ...); a row with a NULL numeric feature gets ``Unassigned``.
        """
        self._check_fitted()
        missing = [c for c in self.numeric_ + self.categorical_ if c not in table.columns]
        if missing:
            raise ModelError(
                f"{_OWNER}.to_ibis() needs the columns it was fitted on; the table lacks "
                f"{missing}.",
                fix="compute the same features in the engine before assigning segments.",
            )
        z = [
            (table[c].cast("float64") - float(m)) / float(s)
            for c, m, s in zip(self.numeric_, self.mean_, self.scale_, strict=True)
        ]
        dists = {}
        for i in range(self.k_):
            num: Any = ibis.literal(0.0)
            for j, zj in enumerate(z):
                t = zj - float(self._cnum[i, j])
                num = t * t if j == 0 else num + t * t
            miss: Any = ibis.literal(0)
            for j, c in enumerate(self.categorical_):
                known, code = self.categories_[c], int(self._ccat[i, j])
                same = table[c].isnull() if code >= len(known) else table[c] == known[code]
                miss = ibis.ifelse(same, 0, 1) if j == 0 else miss + ibis.ifelse(same, 0, 1)
            dists[f"__segmint_d{i}"] = num + self.gamma_ * miss
        t = table.mutate(**dists)
        d = [t[name] for name in dists]
        least = ibis.least(*d)
        branches = [(di <= least, str(name)) for di, name in zip(d, self._names, strict=True)]
        return t.mutate(**{column: ibis.cases(*branches, else_=UNASSIGNED)}).drop(*dists)

    def segmentation(self, name: str) -> Segmentation:
        """The fitted result as a :class:`Segmentation` (details: k, γ, cost, centers, k curve)."""
        self._check_fitted()
        details: dict[str, Any] = {
            "k": self.k_,
            "gamma": self.gamma_,
            "cost": self.cost_,
            "n_iter": self.n_iter_,
            "numeric": list(self.numeric_),
            "categorical": list(self.categorical_),
            "scaling": "standardized (mean, std with ddof=0)",
            "centers": self.centers_.reset_index().to_dict("records"),
        }
        if self.k_scores_ is not None:
            details["k_scores"] = self.k_scores_.reset_index().to_dict("records")
            details["k_rule"] = "highest mean silhouette (ties: smaller k)"
        return Segmentation(
            name=name,
            method="kprototypes",
            labels=self.labels_.copy(),
            features=self.numeric_ + self.categorical_,
            details=details,
        )
