"""Behavioral features (M5): RFM basics, inter-purchase time, mix, discounts, returns, web events.

Everything is an Ibis expression over ``orders`` (two aggregation passes: one over lines, one
over orders) and ``events`` (one pass). Definitions live in ``docs/features.md``; in short:

* purchase and revenue lines are defined as in :mod:`segmint.features.basic`;
* ``cat_<slug>_share`` / ``channel_<slug>_share`` = spend (amount of purchase lines) in that
  category / channel over all spend; only the top-N values by total spend get a column, the
  rest (and lines without a value) go to ``cat_other_share`` / ``channel_other_share``;
* inter-purchase times are the gaps, in days, between the start times of consecutive distinct
  orders (mean, and sample standard deviation, so it needs three orders).

>>> from datetime import datetime
>>> import ibis, pandas as pd
>>> lines = ibis.memtable(pd.DataFrame({
...     "order_id": ["A", "B"], "customer_id": ["C1", "C1"],
...     "ordered_at": pd.to_datetime(["2024-01-01", "2024-01-11"]), "amount": [10.0, 30.0],
...     "status": ["paid", "paid"], "discount": [0.0, 5.0], "returned": [False, False],
...     "category": ["toys", "books"], "channel": ["web", "web"]}))
>>> part = order_features(lines, datetime(2024, 1, 31), top_n=8)
>>> row = part.table.to_pyarrow().to_pylist()[0]
>>> row["frequency"], row["interpurchase_mean_days"], row["cat_books_share"], row["discount_rate"]
(2, 10.0, 0.75, 0.1111111111111111)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from segmint.features._common import (
    FeaturePart,
    cents,
    exact_sum,
    has_columns,
    is_purchase,
    is_revenue,
    orders_as_of,
    top_values,
    unique_slugs,
)

__all__ = ["ORDER_COLUMNS", "event_features", "order_features", "window_revenue"]

WINDOW_DAYS = 90


def order_features(
    orders: ir.Table, as_of: datetime, *, top_n: int, reference: ir.Table | None = None
) -> FeaturePart:
    """Per-customer behavioral features from the order lines at or before ``as_of``.

    ``reference``: the lines the top-N categories and channels are chosen from (default:
    ``orders``); an incremental update passes every line while ``orders`` holds only some
    customers', so those customers get the columns a full build gives them.
    """
    t = _narrow(_with_defaults(orders_as_of(orders, as_of)))
    ref = t if reference is None else _with_defaults(orders_as_of(reference, as_of))
    mixes = _top_mixes(ref, top_n)
    lines = _line_aggregates(t, as_of, mixes)
    per_order = _order_aggregates(t)
    j = lines.left_join(per_order, lines.customer_id == per_order.customer_id).select(
        lines, per_order.frequency, per_order.ipt_mean, per_order.ipt_std
    )
    freq = j.frequency.fill_null(0)
    money = j.monetary.fill_null(0.0)
    day = ibis.literal(as_of.date())
    cols: dict[str, ir.Value] = {
        "recency_days": day.delta(j.last_order_at.date(), unit="day"),
        "frequency": freq,
        "monetary_total": cents(money),
        "avg_order_value": ibis.ifelse(freq > 0, cents(money / freq), ibis.null()),
        "tenure_days": day.delta(j.first_order_at.date(), unit="day"),
        "first_order_at": j.first_order_at,
        "last_order_at": j.last_order_at,
        "interpurchase_mean_days": j.ipt_mean,
        "interpurchase_std_days": j.ipt_std,
        "revenue_last_90d": cents(j.rev_last.fill_null(0.0)),
        "revenue_prev_90d": cents(j.rev_prev.fill_null(0.0)),
        "discount_share": j.n_discounted / j.n_purchase.nullif(0),
        "discount_rate": j.discount_sum / (j.spend + j.discount_sum).nullif(0),
        "return_rate": j.n_returned / j.n_purchase.nullif(0),
    }
    for prefix, (_, slugs) in mixes.items():
        for s in [*slugs, "other"]:
            cols[f"{prefix}_{s}_share"] = j[f"{prefix}_{s}"] / j.spend.nullif(0)
    fill = {
        "frequency": 0,
        "monetary_total": 0.0,
        "revenue_last_90d": 0.0,
        "revenue_prev_90d": 0.0,
    }
    return FeaturePart(j.select("customer_id", **cols), fill)


def event_features(
    events: ir.Table, as_of: datetime, *, top_n: int, reference: ir.Table | None = None
) -> FeaturePart:
    """Counts of each of the ``top_n`` most frequent event names, and of all events, per customer.

    Only identified events (with a customer id) at or before ``as_of`` count. ``reference``:
    the events the top names are chosen from (default: ``events``).
    """
    e = events.filter(events.customer_id.notnull(), events.occurred_at <= as_of)
    r = e if reference is None else reference
    r = r.filter(r.customer_id.notnull(), r.occurred_at <= as_of)
    rows = r.group_by("event_name").aggregate(n=r.count()).to_pyarrow().to_pylist()
    names = top_values(rows, "event_name", "n", top_n)
    slugs = unique_slugs(names, reserved={"total"})
    metrics = {
        f"events_{s}": e.count(where=e.event_name == n) for n, s in zip(names, slugs, strict=True)
    }
    agg = e.group_by("customer_id").aggregate(**metrics, events_total=e.count())
    return FeaturePart(agg, dict.fromkeys([*metrics, "events_total"], 0))


def window_revenue(orders: ir.Table, as_of: datetime) -> ir.Table:
    """``revenue_last_90d`` and ``revenue_prev_90d`` per customer with a line in the two
    windows before ``as_of``, exactly as :func:`order_features` computes them, from those
    lines only (an incremental update moves the windows without re-reading every line)."""
    start = as_of - timedelta(days=2 * WINDOW_DAYS)
    t = _with_defaults(orders_as_of(orders, as_of))
    agg = _line_aggregates(t.filter(t.ordered_at > start), as_of, {})
    return agg.select(
        "customer_id",
        revenue_last_90d=cents(agg.rev_last.fill_null(0.0)),
        revenue_prev_90d=cents(agg.rev_prev.fill_null(0.0)),
    )


#: the order columns the behavioral features read
ORDER_COLUMNS = ("customer_id", "order_id", "ordered_at", "amount", "status", "discount", "returned",
         "category", "channel")  # fmt: skip


def _narrow(t: ir.Table) -> ir.Table:
    """Only the columns the features read: DuckDB materializes the lines once for the two
    passes, and a copy of every column (names, currencies) cost 1–2 s on 2.5M lines."""
    return t.select(*[c for c in ORDER_COLUMNS if c in t.columns])


def _with_defaults(t: ir.Table) -> ir.Table:
    """Defaults for columns a non-canonical table may lack: paid, no discount, not returned."""
    defaults = {"status": "paid", "discount": 0.0, "returned": False}
    missing = {k: ibis.literal(v) for k, v in defaults.items() if not has_columns(t, k)}
    return t.mutate(**missing) if missing else t


def _top_mixes(t: ir.Table, top_n: int) -> dict[str, tuple[list[Any], list[str]]]:
    """Top-N categories and channels by spend (one small aggregate): prefix -> (values, slugs)."""
    keys = [c for c in ("category", "channel") if c in t.columns]
    if not keys:
        return {}
    purchase = is_purchase(t)
    rows = (
        t.filter(purchase)
        .group_by(keys)
        .aggregate(spend=t.filter(purchase).amount.sum())
        .to_pyarrow()
        .to_pylist()
    )
    out = {}
    for key, prefix in (("category", "cat"), ("channel", "channel")):
        if key in keys:
            values = top_values(rows, key, "spend", top_n)
            if values:
                out[prefix] = (values, unique_slugs(values, reserved={"other"}))
    return out


def _line_aggregates(
    t: ir.Table, as_of: datetime, mixes: dict[str, tuple[list[Any], list[str]]]
) -> ir.Table:
    """Pass 1: one group-by over the lines (money, windows, discounts, returns, mixes).

    The purchase and revenue amounts are computed once per line and summed under CASE, which
    DuckDB runs about a quarter faster than one FILTER clause per aggregate.
    """
    purchase = is_purchase(t)
    x = t.mutate(
        p_amount=ibis.ifelse(purchase, t.amount, ibis.null("float64")),
        r_amount=ibis.ifelse(is_revenue(t), t.amount, ibis.null("float64")),
        p_discount=ibis.ifelse(purchase, t.discount.fill_null(0.0), ibis.null("float64")),
        p_time=ibis.ifelse(purchase, t.ordered_at, ibis.null("timestamp")),
    )
    last_start = as_of - timedelta(days=WINDOW_DAYS)
    prev_start = as_of - timedelta(days=2 * WINDOW_DAYS)
    in_prev = (x.ordered_at > prev_start) & (x.ordered_at <= last_start)
    metrics: dict[str, ir.Value] = {
        "monetary": exact_sum(x.r_amount),  # rounded to cents: exact on every engine
        "first_order_at": x.p_time.min(),
        "last_order_at": x.p_time.max(),
        "rev_last": exact_sum(ibis.ifelse(x.ordered_at > last_start, x.r_amount, None)),
        "rev_prev": exact_sum(ibis.ifelse(in_prev, x.r_amount, None)),
        "n_purchase": x.p_time.count(),
        "n_discounted": x.count(where=x.p_discount > 0),
        "n_returned": x.count(where=x.returned.fill_null(False)),
        "discount_sum": x.p_discount.sum(),
        "spend": x.p_amount.sum(),
    }
    for prefix, (values, slugs) in mixes.items():
        col = x.category if prefix == "cat" else x.channel
        for value, s in zip(values, slugs, strict=True):
            metrics[f"{prefix}_{s}"] = ibis.ifelse(col == value, x.p_amount, 0.0).sum()
        in_top = col.isin(values).fill_null(False)
        metrics[f"{prefix}_other"] = ibis.ifelse(in_top, 0.0, x.p_amount).sum()
    return x.group_by("customer_id").aggregate(**metrics)


def _order_aggregates(t: ir.Table) -> ir.Table:
    """Pass 2: purchase lines → orders → per customer: order count and inter-purchase gaps."""
    p = t.filter(is_purchase(t), t.order_id.notnull())
    orders = p.group_by(["customer_id", "order_id"]).aggregate(start=p.ordered_at.min())
    # Orders that start at the same time are 0 days apart whichever comes first: no tie-breaker.
    prev = orders.start.lag().over(group_by=orders.customer_id, order_by=orders.start)
    gaps = orders.mutate(
        gap=(orders.start.epoch_seconds() - prev.epoch_seconds()).cast("float64") / 86400
    )
    return gaps.group_by("customer_id").aggregate(
        frequency=gaps.count(), ipt_mean=gaps.gap.mean(), ipt_std=gaps.gap.std()
    )
