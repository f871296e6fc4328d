"""Numbers behind the value charts: the P(alive) matrix and the CLV distribution."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from segmint.segment.value._transaction import TransactionModel

__all__ = ["clv_histogram", "p_alive_matrix"]


def p_alive_matrix(
    model: TransactionModel, summary: pd.DataFrame, *, size: int = 20
) -> dict[str, Any]:
    """P(alive) on a grid of frequency (0 … max seen) × recency (0 … T), for a customer whose
    first purchase was T = the largest T in ``summary`` ago (as lifetimes' matrix plot)."""
    T = float(summary["T"].max())
    max_x = int(min(summary["frequency"].max(), 200))
    xs = np.unique(np.linspace(0, max_x, min(size, max_x + 1)).round().astype(int))
    ts = np.linspace(0, T, size)
    grid = pd.DataFrame(
        [(x, t if x > 0 else 0.0, T) for x in xs for t in ts],
        columns=["frequency", "recency", "T"],
    )
    p = model.p_alive(grid).to_numpy().reshape(len(xs), len(ts)).copy()
    for i, x in enumerate(xs):  # a customer without repeats has recency 0 by definition
        if x == 0:
            p[i, :] = p[i, 0]
    return {
        "frequency": xs.tolist(),
        "recency": ts.round(2).tolist(),
        "T": T,
        "p_alive": p.round(4).tolist(),
    }


def clv_histogram(values: pd.Series, *, bins: int = 40) -> dict[str, Any]:
    """Counts of CLV values in equal-width bins up to the 99th percentile (the rest in the
    last bin, which is marked open-ended)."""
    v = values.dropna().to_numpy(dtype=float)
    if not len(v):
        return {"edges": [], "counts": [], "open_last": False}
    top = float(np.quantile(v, 0.99))
    lo = float(min(v.min(), 0.0))
    if top <= lo:
        top = float(v.max()) if v.max() > lo else lo + 1.0
    edges = np.linspace(lo, top, bins + 1)
    counts, _ = np.histogram(np.clip(v, lo, top), bins=edges)
    return {
        "edges": edges.round(2).tolist(),
        "counts": counts.tolist(),
        "open_last": bool((v > top).any()),
    }
