"""The repeat-purchase summary that value models fit on (Fader, Hardie & Lee 2005), in the engine.

A *transaction* is a purchase day: all purchase lines (status paid or refunded, amount ≥ 0,
as in ``basic.py``) of one customer on one calendar day (UTC) count once, as in the CDNOW
papers. Per customer with at least one transaction at or before ``as_of``:

* ``frequency`` — repeat transactions: purchase days − 1;
* ``recency`` — time from the first to the last purchase day (0 without repeats);
* ``T`` — time from the first purchase day to the as-of day (the customer's "age");
* ``monetary_value`` — mean value of the repeat transactions (the first is left out; 0 without
  repeats), where a day's value is the sum of its paid lines (gross: credit notes are not
  netted, so CLV is a gross-revenue forecast; scale it with a margin);
* ``revenue`` — value of all transactions, the first included.

Times are in ``unit`` (``"weeks"``, the papers' unit, or ``"days"``). With ``holdout_end``,
``frequency_holdout`` counts the purchase days in (as_of, holdout_end] and ``duration_holdout``
is that period's length, for a calibration/holdout check.

>>> from datetime import datetime
>>> import ibis, pandas as pd
>>> lines = pd.DataFrame({"customer_id": ["a", "a", "a", "b"], "order_id": ["1", "2", "3", "4"],
...     "ordered_at": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 18:00",
...                                   "2024-01-15 12:00", "2024-01-08 10:00"]),
...     "amount": [10.0, 5.0, 30.0, 7.0], "status": ["paid"] * 4})
>>> s = repeat_summary(ibis.memtable(lines), datetime(2024, 1, 29), unit="weeks").to_pandas()
>>> s.to_dict("records")[0]
{'customer_id': 'a', 'frequency': 1, 'recency': 2.0, 'T': 4.0, 'monetary_value': 30.0, 'revenue': 45.0}
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import ibis
import ibis.expr.types as ir

from segmint.exceptions import SpecError
from segmint.features._common import exact_sum, is_purchase, naive_utc

__all__ = ["SUMMARY_COLUMNS", "UNIT_DAYS", "repeat_summary"]

#: days per time unit
UNIT_DAYS: dict[str, float] = {"days": 1.0, "weeks": 7.0}
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value", "revenue")
Unit = Literal["days", "weeks"]


def _purchase_days(orders: ir.Table, start: datetime | None, end: datetime) -> ir.Table:
    """One row per customer and purchase day in (start, end]: day number and the day's value."""
    t = orders.filter(orders.customer_id.notnull(), orders.ordered_at <= end)
    if start is not None:
        t = t.filter(t.ordered_at > start)
    t = t.filter(is_purchase(t))
    paid = ibis.ifelse(t.status == "paid", t.amount, 0.0)
    t = t.mutate(day=t.ordered_at.date().epoch_days(), paid=paid)
    # summed as decimals: exact, so every engine gives the value models the same numbers (a
    # float sum depends on the row order, and the models' fits amplify the last bits)
    return t.group_by(["customer_id", "day"]).aggregate(value=exact_sum(t.paid))


def repeat_summary(
    orders: ir.Table,
    as_of: datetime,
    *,
    unit: Unit = "weeks",
    holdout_end: datetime | None = None,
) -> ir.Table:
    """The per-customer summary (columns above) as an Ibis expression, one row per buyer."""
    if unit not in UNIT_DAYS:
        raise SpecError(
            f"The time unit must be one of {', '.join(UNIT_DAYS)}. Got {unit!r}.",
            fix="use unit='weeks' (as in the papers) or unit='days'.",
        )
    as_of = naive_utc(as_of)
    per = UNIT_DAYS[unit]
    days = _purchase_days(orders, None, as_of)
    agg = days.group_by("customer_id").aggregate(
        n=days.day.count(),
        first=days.day.min(),
        last=days.day.max(),
        revenue=exact_sum(days.value),
        first_value=days.value.argmin(days.day),
    )
    as_of_day = ibis.literal(as_of.date()).epoch_days()
    freq = (agg.n - 1).cast("int64")
    summary = agg.select(
        "customer_id",
        frequency=freq,
        recency=(agg.last - agg.first).cast("float64") / per,  # a double on every engine
        T=(as_of_day - agg.first).cast("float64") / per,
        monetary_value=ibis.ifelse(
            freq > 0, (agg.revenue - agg.first_value) / freq.cast("float64"), 0.0
        ).cast("float64"),
        revenue=agg.revenue.cast("float64"),
    )
    if holdout_end is not None:
        holdout_end = naive_utc(holdout_end)
        if holdout_end <= as_of:
            raise SpecError(
                f"The holdout must end after the calibration period ({as_of:%Y-%m-%d}). "
                f"Got {holdout_end:%Y-%m-%d}.",
                fix="choose a calibration end before the last order date.",
            )
        later = _purchase_days(orders, as_of, holdout_end)
        counts = later.group_by("customer_id").aggregate(frequency_holdout=later.day.count())
        joined = summary.left_join(counts, "customer_id")
        duration = (holdout_end.date() - as_of.date()).days / per
        summary = joined.select(
            *[summary[c] for c in summary.columns],
            frequency_holdout=joined.frequency_holdout.fill_null(0).cast("int64"),
            duration_holdout=ibis.literal(float(duration)),
        )
    return summary.order_by("customer_id")
