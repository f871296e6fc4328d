"""Survey answers -> reliable scales and factors: what customers say they need (M5, M9).

Likert items are noisy one by one; a need shows up as several items that move together. This
module turns a ``feedback`` table into a respondents × items matrix, checks how many factors
the items carry (parallel analysis or eigenvalue > 1, both shown), fits an exploratory factor
analysis with a varimax rotation (scikit-learn's ``FactorAnalysis``), names each factor after
its top-loading items, groups items into scales with Cronbach's alpha, and scores respondents
on the factors. ``segmint.segment.needs`` clusters those scores into needs segments.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> f = rng.normal(size=(400, 2))
>>> X = pd.DataFrame({f"q{i}": f[:, i // 3] + rng.normal(0, 0.5, 400) for i in range(6)})
>>> sol = fit_factors(X)
>>> sol.n_factors, sorted(sol.scales.values())
(2, [['q0', 'q1', 'q2'], ['q3', 'q4', 'q5']])
>>> sol.scores(X).shape
(400, 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmint.exceptions import InputError, ModelError
from segmint.store.results import NeedsExtras, NeedsFactor
from segmint.store.schema import CANONICAL, LINEAGE

__all__ = [
    "ANSWER_COLUMNS",
    "ITEM_COLUMNS",
    "MIN_LOADING",
    "FactorSolution",
    "cronbach_alpha",
    "fit_factors",
    "item_label",
    "parallel_analysis",
    "survey_matrix",
]

#: long layout: the column naming the item (first one present wins)
ITEM_COLUMNS = ("question", "item", "question_id", "item_id")
#: long layout: the numeric answer column (first one present wins)
ANSWER_COLUMNS = ("answer", "score", "value")
#: an item belongs to a factor's scale when its loading there is at least this large
MIN_LOADING = 0.3
#: parallel analysis keeps a factor whose eigenvalue beats this percentile of random data's
PERCENTILE = 95

_KNOWN = {*CANONICAL["feedback"].names, *(c.name for c in LINEAGE)}


def survey_matrix(feedback: pd.DataFrame) -> pd.DataFrame:
    """Respondents (index ``customer_id``) × items, the mean of each respondent's answers.

    Long layout when ``feedback`` has an item column (:data:`ITEM_COLUMNS`) and numeric
    answers (:data:`ANSWER_COLUMNS`, else ``rating``, else numbers in ``text``: how a survey
    export's "score" or "answer" header is imported); otherwise wide: every numeric column that is not a
    canonical ``feedback`` column (``rating`` is a star rating, not an item) nor lineage, as
    ``segmint.features.psychographic`` picks them. Rows without any answer are dropped.

    >>> fb = pd.DataFrame({"customer_id": ["a", "a", "b"], "question": ["q1", "q1", "q2"],
    ...                    "answer": [2, 4, 5]})
    >>> survey_matrix(fb).to_dict("index")
    {'a': {'q1': 3.0, 'q2': nan}, 'b': {'q1': nan, 'q2': 5.0}}
    """
    if "customer_id" not in feedback.columns:
        raise InputError(
            "The feedback has no customer_id column, so answers cannot be put together per "
            "respondent.",
            fix="map the respondent's id to customer_id when importing the feedback.",
        )
    fb = feedback[feedback["customer_id"].notna()]
    item = next((c for c in ITEM_COLUMNS if c in fb.columns), None)
    answer = _answers(fb, item) if item is not None else None
    if item is not None and answer is not None:
        long = fb[["customer_id", item]].assign(_answer=answer).dropna()
        answer = "_answer"
        out = long.pivot_table(
            index="customer_id", columns=item, values=answer, aggfunc="mean", observed=True
        ).astype("float64")
        out.columns = pd.Index([str(c) for c in out.columns], name="item")
    else:
        items = [
            str(c)
            for c in fb.columns
            if c not in _KNOWN
            and pd.api.types.is_numeric_dtype(fb[c])
            and not pd.api.types.is_bool_dtype(fb[c])
        ]
        numeric = fb[items].astype("float64").set_axis(fb["customer_id"].astype(str))
        out = numeric.groupby(level=0, sort=True).mean()
        out.columns = pd.Index(items, name="item")
    out.index = out.index.astype(str).rename("customer_id")
    return out.dropna(how="all")


def _answers(fb: pd.DataFrame, item: str) -> pd.Series | None:
    """The numeric answers of a long-layout survey: an answer/score/value column, else
    ``rating`` (a "score" header is imported as rating), else the ``text`` when it holds
    numbers (an "answer" header is imported as text); the first with an answer to an item."""
    asked = fb[item].notna()
    candidates = [fb[c] for c in (*ANSWER_COLUMNS, "rating")
                  if c in fb.columns and pd.api.types.is_numeric_dtype(fb[c])]  # fmt: skip
    if "text" in fb.columns:
        candidates.append(pd.to_numeric(fb["text"].astype("string").str.strip(), errors="coerce"))
    for c in candidates:
        values = c.astype("float64")
        if (asked & values.notna()).any():
            return values
    return None


def cronbach_alpha(X: pd.DataFrame | np.ndarray) -> float:
    """Cronbach's alpha of the items (columns) of ``X``: ``k/(k-1) · (1 - Σ var_i / var_sum)``
    with sample variances, over the rows that answered every item (NaN below two items or two
    complete rows).

    >>> cronbach_alpha(pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 3, 3, 5], "c": [1, 3, 2, 4]}))
    0.957055214724
    """
    A = np.asarray(X, dtype="float64")
    A = A[~np.isnan(A).any(axis=1)]
    k = A.shape[1] if A.ndim == 2 else 0
    if k < 2 or len(A) < 2:
        return float("nan")
    total = A.sum(axis=1).var(ddof=1)
    if total == 0:
        return float("nan")
    return round(float(k / (k - 1) * (1 - A.var(axis=0, ddof=1).sum() / total)), 12)


def parallel_analysis(
    X: pd.DataFrame | np.ndarray, n_iter: int = 100, random_state: int | None = 0
) -> pd.DataFrame:
    """Horn's parallel analysis: the eigenvalues of the items' correlation matrix against the
    95th percentile of the eigenvalues of ``n_iter`` random normal data sets of the same size.

    Returns one row per possible factor: ``factor`` (1, 2, …), ``eigenvalue``, ``threshold``
    (the random data's 95th percentile) and ``retained`` (this and every earlier eigenvalue
    above its threshold).
    """
    Z = _standardized(np.asarray(X, dtype="float64"))
    n, p = Z.shape
    observed = _eigenvalues(Z)
    rng = np.random.default_rng(random_state)
    random = np.array([_eigenvalues(rng.standard_normal((n, p))) for _ in range(n_iter)])
    threshold = np.percentile(random, PERCENTILE, axis=0)
    return _selection(observed, threshold)


def _selection(observed: np.ndarray, threshold: np.ndarray) -> pd.DataFrame:
    above = observed > threshold
    retained = np.cumprod(above).astype(bool)
    return pd.DataFrame(
        {
            "factor": np.arange(1, len(observed) + 1),
            "eigenvalue": observed,
            "threshold": threshold,
            "retained": retained,
        }
    )


def _standardized(A: np.ndarray) -> np.ndarray:
    """Items as z-scores (population sd, as scikit-learn's StandardScaler); a missing answer
    becomes the item's mean (0)."""
    mean = np.nanmean(A, axis=0)
    sd = np.nanstd(A, axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return np.nan_to_num((A - mean) / sd, nan=0.0)


def _eigenvalues(Z: np.ndarray) -> np.ndarray:
    corr = np.atleast_2d(np.corrcoef(Z, rowvar=False))
    return np.sort(np.linalg.eigvalsh(np.nan_to_num(corr)))[::-1]


def item_label(item: str) -> str:
    """An item's name as words: ``survey_q_price_sensitive`` -> ``price sensitive``.

    >>> item_label("survey_q_eco_minded")
    'eco minded'
    """
    text = re.sub(r"^(survey_)?(q\d*_)?", "", item)
    return re.sub(r"[_\s]+", " ", text).strip() or item


@dataclass
class FactorSolution:
    """A fitted exploratory factor analysis of survey items.

    ``loadings``: items × factors (columns ``factor_1``, …; rotated; each factor's sign makes
    its largest loading positive; factors ordered by the variance they explain). ``names``:
    factor -> name from its top-loading items. ``selection``: eigenvalue and the rule's
    threshold per possible factor (``rule``: "parallel", "kaiser" or "given"). ``scales``:
    factor -> the items whose largest loading (≥ :data:`MIN_LOADING`) is on it; ``alphas``:
    Cronbach's alpha of each scale (items loading negatively reversed). ``scores`` turns answers
    into factor scores (the posterior mean of scikit-learn's ``FactorAnalysis.transform``).
    """

    items: list[str]
    loadings: pd.DataFrame
    names: dict[str, str]
    selection: pd.DataFrame
    rule: str
    rule_text: str
    rotation: str | None
    scales: dict[str, list[str]]
    alphas: dict[str, float]
    variance: dict[str, float]
    n_respondents: int
    means: np.ndarray = field(repr=False)
    sds: np.ndarray = field(repr=False)
    center: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)

    @property
    def factors(self) -> list[str]:
        return [str(c) for c in self.loadings.columns]

    @property
    def n_factors(self) -> int:
        return len(self.factors)

    def scores(self, X: pd.DataFrame) -> pd.DataFrame:
        """Factor scores of the rows of ``X`` (columns :attr:`items`; a missing answer counts
        as the item's mean), one column per factor."""
        missing = [c for c in self.items if c not in X.columns]
        if missing:
            raise ModelError(
                f"The survey answers lack the item(s) {', '.join(missing)} of the factor model.",
                fix=f"pass answers with the columns: {', '.join(self.items)}.",
            )
        A = X[self.items].to_numpy(dtype="float64", na_value=np.nan)
        Z = np.nan_to_num((A - self.means) / self.sds, nan=0.0)
        return pd.DataFrame((Z - self.center) @ self.weights, index=X.index, columns=self.factors)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (numbers, text, lists) that :meth:`from_json` reads back."""
        return {
            "items": list(self.items),
            "factors": self.factors,
            "loadings": self.loadings.to_numpy().tolist(),
            "names": dict(self.names),
            "selection": self.selection.to_dict("records"),
            "rule": self.rule,
            "rule_text": self.rule_text,
            "rotation": self.rotation,
            "scales": {k: list(v) for k, v in self.scales.items()},
            "alphas": {k: _num(v) for k, v in self.alphas.items()},
            "variance": dict(self.variance),
            "n_respondents": self.n_respondents,
            "means": self.means.tolist(),
            "sds": self.sds.tolist(),
            "center": self.center.tolist(),
            "weights": self.weights.tolist(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> FactorSolution:
        items, factors = list(doc["items"]), list(doc["factors"])
        loadings = pd.DataFrame(doc["loadings"], index=pd.Index(items, name="item"))
        loadings.columns = pd.Index(factors, name="factor")
        return cls(
            items=items,
            loadings=loadings.astype("float64"),
            names=dict(doc["names"]),
            selection=pd.DataFrame(doc["selection"]),
            rule=str(doc["rule"]),
            rule_text=str(doc["rule_text"]),
            rotation=doc.get("rotation"),
            scales={k: list(v) for k, v in doc["scales"].items()},
            alphas={k: float("nan") if v is None else float(v) for k, v in doc["alphas"].items()},
            variance={k: float(v) for k, v in doc["variance"].items()},
            n_respondents=int(doc["n_respondents"]),
            means=np.asarray(doc["means"], dtype="float64"),
            sds=np.asarray(doc["sds"], dtype="float64"),
            center=np.asarray(doc["center"], dtype="float64"),
            weights=np.asarray(doc["weights"], dtype="float64").reshape(len(items), len(factors)),
        )

    def extras(self) -> NeedsExtras:
        """The solution as a segmentation result's ``needs`` section (report, web, API)."""
        return NeedsExtras(
            rule=self.rule,
            rule_text=self.rule_text,
            rotation=self.rotation,
            respondents=self.n_respondents,
            items=list(self.items),
            eigenvalues=self.selection.to_dict("records"),
            loadings=[[_num(x) for x in row] for row in self.loadings.to_numpy().tolist()],
            factors=[
                NeedsFactor(
                    factor=f,
                    name=self.names[f],
                    items=list(self.scales.get(f, [])),
                    alpha=_num(self.alphas.get(f, float("nan"))),
                    variance=_num(self.variance[f]),
                )
                for f in self.factors
            ],
        )

    def summary(self) -> str:
        """The solution in words and small tables (what ``segmint needs`` prints)."""
        lines = [
            f"{self.n_factors} factor(s) from {len(self.items)} items and "
            f"{self.n_respondents:,} respondents; {self.rule_text}.",
            "",
            "Eigenvalues (correlation matrix) against the rule's threshold:",
            "  factor  eigenvalue  threshold",
        ]
        for r in self.selection.itertuples():
            mark = "kept" if r.retained else ""
            lines.append(
                f"  {r.factor:>6}  {r.eigenvalue:10.3f}  {r.threshold:9.3f}  {mark}".rstrip()
            )
        lines += ["", f"Loadings ({self.rotation or 'no'} rotation):"]
        lines.append(self.loadings.round(2).to_string())
        lines += ["", "Factors:"]
        for f in self.factors:
            alpha = self.alphas.get(f, float("nan"))
            a = "n/a" if not np.isfinite(alpha) else f"{alpha:.2f}"
            lines.append(
                f"  {f}: {self.names[f]} — items {', '.join(self.scales.get(f, [])) or 'none'}; "
                f"alpha {a}; explains {self.variance[f]:.0%} of the items' variance"
            )
        return "\n".join(lines)


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


RULES = ("parallel", "kaiser")


def fit_factors(
    X: pd.DataFrame,
    n_factors: int | str = "auto",
    rule: str = "parallel",
    rotation: str | None = "varimax",
    *,
    n_iter: int = 100,
    random_state: int | None = 0,
) -> FactorSolution:
    """Exploratory factor analysis of the items (columns) of ``X`` on standardized items.

    ``n_factors="auto"`` counts the leading eigenvalues of the correlation matrix above the
    rule's threshold: ``"parallel"`` (Horn: the 95th percentile of random data's, see
    :func:`parallel_analysis`) or ``"kaiser"`` (eigenvalue > 1); at least one factor. A missing
    answer counts as the item's mean. ``rotation``: ``"varimax"``, ``"quartimax"`` or None.
    """
    from sklearn.decomposition import FactorAnalysis

    if rule not in RULES:
        raise ModelError(
            f"The factor rule must be one of {', '.join(RULES)}. Got {rule!r}.",
            fix="use rule='parallel' (Horn's parallel analysis) or rule='kaiser'.",
        )
    frame = X.astype("float64")
    frame = frame.loc[:, frame.notna().sum() > 0]
    frame = frame.loc[:, frame.std(ddof=0) > 0]
    items = [str(c) for c in frame.columns]
    A = frame.to_numpy(dtype="float64")
    n, p = A.shape
    if p < 2 or n < max(10, p + 1):
        raise InputError(
            f"Factor analysis needs at least 2 varying survey items and more respondents than "
            f"items; got {p} item(s) and {n} respondent(s).",
            fix="import more survey answers (Likert items as numeric columns of feedback).",
        )
    if n_factors != "auto" and (
        not isinstance(n_factors, int) or isinstance(n_factors, bool) or not 1 <= n_factors < p
    ):
        raise ModelError(
            f"The number of factors must be 'auto' or an int from 1 to {p - 1} (one fewer than "
            f"the {p} items). Got {n_factors!r}.",
            fix="pass n_factors='auto' or a smaller number.",
        )
    means, sds = np.nanmean(A, axis=0), np.nanstd(A, axis=0)
    Z = np.nan_to_num((A - means) / sds, nan=0.0)
    if rule == "parallel":
        selection = parallel_analysis(Z, random_state=random_state)
        text = (
            f"parallel analysis (eigenvalues above the {PERCENTILE}th percentile of random data's)"
        )
    else:
        selection = _selection(_eigenvalues(Z), np.ones(p))
        text = "Kaiser's rule (eigenvalues above 1)"
    if n_factors == "auto":
        k = int(min(max(int(selection["retained"].sum()), 1), p - 1))
        text = f"{k} chosen by {text}"
    else:
        k = int(n_factors)
        text = f"{k} given; {text} would keep {int(selection['retained'].sum())}"
    selection["retained"] = selection["factor"] <= k
    fa = FactorAnalysis(n_components=k, rotation=rotation, random_state=random_state).fit(Z)
    W = fa.components_.copy()  # factors × items
    order = np.argsort(-(W**2).sum(axis=1), kind="stable")
    W = W[order]
    signs = np.sign(W[np.arange(k), np.abs(W).argmax(axis=1)])
    W = W * np.where(signs == 0, 1.0, signs)[:, None]
    factors = [f"factor_{j + 1}" for j in range(k)]
    loadings = pd.DataFrame(W.T, index=pd.Index(items, name="item"), columns=factors)
    loadings.columns.name = "factor"
    wpsi = W / fa.noise_variance_
    cov = np.linalg.inv(np.eye(k) + wpsi @ W.T)
    weights = wpsi.T @ cov  # items × factors: scores = (Z - mean) @ weights
    scales = _scales(loadings)
    alphas = {f: _scale_alpha(frame, loadings[f], its) for f, its in scales.items()}
    return FactorSolution(
        items=items,
        loadings=loadings,
        names=_names(loadings),
        selection=selection,
        rule=rule if n_factors == "auto" else "given",
        rule_text=text,
        rotation=rotation,
        scales=scales,
        alphas=alphas,
        variance={f: float((loadings[f] ** 2).sum() / p) for f in factors},
        n_respondents=n,
        means=means,
        sds=sds,
        center=np.asarray(fa.mean_, dtype="float64"),
        weights=weights,
    )


def _scales(loadings: pd.DataFrame) -> dict[str, list[str]]:
    primary = loadings.abs().idxmax(axis=1)
    strong = loadings.abs().max(axis=1) >= MIN_LOADING
    return {
        f: [str(i) for i in loadings.index if primary[i] == f and strong[i]]
        for f in loadings.columns
    }


def _scale_alpha(frame: pd.DataFrame, loadings: pd.Series, items: list[str]) -> float:
    """Alpha of one factor's scale, items that load negatively reversed."""
    signs = np.where(loadings[items].to_numpy() < 0, -1.0, 1.0)
    return cronbach_alpha(frame[items] * signs)


def _names(loadings: pd.DataFrame, top: int = 2) -> dict[str, str]:
    """Each factor named by its ``top`` highest-loading items ("low …" for a negative one)."""
    out: dict[str, str] = {}
    for f in loadings.columns:
        col = loadings[f]
        best = col.abs().sort_values(ascending=False, kind="stable").index[:top]
        words = [("low " if col[i] < 0 else "") + item_label(str(i)) for i in best]
        name = " · ".join(words)
        while name in out.values():
            name += "'"
        out[str(f)] = name
    return out
