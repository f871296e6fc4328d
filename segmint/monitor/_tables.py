"""Drift of many features of two Ibis tables, from four engine-side queries.

Each round trip to Spark costs seconds whatever its size, so each kind of aggregate is fetched
for every feature at once: the profiles of both sides (kind, values, distinct values), the
value counts of categorical and few-valued features (then each feature's test is chosen), the
windowed query for every numeric feature's distribution gaps and deciles, and the counts in
the PSI bins. Nothing per customer leaves the engine; the tests then run on the driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import ibis.expr.types as ir
import numpy as np
from ibis.common.exceptions import IbisError

from segmint.exceptions import SegmintError
from segmint.monitor import _aggregates, _psi, _stattests
from segmint.monitor._aggregates import (
    Ecdf,
    Side,
    at_most,
    ecdf,
    family,
    is_number,
    profile,
    value_counts,
)
from segmint.monitor._result import FeatureDrift, untested

KINDS = ("numeric", "categorical")


@dataclass
class _Plan:
    """One testable feature: its sides' profiles, kind, test and (when needed) value counts."""

    name: str
    kind: str
    base: Side
    cur: Side
    method: str = ""
    keys: list[object] = field(default_factory=list)
    counts: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))


#: features per set of queries (see :func:`features_drift`)
CHUNK = 40


def features_drift(
    baseline: ir.Table,
    current: ir.Table,
    names: Sequence[str],
    kinds: Mapping[str, str] | None = None,
) -> list[FeatureDrift]:
    """Drift of each of ``names`` (in that order); ``kinds`` overrides the kind read.

    At most :data:`CHUNK` features go into one set of queries: the stacked queries grow with
    the features, and a workspace with 500 attribute columns (one UNION of 1,000 selects)
    took minutes to compile and ran out of a 4 GB address space (the hostile-file corpus).
    """
    if len(names) > CHUNK:
        return [
            drift
            for i in range(0, len(names), CHUNK)
            for drift in features_drift(baseline, current, names[i : i + CHUNK], kinds)
        ]
    kinds = dict(kinds or {})
    results: dict[str, FeatureDrift] = {}
    both = []
    for name in names:
        if name not in baseline.columns:
            results[name] = untested(name, "not in the baseline sample")
        elif name not in current.columns:
            results[name] = untested(name, "not in the current sample")
        else:
            both.append(name)
    plans = _plans(baseline, current, both, kinds, results)
    numeric = [p for p in plans if p.kind == "numeric"]
    gaps = ecdf(baseline, current, {p.name: (p.base.n, p.cur.n) for p in numeric})
    edges = {p.name: _psi.decile_edges(p.base.n, gaps[p.name].deciles) for p in numeric}
    below = at_most(baseline, current, edges)
    for p in plans:
        results[p.name] = _result(p, gaps.get(p.name), edges.get(p.name, []), below)
    return [results[name] for name in names]


def _plans(
    baseline: ir.Table,
    current: ir.Table,
    names: list[str],
    kinds: dict[str, str],
    results: dict[str, FeatureDrift],
) -> list[_Plan]:
    """The testable features with their test chosen; the others go to ``results`` as coded
    results."""
    base, cur = profile(baseline, current, names)
    counted = {  # categories, and numbers with few values: each value counted
        name: family({base[name].dtype, cur[name].dtype})
        for name in names
        if not (base[name].dtype.is_temporal() or cur[name].dtype.is_temporal())
        and (
            kinds.get(name) == "categorical"
            or not (is_number(base[name].dtype) and is_number(cur[name].dtype))
            or (base[name].few_values and cur[name].few_values)
        )
    }
    counts = value_counts(baseline, current, counted)
    plans = []
    for name in names:
        b, c = base[name], cur[name]
        if name in counts:
            b = replace(b, distinct=len(counts[name][0]))
            c = replace(c, distinct=len(counts[name][1]))
        plan = _plan(name, b, c, kinds.get(name))
        if isinstance(plan, FeatureDrift):
            results[name] = plan
            continue
        n_values = _stattests.FEW_VALUES + 1  # more than a few: one side alone has more
        if name in counts:
            plan.keys = sorted(set(counts[name][0]) | set(counts[name][1]), key=str)
            b_counts, c_counts = counts[name]
            plan.counts = (_array(b_counts, plan.keys), _array(c_counts, plan.keys))
            n_values = len(plan.keys)
        plan.method = _stattests.choose_method(plan.base.n, n_values, plan.kind)
        plans.append(plan)
    return plans


def _array(counts: dict[object, int], keys: list[object]) -> np.ndarray:
    """The counts of ``keys`` in order (0 for a key not seen)."""
    return np.array([counts.get(k, 0) for k in keys], dtype=np.int64)


def _plan(name: str, base: Side, cur: Side, kind: str | None) -> _Plan | FeatureDrift:
    """The feature's plan, or its coded result when it cannot be tested."""
    counts = {
        "n_baseline": base.n,
        "n_current": cur.n,
        "missing_baseline": base.missing,
        "missing_current": cur.missing,
    }
    if base.dtype.is_temporal() or cur.dtype.is_temporal():
        reason = "a date: not tested (as in Evidently); its drift shows in the day counts"
        return untested(name, reason, kind="datetime", **counts)
    shown = base if base.n else cur  # the baseline's type and values, unless it has none
    many = _aggregates.FEW_AT_MOST + 1  # not counted: more than a few values
    read = _stattests.column_kind(shown.dtype, many if shown.distinct is None else shown.distinct)
    if base.n == 0 or cur.n == 0:
        side = "either sample" if base.n == cur.n == 0 else _side(base.n == 0)
        return untested(name, f"no values in {side}", kind=kind or read, **counts)
    if (
        kind == "numeric"
        and read == "categorical"
        and not (is_number(base.dtype) and is_number(cur.dtype))
    ):
        raise SegmintError(
            f"Feature '{name}' was asked to be compared as numeric, but its values are not "
            f"numbers (they are {shown.dtype}).",
            fix="compare it as categorical (leave kind out).",
        )
    return _Plan(name, kind or read, base, cur)


def _result(
    plan: _Plan,
    gaps: Ecdf | None,
    edges: list[float],
    below: tuple[dict[str, list[int]], dict[str, list[int]]],
) -> FeatureDrift:
    test = _test(plan, gaps)
    if plan.kind == "numeric":
        sides = (below[0][plan.name], plan.base.n), (below[1][plan.name], plan.cur.n)
        psi, bins = _psi.numeric_bins(edges, *sides)
    else:
        psi, bins = _psi.categorical_bins(plan.keys, *plan.counts)
    return FeatureDrift(
        plan.name,
        plan.kind,
        test.method,
        test.statistic,
        test.threshold,
        test.p_value,
        test.drifted,
        plan.base.n,
        plan.cur.n,
        psi,
        bins,
        missing_baseline=plan.base.missing,
        missing_current=plan.cur.missing,
    )


def _test(plan: _Plan, gaps: Ecdf | None) -> _stattests.TestResult:
    if plan.method in ("ks", "wasserstein"):
        assert gaps is not None  # every numeric feature has its gaps
        if plan.method == "ks":
            return _stattests.ks_test(gaps.dmax, gaps.dmin, plan.base.n, plan.cur.n)
        return _stattests.wasserstein_test(gaps.area, plan.base.std or 0.0)
    tests = {
        "chisquare": _stattests.chisquare_test,
        "z": _stattests.z_test,
        "jensenshannon": _stattests.jensenshannon_test,
    }
    return tests[plan.method](*plan.counts)


def _side(baseline_empty: bool) -> str:
    return "the baseline sample" if baseline_empty else "the current sample"


def same_engine(baseline: ir.Table, current: ir.Table) -> None:
    """A user error unless both tables live in the same engine (one connection)."""
    try:
        b, c = baseline._find_backend(), current._find_backend()
    except IbisError:  # an in-memory table alone: it runs on the default backend
        return
    if b is not c:
        raise SegmintError(
            "The baseline and current tables live in different engines (connections); drift "
            "is computed in one engine.",
            fix="copy one table into the other's engine (e.g. con.create_table).",
        )
