"""Explanation rules from a shallow surrogate decision tree.

A :class:`~sklearn.tree.DecisionTreeClassifier` (depth 3 by default) learns to predict the
segment from the numeric features (missing values replaced by the median). Every leaf path
becomes a rule in the rule-language syntax (``recency_days <= 30 and frequency > 12``), given
to the segment the leaf predicts. Thresholds are rounded: integer-valued features get the
integer bound that selects exactly the same customers (``frequency <= 12.5`` → ``<= 12``),
other features three significant digits. Precision, recall and support are then measured by
evaluating the *rounded* rule on every customer (a missing value matches no condition), so the
numbers describe the rule as shown (``true`` when the tree has no split). Column names that
are not plain identifiers are written in backticks. ``fidelity`` is the tree's accuracy on all
customers.

The tree is fitted on a seeded random sample of at most 50,000 customers (small segments are
topped up to 50 rows each; a leaf holds at least 0.5 % of the sample); predictions and rule
checks use every customer. A segment that no leaf predicts (typically a tiny one) gets its
rules from a one-vs-rest tree of the same depth with balanced class weights, fitted on the same
sample; those rules do not enter ``fidelity``.

>>> import numpy as np, pandas as pd
>>> from segmint.profile._frame import prepare
>>> X = pd.DataFrame({"frequency": np.arange(100), "age": np.arange(100) % 7})
>>> s = fit_surrogate(prepare(X, pd.Series(np.where(X["frequency"] > 60, "loyal", "other"))))
>>> s.fidelity, s.rules["loyal"][0]["rule"], s.rules["loyal"][0]["precision"]
(1.0, 'frequency > 60', 1.0)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from segmint.profile._frame import Prepared, sample_positions

__all__ = ["Surrogate", "column_ref", "fit_surrogate", "nice_number"]

#: rows the surrogate tree is fitted on, at most
SAMPLE_ROWS = 50_000


@dataclass
class Surrogate:
    """A fitted surrogate tree, its fidelity, and the rules per segment label."""

    tree: DecisionTreeClassifier
    columns: list[str]
    classes: list[str]
    fidelity: float
    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: sample rows (positions) the tree was fitted on, and that sample's matrix and codes
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    X_sample: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    y_sample: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def integral(self) -> np.ndarray:
        """Per feature: are all sampled values whole numbers (then bounds are floored)?"""
        return np.all(np.equal(np.floor(self.X_sample), self.X_sample), axis=0)


def nice_number(x: float, digits: int = 3) -> float:
    """``x`` rounded to ``digits`` significant digits (whole numbers stay whole).

    >>> nice_number(1234.5678), nice_number(0.045678), nice_number(29.5)
    (1230.0, 0.0457, 29.5)
    """
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(round(x, digits - 1 - math.floor(math.log10(abs(x)))))


_KEYWORDS = {"and", "or", "not", "between", "in", "is", "null", "within", "older", "than",
             "before", "after", "segment", "true", "false"}  # fmt: skip


def _fmt(x: float) -> str:
    if float(x).is_integer():
        return str(int(x))
    return np.format_float_positional(float(x), trim="-")


def column_ref(name: str) -> str:
    """A column as the rule language reads it: backticks unless a plain identifier.

    >>> column_ref("recency_days"), column_ref("Total Spend")
    ('recency_days', '`Total Spend`')
    """
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name.lower() not in _KEYWORDS:
        return name
    return "`" + name.replace("`", "") + "`"


def fit_surrogate(
    P: Prepared, *, max_depth: int = 3, sample: int = SAMPLE_ROWS, random_state: int = 0
) -> Surrogate:
    """Fit the surrogate tree on a sample and turn its leaves into rules per segment."""
    pos = sample_positions(P.codes, sample, random_state)
    Xs, ys = P.imputed_rows(pos), P.codes[pos]
    tree = DecisionTreeClassifier(
        max_depth=max_depth,
        min_samples_leaf=max(1, len(pos) // 200),
        random_state=random_state,
    )
    tree.fit(Xs, ys)
    pred = predict_all(tree, P)
    fidelity = float(np.mean(pred == P.codes))
    surrogate = Surrogate(tree, list(P.numeric), list(P.classes), fidelity, {}, pos, Xs, ys)
    surrogate.rules = _rules(surrogate, P, random_state)
    return surrogate


def predict_all(tree: DecisionTreeClassifier, P: Prepared) -> np.ndarray:
    """``tree.predict`` on every customer's median-imputed features, without building them.

    Walks the tree level by level, reading only the feature each row's node splits on, and
    compares as scikit-learn does (the value as float32 against the float64 threshold), so the
    result equals ``tree.predict(P.imputed())``.
    """
    t = tree.tree_
    node = np.zeros(P.n, dtype=np.intp)
    medians = P.medians()
    active = np.arange(P.n)
    while len(active):
        at = node[active]
        inner = t.children_left[at] != -1
        active, at = active[inner], at[inner]
        if not len(active):
            break
        f = t.feature[at]
        x = P.M[active, f]
        x = np.where(np.isnan(x), medians[f], x).astype(np.float32)
        node[active] = np.where(x <= t.threshold[at], t.children_left[at], t.children_right[at])
    return np.asarray(tree.classes_[np.argmax(t.value[node, 0], axis=1)])


def _leaf_paths(tree: DecisionTreeClassifier) -> list[tuple[int, list[tuple[int, str, float]]]]:
    t = tree.tree_
    out: list[tuple[int, list[tuple[int, str, float]]]] = []
    stack: list[tuple[int, list[tuple[int, str, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = int(t.children_left[node]), int(t.children_right[node])
        if left == -1:
            out.append((node, path))
            continue
        f, thr = int(t.feature[node]), float(t.threshold[node])
        stack.append((right, [*path, (f, ">", thr)]))
        stack.append((left, [*path, (f, "<=", thr)]))
    return sorted(out)


def _bounds(
    path: list[tuple[int, str, float]], integral: np.ndarray
) -> list[tuple[int, str, float]]:
    """Merge a path into at most one lower and one upper bound per feature, rounded."""
    lower: dict[int, float] = {}
    upper: dict[int, float] = {}
    order: list[int] = []
    for f, op, thr in path:
        if f not in order:
            order.append(f)
        if op == ">":
            lower[f] = max(lower.get(f, -math.inf), thr)
        else:
            upper[f] = min(upper.get(f, math.inf), thr)
    out = []
    for f in order:
        for op, bound in ((">", lower.get(f)), ("<=", upper.get(f))):
            if bound is not None:
                value = float(math.floor(bound)) if integral[f] else nice_number(bound)
                out.append((f, op, value))
    return out


def _rule(
    s: Surrogate, P: Prepared, path: list[tuple[int, str, float]], code: int, sizes: np.ndarray
) -> dict[str, Any]:
    """The path as rule text, with precision, recall and support of the rounded rule."""
    conds = _bounds(path, s.integral)
    matched = np.ones(P.n, dtype=bool)
    for f, op, bound in conds:
        col = P.M[:, f]  # a missing value matches no condition
        matched &= (col > bound) if op == ">" else (col <= bound)
    support = int(matched.sum())
    hits = int(np.count_nonzero(P.codes[matched] == code))
    text = " and ".join(f"{column_ref(s.columns[f])} {op} {_fmt(b)}" for f, op, b in conds)
    return {
        "rule": text or "true",
        "precision": hits / support if support else 0.0,
        "recall": hits / int(sizes[code]) if sizes[code] else 0.0,
        "support": support,
    }


def _rules(s: Surrogate, P: Prepared, random_state: int) -> dict[str, list[dict[str, Any]]]:
    sizes = P.sizes()
    value = s.tree.tree_.value
    rules: dict[str, list[dict[str, Any]]] = {c: [] for c in s.classes}
    for leaf, path in _leaf_paths(s.tree):
        code = int(s.tree.classes_[int(np.argmax(value[leaf][0]))])
        rules[s.classes[code]].append(_rule(s, P, path, code, sizes))
    for code, label in enumerate(s.classes):
        in_sample = int(np.count_nonzero(s.y_sample == code))
        if rules[label] or in_sample == 0 or in_sample == len(s.y_sample):
            continue
        one = DecisionTreeClassifier(
            max_depth=s.tree.max_depth,
            class_weight="balanced",
            min_samples_leaf=max(1, in_sample // 10),
            random_state=random_state,
        ).fit(s.X_sample, s.y_sample == code)
        ovr = one.tree_.value
        for leaf, path in _leaf_paths(one):
            if bool(one.classes_[int(np.argmax(ovr[leaf][0]))]):
                rules[label].append(_rule(s, P, path, code, sizes))
    for label in rules:
        rules[label].sort(key=lambda r: (-r["recall"], -r["precision"], r["rule"]))
    return rules
