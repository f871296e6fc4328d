"""The Polars peer of the end-to-end benchmark: segmint-no-value's steps, with Polars for the
data work and the reference's numpy / scikit-learn code for the models.

Why it exists: a user choosing a tool today weighs Polars as well as pandas, and issue 19 asks
segmint to be ≥ 1.5× faster than a Polars pipeline doing the same work. A slow peer would make
that ratio meaningless, so this one is written as a Polars user who cares about speed would
write it: lazy frames and expressions, the streaming engine where a step reads the file, every
per-customer number one ``group_by`` aggregation over precomputed line columns (no row-wise
Python, no ``map_elements``), and independent queries collected together (``pl.collect_all``)
so Polars runs them in parallel.

Steps (bench_run.py's docstring describes the analytical work; this module does the same):

1. read + clean: ``scan_parquet(...).unique()`` collected with the streaming engine (exact
   duplicate lines dropped); the line count before from the file's metadata; the cleaning
   counts, outlier bounds (linear quartiles), the exact customer count and the table profile
   (missing; distinct approximated as segmint's approx_count_distinct does) as one
   ``select`` of expressions, the outlier counts as a second;
2. the behavioral features (:func:`pl_features`): the top categories / channels by spend, then
   one ``group_by("customer_id")`` over the lines with the per-line amounts computed first,
   and one over orders (``group_by(customer, order)`` → sorted starts → gaps) joined to it;
3. RFM scores (:func:`pl_rfm`): ``rank("min")`` over the buyers, the names by lookup;
4. k-means, profiles, ranking and projection: ``bench_run.ref_segmentations`` on the feature
   table handed to pandas (``to_pandas``), as a Polars user hands data to scikit-learn (those
   steps are numpy / scikit-learn work in either peer);
5. the report as JSON, the segments as Parquet (``write_parquet``).

``bench_run.py --check`` asserts that this peer's features, cleaning counts and RFM segments
equal segmint's to the same tolerances as the pandas reference's (floats 1e-9 relative).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench_run import (
    REF_SETTINGS,
    Laps,
    _segmint_constant,
    _slugs,
    ref_report,
    ref_segmentations,
)

PURCHASE_STATUSES = ["paid", "refunded"]


def _round2(expr: Any) -> Any:
    """round(x, 2) as DuckDB does it (half away from zero)."""
    return expr.round(2, mode="half_away_from_zero")


def pl_read_clean(parquet: str) -> tuple[Any, dict[str, Any]]:
    """The lines without exact duplicates, and what segmint's clean and quality report count."""
    import polars as pl

    before = pl.scan_parquet(parquet).select(pl.len()).collect().item()  # file metadata
    lines = pl.scan_parquet(parquet).unique().collect(engine="streaming")
    rows = lines.height
    status, guests = pl.col("status"), pl.col("customer_id").null_count()
    bounds = {}
    for c in REF_SETTINGS["outlier_columns"]:
        q1 = pl.col(c).quantile(0.25, "linear")
        q3 = pl.col(c).quantile(0.75, "linear")
        bounds[f"{c}:low"] = q1 - 3 * (q3 - q1)
        bounds[f"{c}:high"] = q3 + 3 * (q3 - q1)
    first = lines.select(
        cancelled=(status == "cancelled").sum(),
        refunded=(status == "refunded").sum(),
        returned=pl.col("returned").fill_null(False).sum(),
        pending=(status == "pending").sum(),
        guest_lines=guests,
        customers=pl.col("customer_id").drop_nulls().n_unique(),
        **bounds,
        **{f"{c}:missing": pl.col(c).null_count() for c in lines.columns},
        # the table profile's distinct counts: approximate (HyperLogLog), as segmint's
        # approx_count_distinct (pandas has no approximate count: its reference counts exactly)
        **{f"{c}:distinct": pl.col(c).drop_nulls().approx_n_unique() for c in lines.columns},
    ).row(0, named=True)
    live = [c for c in REF_SETTINGS["outlier_columns"] if first[f"{c}:missing"] < rows and rows > 0]
    counts = lines.select(
        **{
            c: ((pl.col(c) < first[f"{c}:low"]) | (pl.col(c) > first[f"{c}:high"])).sum()
            for c in live
        }
    ).row(0, named=True)
    outliers = {
        c: {
            "count": int(counts[c]),
            "low": round(first[f"{c}:low"], 4),
            "high": round(first[f"{c}:high"], 4),
        }
        for c in live
        if counts[c]
    }
    n_guests = int(first["guest_lines"])
    info = {
        "rows_before": before,
        "rows": rows,
        "duplicates_removed": before - rows,
        "marked": {k: int(first[k]) for k in ("cancelled", "refunded", "returned", "pending")}
        | {"guest_lines": n_guests},
        "outliers": outliers,
        "checks": {
            "duplicate_rows": {"n_bad": before - rows, "share": (before - rows) / before},
            "missing_customer_id": {"n_bad": n_guests, "share": n_guests / rows if rows else 0.0},
        },
        "columns": {
            c: {"missing": int(first[f"{c}:missing"]), "distinct": int(first[f"{c}:distinct"])}
            for c in lines.columns
        },
        "customers": int(first["customers"]),
    }
    return lines, info


def _top_values(lines: Any, keys: list[str]) -> dict[str, list[Any]]:
    """The most-spent-on values of each of ``keys`` over all purchase lines (ties by value)."""
    import polars as pl

    purchase = (pl.col("status").is_in(PURCHASE_STATUSES) & (pl.col("amount") >= 0)).fill_null(
        False
    )
    p = lines.lazy().filter(purchase)
    queries = [
        p.filter(pl.col(k).is_not_null())
        .group_by(k)
        .agg(spend=pl.col("amount").sum())
        .sort(["spend", k], descending=[True, False])
        .head(REF_SETTINGS["top_categories"])
        for k in keys
    ]
    return {k: df[k].to_list() for k, df in zip(keys, pl.collect_all(queries), strict=True)}


def pl_features(lines: Any) -> tuple[Any, datetime]:
    """The behavioral feature family (docs/features.md), one row per customer sorted by
    customer_id, as of the last order's time; and that time."""
    import polars as pl

    as_of: datetime = lines["ordered_at"].max()
    days = REF_SETTINGS["window_days"]
    last_start = as_of - timedelta(days=days)
    prev_start = last_start - timedelta(days=days)
    mixes = {
        prefix: key
        for key, prefix in (("category", "cat"), ("channel", "channel"))
        if key in lines.columns
    }
    tops = _top_values(lines, list(mixes.values()))
    o = lines.lazy().filter(pl.col("customer_id").is_not_null() & (pl.col("ordered_at") <= as_of))
    amount, when = pl.col("amount"), pl.col("ordered_at")
    purchase = (pl.col("status").is_in(PURCHASE_STATUSES) & (amount >= 0)).fill_null(False)
    revenue = ((pl.col("status") == "paid") | (amount < 0)).fill_null(False)
    discount = pl.col("discount").fill_null(0.0)
    in_last = when > last_start
    in_prev = (when > prev_start) & ~in_last
    # per line first (plain columns), then one aggregation: sums and counts of columns
    base = {
        "purchase": purchase,
        "r_amt": pl.when(revenue).then(amount.fill_null(0.0)).otherwise(0.0),
        "p_amt": pl.when(purchase).then(amount).otherwise(0.0),
    }
    bought, r_amt, p_amt = pl.col("purchase"), pl.col("r_amt"), pl.col("p_amt")
    per_line = {
        "p_disc": pl.when(bought).then(discount).otherwise(0.0),
        "p_time": pl.when(bought).then(when),
        "discounted": bought & (discount > 0),
        "ret": pl.col("returned").fill_null(False),
        "r_last": pl.when(in_last).then(r_amt).otherwise(0.0),
        "r_prev": pl.when(in_prev).then(r_amt).otherwise(0.0),
    }
    mix_cols: list[str] = []
    for prefix, key in mixes.items():
        top = tops[key]
        if not top:
            continue
        for value, slug in zip(top, _slugs(top), strict=True):
            mix_cols.append(f"{prefix}_{slug}")
            per_line[mix_cols[-1]] = pl.when(pl.col(key) == value).then(p_amt).otherwise(0.0)
        mix_cols.append(f"{prefix}_other")
        in_top = pl.col(key).is_in(top).fill_null(False)
        per_line[mix_cols[-1]] = pl.when(in_top).then(0.0).otherwise(p_amt)
    sums = ["r_amt", "p_amt", "p_disc", "purchase", "discounted", "ret", "r_last", "r_prev"]
    customers = (
        o.with_columns(**base)
        .with_columns(**per_line)
        .group_by("customer_id")
        .agg(
            *[pl.col(c).sum() for c in [*sums, *mix_cols]],
            first=pl.col("p_time").min(),
            last=pl.col("p_time").max(),
        )
    )
    # orders: each starts at its earliest purchase line; gaps between consecutive starts
    orders = (
        o.filter(purchase & pl.col("order_id").is_not_null())
        .group_by("customer_id", "order_id")
        .agg(start=when.min())
        .sort("customer_id", "start")
        .with_columns(
            gap=pl.when(pl.col("customer_id") == pl.col("customer_id").shift()).then(
                pl.col("start").diff().dt.total_microseconds() / 86_400e6
            )
        )
        .group_by("customer_id")
        .agg(
            frequency=pl.len(),
            ipt_mean=pl.col("gap").mean(),
            ipt_std=pl.col("gap").std(),
        )
    )
    day = pl.lit(as_of.date())
    n_purchase = pl.when(pl.col("purchase") > 0).then(pl.col("purchase"))
    spend = pl.when(p_amt != 0).then(p_amt)
    gross = p_amt + pl.col("p_disc")
    frequency = pl.col("frequency").fill_null(0).cast(pl.Int64)
    features = (
        customers.join(orders, on="customer_id", how="left")
        .sort("customer_id")
        .select(
            "customer_id",
            recency_days=(day - pl.col("last").dt.date()).dt.total_days(),
            frequency=frequency,
            monetary_total=_round2(r_amt),
            avg_order_value=pl.when(frequency > 0).then(_round2(r_amt / frequency)),
            tenure_days=(day - pl.col("first").dt.date()).dt.total_days(),
            first_order_at="first",
            last_order_at="last",
            interpurchase_mean_days="ipt_mean",
            interpurchase_std_days="ipt_std",
            revenue_last_90d=_round2(pl.col("r_last")),
            revenue_prev_90d=_round2(pl.col("r_prev")),
            discount_share=pl.col("discounted") / n_purchase,
            discount_rate=pl.col("p_disc") / pl.when(gross != 0).then(gross),
            return_rate=pl.col("ret") / n_purchase,
            **{f"{c}_share": pl.col(c) / spend for c in mix_cols},
        )
        # streaming: the per-line columns flow into the aggregation in batches, never all
        # 20M × 20 of them in memory at once (Polars 2's default engine; named for clarity)
        .collect(engine="streaming")
    )
    return features, as_of


def pl_rfm(features: Any) -> tuple[Any, dict[str, Any]]:
    """RFM scores 1–5 and segment names, as segmint's RFM segmenter (docs/rfm.md): score =
    1 + ⌊5 × customers strictly worse / customers scored⌋ over the buyers."""
    import re

    import polars as pl

    seg_map = _segmint_constant("segment/rfm.py", "DEFAULT_SEGMENT_MAP")
    no_purchase = _segmint_constant("segment/rfm.py", "NO_PURCHASE")
    other = _segmint_constant("segment/rfm.py", "OTHER")
    bins = 5
    buyer = pl.col("frequency") > 0
    n = features.select(buyer.sum()).item()

    def score(column: str, descending: bool = False) -> Any:
        worse = pl.when(buyer).then(pl.col(column)).rank("min", descending=descending) - 1
        return (1 + (bins * worse.cast(pl.Int64)) // max(n, 1)).fill_null(0)

    names = [no_purchase] * 100  # index 10·R + FM
    for key in range(11, 100):
        if "0" not in (text := f"{key:02d}"):
            names[key] = next((v for p, v in seg_map.items() if re.fullmatch(p, text)), other)
    scores = features.select(
        "customer_id",
        r=score("recency_days", descending=True),  # larger is worse
        f=score("frequency"),
        m=score("monetary_total"),
    ).with_columns(fm=(pl.col("f") + pl.col("m") + 1) // 2)
    code = pl.col("r") * 10 + pl.col("fm")
    scores = scores.with_columns(
        label=pl.lit(pl.Series(names, dtype=pl.String)).gather(code),
        code=pl.col("r").cast(pl.String) + pl.col("fm").cast(pl.String),
    )
    codes = scores.filter(pl.col("r") > 0)["code"].value_counts(sort=True)
    details = {
        "n_scored": n,
        "no_purchase": features.height - n,
        "r_fm_codes": dict(zip(codes["code"].to_list(), codes["count"].to_list(), strict=True)),
    }
    return scores.select("customer_id", "label"), details


def polars_reference(parquet: str, workdir: str) -> dict[str, Any]:
    """Every step of the Polars peer; returns what bench_run.reference returns (the report,
    the features and labels as pandas objects for the check, the time of each step)."""
    import polars as pl

    lap = Laps()
    lines, quality = pl_read_clean(parquet)
    lap("read+clean")
    features, as_of = pl_features(lines)
    del lines
    lap("features")
    rfm_frame, rfm_details = pl_rfm(features)
    lap("rfm")
    # the model steps take numpy / pandas input (scikit-learn): hand the table over once
    table = features.to_pandas().set_index("customer_id")
    numeric = table.drop(columns=["first_order_at", "last_order_at"])
    rfm = rfm_frame.to_pandas().set_index("customer_id")["label"].rename(None)
    lap("to_pandas")
    clusters, segmentations = ref_segmentations(numeric, rfm, rfm_details, lap)
    report = ref_report(as_of, quality, list(table.columns), segmentations, workdir)
    rfm_frame.select(
        rfm="label", clusters=pl.Series(clusters.to_numpy(), dtype=pl.String)
    ).write_parquet(Path(workdir, "segments.parquet"))
    lap("write")
    return {
        "report": report,
        "features": table,
        "labels": {"rfm": rfm, "clusters": clusters},
        "reasons": {s["name"]: s["reasons"] for s in segmentations},
        "times": lap.times,
    }


def child_polars_full(parquet: str, workdir: str) -> dict[str, Any]:
    """The same analytical work as segmint-no-value, with Polars + scikit-learn."""
    import importlib

    # imported before the clock starts, as the pandas reference does (wall time counts them)
    for module in (
        "polars",
        "pandas",
        "pyarrow",
        "scipy.stats",
        "sklearn.cluster",
        "sklearn.decomposition",
        "sklearn.feature_selection",
        "sklearn.metrics",
        "sklearn.tree",
    ):
        importlib.import_module(module)
    t0 = time.perf_counter()
    out = polars_reference(parquet, workdir)
    k = out["report"]["segmentations"][1]["details"]["chosen_k"]
    return {"work_s": time.perf_counter() - t0, "k": k, "steps": out["times"]}
