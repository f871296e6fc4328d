"""The aggregates drift is computed from, as Ibis queries: only these leave the engine.

A feature table can hold millions of customers in a Spark lakehouse; drift must not pull them
to the driver. Every statistic segmint reports is a function of a few aggregates per feature
and side: counts of present and missing values, distinct values, the population standard
deviation, value counts (categorical features and numbers with few values), the baseline's
order statistics around the deciles, counts at or below the PSI edges, and two reductions of
the pooled empirical distribution functions (the largest gap, for Kolmogorov–Smirnov, and the
area between them, for Wasserstein). Those two are exact, not read off a grid: the values of
both sides are stacked, counted cumulatively per feature in one window, and reduced in the
engine, so what comes back is one row per feature. The queries are plain Ibis (aggregates,
group-bys, one window partitioned by feature) and run unchanged on DuckDB and on Spark.

Missing means NULL, and for numbers also NaN and ±∞ (the values Evidently drops)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from segmint.monitor._psi import QUANTILES

__all__ = ["Ecdf", "Side", "at_most", "ecdf", "family", "present", "profile", "value_counts"]


#: approximate distinct values above which a number surely has more than a few; up to it
#: its values are counted exactly. HyperLogLog (DuckDB's and Spark's approximate count) is
#: all but exact this small, so a number with five values is never reported above twenty.
FEW_AT_MOST = 20


@dataclass(frozen=True)
class Side:
    """One feature on one side: present values, missing ones, approximate distinct values
    (numbers only), the population standard deviation (numbers only; None without values),
    the dtype, and the exact distinct values once counted (None: more than
    :data:`FEW_AT_MOST`)."""

    n: int
    missing: int
    about_distinct: int | None
    std: float | None
    dtype: ibis.DataType
    distinct: int | None = None

    @property
    def few_values(self) -> bool:
        """At most :data:`FEW_AT_MOST` distinct values (about): worth counting each value."""
        return self.about_distinct is None or self.about_distinct <= FEW_AT_MOST


@dataclass(frozen=True)
class Ecdf:
    """The pooled empirical distribution functions of one numeric feature, reduced.

    ``dmax``/``dmin``: the largest and smallest F_baseline − F_current over the pooled values;
    ``area``: ∫ |F_baseline − F_current| dx; ``deciles``: for each of :data:`QUANTILES`, the
    baseline's order statistics numpy's linear quantile interpolates between (the second is
    None when there is none, with one value).
    """

    dmax: float
    dmin: float
    area: float
    deciles: list[tuple[float, float | None]]


def is_number(dtype: ibis.DataType) -> bool:
    """Integers, floats and decimals (booleans are categories)."""
    return bool(dtype.is_numeric()) and not dtype.is_boolean()


def present(column: ir.Column) -> ir.BooleanValue:
    """True where ``column`` holds a value drift counts: not NULL, and for numbers not NaN/±∞."""
    if column.type().is_floating() or column.type().is_decimal():
        x = column.cast("float64")
        return x.notnull() & ~x.isnan() & ~x.isinf()
    return column.notnull()


def profile(
    baseline: ir.Table, current: ir.Table, features: Sequence[str]
) -> tuple[dict[str, Side], dict[str, Side]]:
    """Counts, approximate distinct values and standard deviation of each feature on each
    side, in one query (the two one-row aggregates side by side). Distinct values are
    approximate because exact ones cost Spark a copy of every row per column; only whether a
    number has a few values matters, and those are then counted exactly."""
    rows = []
    for side, table in enumerate((baseline, current)):
        aggs: dict[str, ir.Scalar] = {f"r{side}": table.count()}
        for i, name in enumerate(features):
            x, keep = table[name], present(table[name])
            aggs[f"n{side}_{i}"] = x.count(where=keep)
            if is_number(x.type()):
                aggs[f"d{side}_{i}"] = x.approx_nunique(where=keep)
                aggs[f"s{side}_{i}"] = x.cast("float64").std(how="pop", where=keep)
        rows.append(table.aggregate(**aggs))
    row = rows[0].cross_join(rows[1]).to_pyarrow().to_pylist()[0]
    out: tuple[dict[str, Side], dict[str, Side]] = ({}, {})
    for side, table in enumerate((baseline, current)):
        schema = table.schema()
        for i, name in enumerate(features):
            n, distinct = int(row[f"n{side}_{i}"]), row.get(f"d{side}_{i}")
            out[side][name] = Side(
                n=n,
                missing=int(row[f"r{side}"]) - n,
                about_distinct=None if distinct is None else int(distinct),
                std=row.get(f"s{side}_{i}"),
                dtype=schema[name],
            )
    return out


#: the column a value of each family is counted in (one stacked query for all features)
FAMILIES = {"bool": "boolean", "int": "int64", "float": "float64", "str": "string"}


def family(dtypes: set[ibis.DataType]) -> str:
    """Where values of these types (one feature, both sides) are counted: booleans, integers,
    text, and floats for decimals or numbers of mixed types; anything else as text."""
    if all(t.is_boolean() for t in dtypes):
        return "bool"
    if all(t.is_integer() for t in dtypes):
        return "int"
    if all(is_number(t) for t in dtypes):
        return "float"
    return "str"


def value_counts(
    baseline: ir.Table, current: ir.Table, features: Mapping[str, str]
) -> dict[str, tuple[dict[object, int], dict[object, int]]]:
    """How often each present value of each feature (name → :func:`family`) occurs on each
    side, in one group-by over the stacked features."""
    if not features:
        return {}
    names = list(features)
    parts = []
    for i, (name, fam) in enumerate(features.items()):
        for side, table in enumerate((baseline, current)):
            kept = table.filter(present(table[name]))
            cols = {
                k: (kept[name].cast(t) if k == fam else ibis.null(t)) for k, t in FAMILIES.items()
            }
            parts.append(
                kept.select(
                    f=ibis.literal(i, type="int64"), side=ibis.literal(side, type="int64"), **cols
                )
            )
    stacked = ibis.union(*parts)
    keys = ["f", "side", *FAMILIES]
    rows = stacked.group_by(keys).aggregate(k=stacked.count()).to_pyarrow().to_pylist()
    out: dict[str, tuple[dict[object, int], dict[object, int]]] = {n: ({}, {}) for n in names}
    for r in rows:
        name = names[r["f"]]
        out[name][r["side"]][r[features[name]]] = int(r["k"])
    return out


def ecdf(
    baseline: ir.Table, current: ir.Table, sizes: Mapping[str, tuple[int, int]]
) -> dict[str, Ecdf]:
    """:class:`Ecdf` of each feature of ``sizes`` (name → present values on each side), with
    the baseline's order statistics around the deciles (:data:`QUANTILES`), in one query.

    Each feature's present values of both sides are tagged, stacked and grouped by value,
    counted cumulatively in a window partitioned by feature (so Spark spreads features over
    tasks) and reduced per feature. F at each distinct value is (values ≤ it) / n, as in
    scipy's ``ks_2samp`` and ``wasserstein_distance``, divided in the engine as numpy divides.
    The decile positions are numpy's, ⌊(n − 1)·q⌋ and the next, computed in the engine in
    doubles as numpy computes them.

    Grouping first pays because feature values repeat (days, counts, cents): on 1M customers
    × 25 such features DuckDB took 7 s instead of 33 s; on values that never repeat it costs
    more (8 continuous features: 16 s instead of 10 s).
    """
    if not sizes:
        return {}
    names = list(sizes)
    stacked = _long(baseline, current, names)
    grouped = stacked.group_by(["f", "v"]).aggregate(a=stacked.a.sum(), b=stacked.b.sum())
    upto = ibis.window(group_by="f", order_by="v", rows=(None, 0))
    run = grouped.mutate(
        # running counts as doubles (exact below 2**53; DuckDB's integer sums are 128-bit)
        ka=grouped.a.sum().over(upto).cast("float64"),
        kb=grouped.b.sum().over(upto).cast("float64"),
        nxt=grouped.v.lead().over(ibis.window(group_by="f", order_by="v")),
    )
    n1, n2 = (
        ibis.cases(*((run.f == i, sizes[n][side]) for i, n in enumerate(names))).cast("float64")
        for side in (0, 1)
    )
    d = run.ka / n1 - run.kb / n2
    below = {
        j: ((n1 - 1) * ibis.literal(q, type="float64")).floor()
        for j, q in enumerate(QUANTILES.tolist())
    }
    reduced = run.group_by("f").aggregate(
        dmax=d.max(),
        dmin=d.min(),
        area=(d.abs() * (run.nxt - run.v)).sum(),
        **{f"lo{j}": run.v.min(where=run.ka > p) for j, p in below.items()},
        **{f"hi{j}": run.v.min(where=run.ka > p + 1) for j, p in below.items()},
    )
    out = {}
    for r in reduced.to_pyarrow().to_pylist():
        ends = [(r[f"lo{j}"], r[f"hi{j}"]) for j in range(len(QUANTILES))]
        out[names[r["f"]]] = Ecdf(r["dmax"], r["dmin"], float(r["area"] or 0.0), ends)
    return out


def at_most(
    baseline: ir.Table, current: ir.Table, edges: Mapping[str, Sequence[float]]
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """For each feature, how many present values on each side are ≤ each of its edges, in one
    group-by over the stacked features (each value's bin: how many edges lie below it)."""
    out: tuple[dict[str, list[int]], dict[str, list[int]]] = (
        {name: [0] * len(cuts) for name, cuts in edges.items()},
        {name: [0] * len(cuts) for name, cuts in edges.items()},
    )
    names = [name for name, cuts in edges.items() if cuts]
    if not names:
        return out
    stacked = _long(baseline, current, names)
    bins = []
    for i, name in enumerate(names):
        above = [(stacked.v > ibis.literal(e, type="float64")).cast("int64") for e in edges[name]]
        bins.append((stacked.f == i, sum(above[1:], above[0])))
    binned = stacked.select("f", "b", bin=ibis.cases(*bins))
    counted = binned.group_by(["f", "b", "bin"]).aggregate(k=binned.count())
    for r in counted.to_pyarrow().to_pylist():
        below = out[int(r["b"])][names[r["f"]]]
        for j in range(r["bin"], len(below)):  # a value in bin k is ≤ edges k, k+1, …
            below[j] += int(r["k"])
    return out


def _long(baseline: ir.Table, current: ir.Table, names: Sequence[str]) -> ir.Table:
    """The present values of ``names`` on both sides as numbers, one row per value: ``f`` (the
    feature's index in ``names``), ``v``, and ``a``/``b`` (1 on the baseline's / current's
    rows). Stacked with UNION ALL: DuckDB's window ran about twice as fast on it as on an
    unpivot (1M customers × 8 features: 6–10 s against 17 s); Spark took the same time."""
    parts = []
    for i, name in enumerate(names):
        for side, table in enumerate((baseline, current)):
            kept = table.filter(present(table[name]))
            parts.append(
                kept.select(
                    f=ibis.literal(i, type="int64"),
                    v=kept[name].cast("float64"),
                    a=ibis.literal(int(side == 0), type="int64"),
                    b=ibis.literal(int(side == 1), type="int64"),
                )
            )
    return ibis.union(*parts)
