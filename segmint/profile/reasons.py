"""Per-customer reasons ("frequency 28, 3.1 sd above average") and typical example customers.

For a customer in segment *s*, the candidate features are those where *s* itself stands out:
|lift| ≥ :data:`MIN_LIFT` (standardized difference of the segment mean from the population
mean). A feature counts for the customer when their own z-score (against the population mean
and sample std) points the same way as the segment's lift; the (up to) three with the largest
|z| become ``reason_1`` … ``reason_3`` (missing when fewer qualify). Values are shown to three
significant digits, z to one decimal (computed from the value as shown).

Examples of a segment are its most *typical* customers: the smallest Euclidean distance, in
z-units over the segment's candidate features, to the segment's mean profile (ties: first in
the feature frame).

>>> import numpy as np, pandas as pd
>>> from segmint.profile._frame import prepare
>>> X = pd.DataFrame({"frequency": [1.0, 2, 3, 30], "age": [30.0, 31, 29, 30]}, index=list("abcd"))
>>> P = prepare(X, pd.Series(["low", "low", "low", "high"], index=X.index))
>>> mean, std = X.mean().to_numpy(), X.std().to_numpy()
>>> lift = np.array([[1.5, 0.0], [-0.5, 0.0]])  # rows: classes "high", "low"
>>> customer_reasons(P, lift, mean, std).loc[3, "reason_1"]
'frequency 30, 1.5 sd above average'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from segmint.profile._frame import Prepared

__all__ = ["MIN_LIFT", "customer_reasons", "standardize", "typical_customers"]

MIN_LIFT = 0.25
TOP = 3


def standardize(P: Prepared, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """float32 z-scores of the numeric matrix; NaN where missing or the feature is constant."""
    safe = np.where(std > 0, std, np.nan).astype(np.float32)
    z = P.M.astype(np.float32)  # in place from here: one n × p float32 array, no temporaries
    z -= mean.astype(np.float32)
    z /= safe
    return z


def _directions(lift_row: np.ndarray) -> np.ndarray:
    d = np.nan_to_num(lift_row)
    return np.where(np.abs(d) >= MIN_LIFT, np.sign(d), 0.0).astype(np.float32)


def _round3(v: np.ndarray) -> np.ndarray:
    out = v.astype(np.float64, copy=True)
    nz = np.isfinite(out) & (out != 0)
    scale = 10.0 ** (2 - np.floor(np.log10(np.abs(out[nz]))))
    out[nz] = np.round(out[nz] * scale) / scale
    return out


def _text(feature: str, value: float, mean: float, std: float) -> str:
    shown = str(int(value)) if float(value).is_integer() else f"{value:.6g}"
    z = (value - mean) / std
    return f"{feature} {shown}, {abs(z):.1f} sd {'above' if z > 0 else 'below'} average"


def customer_reasons(
    P: Prepared,
    lift: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    z: np.ndarray | None = None,
    only: np.ndarray | None = None,
) -> pd.DataFrame:
    """customer_id, segment, reason_1..3 for every customer (categorical text columns).

    ``lift`` holds one row per class of ``P`` and one column per numeric feature. ``only``
    (row positions): reasons for those customers alone, the others get none (what a run
    keeps: the typical customers' reasons; 1M customers' reasons cost about 3 s).
    """
    z = standardize(P, mean, std) if z is None else z
    n = z.shape[0]
    picks = np.full((n, TOP), -1, dtype=np.int64)
    for code, every in enumerate(P.groups()):
        rows = every if only is None else np.intersect1d(every, only)
        d = _directions(lift[code])
        cand = np.flatnonzero(d)
        if len(cand) == 0 or len(rows) == 0:
            continue
        score = z[np.ix_(rows, cand)] * d[cand]
        score[~(score > 0)] = -np.inf  # NaN or the wrong direction
        k = min(TOP, len(cand))
        if k < len(cand):
            top = np.argpartition(-score, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(k), (len(rows), k))
        top_score = np.take_along_axis(score, top, axis=1)
        srt = np.argsort(-top_score, axis=1, kind="stable")
        top = np.take_along_axis(top, srt, axis=1)
        ok = np.take_along_axis(top_score, srt, axis=1) > 0
        picks[rows, :k] = np.where(ok, cand[top], -1)

    codes = np.full((n, TOP), -1, dtype=np.int64)
    strings: list[str] = []
    for j, col in enumerate(P.numeric):
        r, where = np.nonzero(picks == j)
        if len(r) == 0:
            continue
        local, uniques = pd.factorize(_round3(P.M[r, j]), sort=False)
        codes[r, where] = local + len(strings)
        strings.extend(_text(col, float(u), float(mean[j]), float(std[j])) for u in uniques)
    found, cats = pd.factorize(pd.Series(strings, dtype=object))
    remap = np.append(np.asarray(found, dtype=np.int64), -1)  # index -1: no reason
    # the index's own array (Arrow-backed text stays so): to_numpy() made 1M Python strings
    out = pd.DataFrame({"customer_id": P.X.index.array, "segment": P.labels()})
    for i in range(TOP):
        out[f"reason_{i + 1}"] = pd.Categorical.from_codes(
            remap[codes[:, i]], categories=list(cats)
        )
    return out


def typical_positions(
    P: Prepared, z: np.ndarray, lift: np.ndarray, count: int
) -> dict[str, np.ndarray]:
    """Row positions of up to ``count`` typical customers per segment label (nearest to the
    segment's centre on the features it stands out on), nearest first."""
    out: dict[str, np.ndarray] = {}
    for code, rows in enumerate(P.groups()):
        label = P.classes[code]
        if count <= 0 or len(rows) == 0:
            out[label] = np.empty(0, dtype=np.int64)
            continue
        d = _directions(lift[code])
        use = d != 0 if d.any() else np.ones(len(d), dtype=bool)
        # one gather and one float64 copy, then in place: the largest segment's slice of
        # z is the biggest array here (the values are those of the expression in one go)
        zs = z[np.ix_(rows, np.flatnonzero(use))].astype(np.float64, order="F")
        np.nan_to_num(zs, copy=False)
        zs -= zs.mean(axis=0)
        np.square(zs, out=zs)
        dist = np.sqrt(zs.sum(axis=1))
        del zs
        near = (
            np.argpartition(dist, count - 1)[:count] if count < len(dist) else np.arange(len(dist))
        )
        out[label] = rows[near[np.lexsort((near, dist[near]))]]
    return out


def typical_customers(
    P: Prepared,
    z: np.ndarray,
    lift: np.ndarray,
    reasons: pd.DataFrame,
    count: int,
    positions: dict[str, np.ndarray] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Up to ``count`` typical customers per segment label, each with their reasons
    (``positions``: :func:`typical_positions`, when already known)."""
    ids = P.X.index
    cols = [f"reason_{k + 1}" for k in range(TOP)]
    found = typical_positions(P, z, lift, count) if positions is None else positions
    out: dict[str, list[dict[str, Any]]] = {}
    for label, best in found.items():
        texts = reasons[cols].iloc[best]
        out[label] = [
            {
                "customer_id": _plain(ids[i]),
                "reasons": [str(t) for t in texts.iloc[m] if isinstance(t, str)],
            }
            for m, i in enumerate(best)
        ]
    return out


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x
