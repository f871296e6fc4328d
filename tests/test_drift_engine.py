"""Drift computed in the engine: the statistics come from aggregates of Ibis queries, so they
must equal scipy's and numpy's on the same values (ties, the asymptotic KS p-value, deciles
of tiny samples), only aggregates may leave the engine, and Spark tables must give what
DuckDB gives for the same data (tests/test_monitor_drift.py checks each statistic against
scipy on pandas samples, which take the same path on an in-memory DuckDB)."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

import segmint
from segmint.monitor.drift import FeatureDrift, feature_drift, table_drift


def duck(**frames: pd.DataFrame) -> dict[str, ir.Table]:
    con = ibis.duckdb.connect()
    return {name: con.create_table(name, frame) for name, frame in frames.items()}


def one(results: list[FeatureDrift], feature: str) -> FeatureDrift:
    return next(r for r in results if r.feature == feature)


# ------------------------------------------------------------------ the same numbers as scipy


@pytest.mark.parametrize("n_current", [900, 25_000])  # scipy's exact p, then its asymptotic p
def test_ks_on_tied_integers_is_scipys_exact_and_asymptotic(n_current):
    rng = np.random.default_rng(3)
    base = rng.poisson(6, 800)
    cur = rng.poisson(6.4, n_current)
    t = duck(b=pd.DataFrame({"visits": base}), c=pd.DataFrame({"visits": cur}))
    r = table_drift(t["b"], t["c"])[0]
    want = stats.ks_2samp(base, cur)
    assert (r.kind, r.method) == ("numeric", "ks")
    assert r.statistic == pytest.approx(want.statistic, rel=1e-12)
    assert r.p_value == pytest.approx(want.pvalue, rel=1e-9)
    assert r.drifted == (want.pvalue <= 0.05)


def test_wasserstein_on_tied_values_is_scipys():
    rng = np.random.default_rng(4)
    base = np.round(rng.gamma(2, 30, 4000), 0)  # many ties
    cur = np.round(rng.gamma(2, 33, 2500), 0)
    t = duck(b=pd.DataFrame({"spend": base}), c=pd.DataFrame({"spend": cur}))
    r = table_drift(t["b"], t["c"])[0]
    want = stats.wasserstein_distance(base, cur) / np.std(base)
    assert r.method == "wasserstein"
    # the same terms as scipy's, summed in the engine's order
    assert r.statistic == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 11, 101, 1001])
def test_psi_edges_are_numpys_deciles_for_any_size(n):
    rng = np.random.default_rng(n)
    base = np.round(rng.normal(50, 10, n), 1)
    cur = np.round(rng.normal(52, 10, 300), 1)
    r = feature_drift("x", pd.Series(base), pd.Series(cur))
    edges = np.unique(np.quantile(base, np.arange(1, 10) / 10))
    assert [b["high"] for b in r.bins[:-1]] == pytest.approx(edges.tolist(), rel=1e-15)
    cuts = [-math.inf, *edges, math.inf]
    shares = [((lo < cur) & (cur <= hi)).mean() for lo, hi in itertools.pairwise(cuts)]
    assert [b["current_share"] for b in r.bins] == pytest.approx(shares, abs=1e-15)


def test_decimals_and_integer_float_mixes_compare_as_numbers():
    rng = np.random.default_rng(5)
    base = np.round(rng.gamma(2, 40, 600), 2)
    cur = np.round(rng.gamma(2, 44, 500), 2)
    as_decimal = pd.DataFrame({"spend": [Decimal(f"{v:.2f}") for v in base]})
    t = duck(b=as_decimal, c=pd.DataFrame({"spend": cur}))
    assert t["b"].schema()["spend"].is_decimal()
    r = table_drift(t["b"], t["c"])[0]
    want = stats.ks_2samp(base, cur)
    assert (r.kind, r.method) == ("numeric", "ks")
    assert r.statistic == pytest.approx(want.statistic, rel=1e-12)
    # integers on one side, floats on the other: one set of categories
    t = duck(b=pd.DataFrame({"n": [1, 2, 3] * 50}), c=pd.DataFrame({"n": [1.0, 2.0, 2.0] * 50}))
    r = table_drift(t["b"], t["c"])[0]
    assert (r.kind, r.method, [b["value"] for b in r.bins]) == (
        "categorical",
        "chisquare",
        [1, 2, 3],
    )


# ------------------------------------------------------------------ what leaves the engine


def test_only_aggregates_leave_the_engine(monkeypatch):
    rng = np.random.default_rng(6)
    n = 30_000
    frame = lambda shift: pd.DataFrame(  # noqa: E731
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "spend": rng.gamma(2, 50 * (1 + shift), n),
            "orders": rng.poisson(3, n),
            "region": rng.choice(["n", "s", "e", "w"], n),
            "vip": rng.random(n) < 0.1,
        }
    )
    t = duck(b=frame(0.0), c=frame(0.2))
    fetched: list[int] = []
    to_pyarrow = ir.Table.to_pyarrow

    def counted(self: ir.Table, *args: object, **kwargs: object) -> pa.Table:
        result = to_pyarrow(self, *args, **kwargs)
        fetched.append(result.num_rows)
        return result

    monkeypatch.setattr(ir.Table, "to_pyarrow", counted)
    table = table_drift(t["b"], t["c"])
    assert {r.feature for r in table} == {"spend", "orders", "region", "vip"}
    assert one(table, "spend").drifted and not one(table, "region").drifted
    # four queries; the largest answer is the counts of the few-valued features' values (the
    # orders' dozen or so, the regions, the flags) per side: tens of rows for 60,000 customers
    assert len(fetched) == 4 and max(fetched) <= 100, fetched


# ------------------------------------------------------------------ user errors


def test_tables_of_two_engines_and_unknown_kinds_are_user_errors():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0] * 10})
    a, b = duck(t=frame)["t"], duck(t=frame)["t"]
    with pytest.raises(segmint.SegmintError, match="different engines"):
        table_drift(a, b)
    with pytest.raises(segmint.SegmintError, match="'numeric' or 'categorical'"):
        table_drift(a, a, kinds={"x": "ordinal"})
    with pytest.raises(segmint.SegmintError, match="'nope'"):
        table_drift(a, a, ["nope"])
    r = table_drift(a, a, kinds={"x": "categorical"})[0]
    assert (r.kind, r.method, r.drifted) == ("categorical", "chisquare", False)


# ------------------------------------------------------------------ Spark equals DuckDB


def mixed(n: int, shift: float, seed: int) -> pd.DataFrame:
    """Every test on one table: features with up to 1,000 values (KS, chi-square, z) and
    more (Wasserstein, Jensen–Shannon), missing values, a date and a feature on one side."""
    rng = np.random.default_rng(seed)
    every_other = np.arange(n) % 2 == 0
    vip = pd.array(rng.random(n) < 0.1 + shift / 5, dtype="boolean")
    vip[~every_other] = pd.NA
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "spend": rng.gamma(2, 50 * (1 + shift), n),
            "orders": rng.poisson(3 + shift, n).astype(float),
            "region": rng.choice(["n", "s", "e", "w"], n),
            "plan": rng.choice(["a", "b", "c"], n, p=[0.5 - shift / 4, 0.3, 0.2 + shift / 4]),
            "vip": vip,
            "stars": rng.integers(1, 6, n),
            "first_order_at": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
        }
    )
    frame["recent_spend"] = frame["spend"].where(np.arange(n) % 3 == 0)  # a third present
    frame.loc[~every_other, "plan"] = None
    frame.loc[::50, "spend"] = np.nan
    return frame


@pytest.mark.spark
def test_drift_from_spark_tables_equals_duckdbs(spark):
    base = pa.Table.from_pandas(mixed(1500, 0.0, seed=1), preserve_index=False)
    cur = pa.Table.from_pandas(mixed(1200, 0.4, seed=2), preserve_index=False)
    base = base.append_column("legacy", pa.array(np.ones(1500)))  # the baseline's only
    spark.createDataFrame(base).createOrReplaceTempView("drift_engine_baseline")
    spark.createDataFrame(cur).createOrReplaceTempView("drift_engine_current")
    con = ibis.pyspark.connect(spark)
    on_spark = table_drift(con.table("drift_engine_baseline"), con.table("drift_engine_current"))
    duckdb = ibis.duckdb.connect()
    on_duckdb = table_drift(duckdb.create_table("b", base), duckdb.create_table("c", cur))

    assert [r.feature for r in on_spark] == [r.feature for r in on_duckdb]
    methods = {r.feature: r.method for r in on_spark}
    assert methods == {
        "recent_spend": "ks",
        "plan": "chisquare",
        "vip": "z",
        "spend": "wasserstein",
        "orders": "wasserstein",
        "region": "jensenshannon",
        "stars": "jensenshannon",
        "first_order_at": "none",
        "legacy": "none",
    }
    for s, d in zip(on_spark, on_duckdb, strict=True):
        # the Wasserstein area is summed in each engine's order: equal to 1e-9, the rest exactly
        assert s.statistic == pytest.approx(d.statistic, rel=1e-9, nan_ok=True)
        s_dict, d_dict = s.to_dict(), d.to_dict()
        assert {**s_dict, "statistic": 0} == {**d_dict, "statistic": 0}
    assert one(on_spark, "spend").missing_baseline == 30
    assert one(on_spark, "recent_spend").n_baseline == 500


def test_many_features_are_tested_in_chunks_with_the_same_results(monkeypatch):
    """Features go to the engine CHUNK at a time (500 attribute columns in one stacked query
    ran a run out of memory); the results do not depend on the chunking."""
    import numpy as np
    import pandas as pd

    from segmint.monitor import _tables
    from segmint.monitor.drift import table_drift

    rng = np.random.default_rng(3)
    cols = {f"f{i}": rng.normal(i % 3, 1, 400) for i in range(7)}
    cols["cat"] = rng.choice(["a", "b", "c"], 400)
    con = ibis.duckdb.connect()
    base = con.create_table("b", pd.DataFrame({"customer_id": range(400), **cols}))
    moved = {k: (v + 0.3 if k.startswith("f") else v) for k, v in cols.items()}
    cur = con.create_table("c", pd.DataFrame({"customer_id": range(400), **moved}))
    whole = table_drift(base, cur)
    monkeypatch.setattr(_tables, "CHUNK", 3)
    chunked = table_drift(base, cur)
    assert [(d.feature, d.statistic, d.p_value) for d in whole] == [
        (d.feature, d.statistic, d.p_value) for d in chunked
    ]
