"""Checks of a repeat-purchase summary and grouping of identical histories.

Customers with the same (frequency, recency, T) contribute the same likelihood term, so the
models work on the distinct rows with a count each: a million customers with daily or weekly
data come down to far fewer rows.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from segmint.exceptions import ModelError

__all__ = ["MIN_CUSTOMERS", "Histories", "check_summary", "histories"]

#: fewer customers than this cannot identify four parameters
MIN_CUSTOMERS = 10


@dataclass(frozen=True)
class Histories:
    """Distinct (x, t_x, T) rows, how many customers share each, and each customer's row."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    count: np.ndarray
    inverse: np.ndarray

    @cached_property
    def x_T(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct (x, T) pairs among the histories and each history's pair: what
        depends on x and T but not on t_x (BG/NBD's growth in purchases) is computed once
        per pair."""
        inverse, first = _group(self.x.astype(np.int64), self.T)
        return self.x[first], self.T[first], inverse


def _bad(model: str, what: str, where: Any, fix: str) -> ModelError:
    return ModelError(f"{model}: {what} (first at customer {where!r}).", fix=fix)


def check_summary(
    summary: Any, model: str, columns: tuple[str, ...], *, min_rows: int = MIN_CUSTOMERS
) -> pd.DataFrame:
    """The summary as a float frame with ``columns``; raise ModelError on anything unusable."""
    if not isinstance(summary, pd.DataFrame):
        raise ModelError(
            f"{model} needs a pandas DataFrame with columns {', '.join(columns)}. "
            f"Got {type(summary).__name__}.",
            fix="build it with segmint.segment.value.summary_from_orders(...) or "
            "Workspace.value_summary().",
        )
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise ModelError(
            f"{model} needs the column(s) {', '.join(missing)}; the summary has "
            f"{', '.join(map(str, summary.columns)) or 'none'}.",
            fix="build the summary with Workspace.value_summary() (frequency, recency, T, "
            "monetary_value per customer).",
        )
    values = {}
    for c in columns:
        col = summary[c]
        if not pd.api.types.is_numeric_dtype(col.dtype):
            col = pd.to_numeric(col, errors="coerce")
        values[c] = col.to_numpy(dtype=float, na_value=np.nan)
    # column by column: no copy of the frame into one block and back (seconds on 10M rows)
    df = pd.DataFrame(values, index=summary.index, copy=False)
    bad = np.zeros(len(df), dtype=bool)
    for v in values.values():
        bad |= ~np.isfinite(v)  # NaN is not finite either
    if bad.any():
        raise _bad(
            model,
            f"{int(bad.sum())} row(s) have a missing or non-numeric value",
            df.index[bad][0],
            "drop or fill those customers before fitting.",
        )
    if len(df) < min_rows:
        raise ModelError(
            f"{model} needs at least {min_rows} customers to estimate its parameters. "
            f"Got {len(df)}.",
            fix="fit on a longer order history or more customers.",
        )
    return df


#: the last summary grouped (a weak reference), whether for a fit, and its histories
_last: tuple[weakref.ref[Any], bool, Histories] | None = None


def histories(summary: Any, model: str, *, fitting: bool = True) -> Histories:
    """Checked and grouped (frequency, recency, T); ``fitting`` adds the checks a fit needs.

    The histories of the last summary are kept while that summary lives: a fit followed by
    ``clv`` or ``p_alive`` on the same frame groups it once. They are reused only if the
    frame's three columns still hold exactly the values the histories give back for every
    customer (one comparison per column instead of a new grouping), and for a fit only if
    they were made with the fit's checks.
    """
    global _last
    if _last is not None:
        ref, for_fit, h = _last
        if ref() is summary and (for_fit or not fitting) and _unchanged(summary, h):
            return h
    h = _histories(summary, model, fitting)
    if isinstance(summary, pd.DataFrame):
        _last = (weakref.ref(summary, _forget), fitting, h)
    return h


def _forget(ref: weakref.ref[Any]) -> None:
    """The summary is gone: let its histories go too."""
    global _last
    if _last is not None and _last[0] is ref:
        _last = None


def _unchanged(summary: pd.DataFrame, h: Histories) -> bool:
    """Does every customer of ``summary`` still have the history ``h`` gives them?"""
    try:
        cols = [summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    except (KeyError, TypeError, ValueError):
        return False
    return len(cols[0]) == len(h.inverse) and all(
        np.array_equal(col, v[h.inverse]) for col, v in zip(cols, (h.x, h.t_x, h.T), strict=True)
    )


def _histories(summary: Any, model: str, fitting: bool) -> Histories:
    cols = ("frequency", "recency", "T")
    df = check_summary(summary, model, cols, min_rows=MIN_CUSTOMERS if fitting else 0)
    x, t_x, T = (df[c].to_numpy() for c in ("frequency", "recency", "T"))
    checks = [
        ((x < 0) | (x != np.round(x)), "frequency must be a whole number ≥ 0"),
        (t_x < 0, "recency must be ≥ 0"),
        (
            t_x > T + 1e-9,
            "recency (first to last purchase) is larger than T (first purchase to the as-of date)",
        ),
        ((x == 0) & (t_x > 0), "a customer without repeat purchases has recency > 0"),
        (T < 0, "T must be ≥ 0 (the as-of date must not lie before the first purchase)"),
    ]
    for mask, what in checks:
        if mask.any():
            raise _bad(
                model,
                f"{int(mask.sum())} row(s) break the summary's rules: {what}",
                df.index[mask][0],
                "rebuild the summary with Workspace.value_summary(as_of=...) so that the "
                "as-of date lies after every purchase it counts.",
            )
    if fitting and not (x > 0).any():
        raise ModelError(
            f"{model}: no customer made a repeat purchase ({len(x)} customers, all with one "
            "purchase day), so the purchase rate and drop-out cannot be told apart.",
            fix="use a longer order history (repeat buyers are needed), or segment by RFM "
            "instead of value.",
        )
    inverse, first = _group(x.astype(np.int64), t_x, T)  # x: whole numbers ≥ 0 (checked)
    count = np.bincount(inverse)
    if fitting and len(count) == 1:
        raise ModelError(
            f"{model}: all {len(x)} customers have the same history "
            f"(frequency {x[0]:g}, recency {t_x[0]:g}, T {T[0]:g}); the model cannot be "
            "identified.",
            fix="check the as-of date and the order dates: the summary should vary across "
            "customers.",
        )
    return Histories(x[first], t_x[first], T[first], count.astype(float), inverse)


def _group(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group numbers of the distinct rows of ``columns`` in order of first appearance (as a
    pandas group-by with ``sort=False``) and the position of each group's first row.

    Each column is factorized by hashing (few distinct values: a small, fast table), the codes
    are combined into one integer key (factorized in between only when the key range would
    pass 2⁶²), and the key is factorized once: several times faster than a group-by on the
    float columns.
    """
    key, size = np.zeros(len(columns[0]), dtype=np.int64), 1
    for col in columns:
        codes, width = _codes(col)
        if size * width >= 2**62:
            key, kept = pd.factorize(key)
            size = len(kept)
        key = key * width + codes
        size *= width
    groups, distinct = pd.factorize(key)
    # new group numbers appear in increasing order: a first row raises the running maximum
    running = np.maximum.accumulate(groups) if len(groups) else groups
    rises = np.ones(len(groups), dtype=bool)
    np.greater(running[1:], running[:-1], out=rises[1:])
    first = np.flatnonzero(rises)
    assert len(first) == len(distinct)
    return groups.astype(np.intp), first


def _codes(col: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes of a column's values and their range: small whole numbers ≥ 0 are their
    own codes (no hashing), anything else is factorized."""
    if col.dtype.kind in "iu" and len(col):
        low, high = int(col.min()), int(col.max())
        if low >= 0 and high < 4 * len(col) + 1024:
            return col.astype(np.int64, copy=False), high + 1
    codes, uniques = pd.factorize(col)
    return codes, len(uniques)
