"""Per-customer basics computed in the engine: recency, frequency, monetary, tenure.

Definitions (documented in docs/features.md and tested against pandas):

* a *purchase line* has status paid or refunded and a non-negative amount;
* ``frequency`` = distinct order_id over purchase lines;
* ``monetary_total`` = sum of amount over paid lines plus every negative line (credit notes of
  cancellations and refunds net against revenue; a positive line marked refunded, cancelled
  or pending brought no money in);
* ``avg_order_value`` = monetary_total / frequency;
* ``recency_days`` = calendar days from the last purchase to the as-of date;
* ``tenure_days`` = calendar days from the first purchase to the as-of date.

Orders after ``as_of`` and lines without a customer are ignored. The default ``as_of`` is the
time of the last order in the table, so a customer who bought that day has recency 0.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import ibis
import ibis.expr.types as ir

from segmint.exceptions import SpecError
from segmint.features._common import cents, exact_sum
from segmint.ingest.coerce import plausible_range

__all__ = ["BASIC_FEATURES", "customer_basics", "resolve_as_of"]

#: name -> (unit, meaning)
BASIC_FEATURES: dict[str, tuple[str, str]] = {
    "recency_days": ("days", "days since the last purchase, at the as-of date"),
    "frequency": ("orders", "distinct orders with a purchase line"),
    "monetary_total": ("currency units", "net revenue: paid lines plus all credit lines"),
    "avg_order_value": ("currency units per order", "monetary_total / frequency"),
    "tenure_days": ("days", "days since the first purchase, at the as-of date"),
    "first_order_at": ("UTC timestamp", "first purchase"),
    "last_order_at": ("UTC timestamp", "last purchase"),
}


def resolve_as_of(orders: ir.Table | None, as_of: str | date | datetime | None) -> datetime:
    """The as-of time: the given one, else the last order's time, else now (UTC).

    A plain date means the end of that day; a zone-aware time is converted to naive UTC.
    Only plausible order times (:func:`segmint.ingest.coerce.plausible_range`) can become the
    default, and a given as-of outside that range is refused: a placeholder such as
    9999-12-31 would otherwise make every customer look long gone.

    >>> resolve_as_of(None, "2024-12-31")
    datetime.datetime(2024, 12, 31, 23, 59, 59)
    """
    lo, hi = plausible_range()
    if as_of is None:
        value = None
        if orders is not None:
            t = orders.ordered_at
            first = datetime(lo.year, lo.month, lo.day)
            end = datetime(hi.year, hi.month, hi.day) + timedelta(days=1)
            value = t.max(where=(t >= first) & (t < end)).execute()
        if value is None or value != value:  # no orders (None or NaT)
            return datetime.now(UTC).replace(tzinfo=None)
        return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    parsed = _parse_as_of(as_of)
    if not lo <= parsed.date() <= hi:
        raise SpecError(
            f"The as-of date {parsed:%Y-%m-%d} is outside the plausible range of order dates "
            f"({lo.isoformat()} to {hi.isoformat()}).",
            fix="pass --as-of with the date the analysis should look from, e.g. the day of "
            "the last order.",
        )
    return parsed


def _parse_as_of(as_of: str | date | datetime) -> datetime:
    if isinstance(as_of, datetime):
        return as_of.astimezone(UTC).replace(tzinfo=None) if as_of.tzinfo else as_of
    if isinstance(as_of, date):
        return datetime(as_of.year, as_of.month, as_of.day, 23, 59, 59)
    try:
        parsed = datetime.fromisoformat(as_of)
    except ValueError:
        raise SpecError(
            "The as-of date must be an ISO date or time such as 2024-12-31 or "
            f"2024-12-31T18:00:00. Got {as_of!r}.",
            fix="pass --as-of YYYY-MM-DD (the end of that day is used).",
        ) from None
    if len(as_of) <= 10:  # a plain date means the end of that day
        parsed = parsed.replace(hour=23, minute=59, second=59)
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def customer_basics(orders: ir.Table, as_of: datetime) -> ir.Table:
    """One row per customer with the basic features, as an Ibis expression."""
    t = orders.filter(orders.customer_id.notnull(), orders.ordered_at <= as_of)
    purchase = t.status.isin(["paid", "refunded"]) & (t.amount >= 0)
    revenue = (t.status == "paid") | (t.amount < 0)
    agg = t.group_by("customer_id").aggregate(
        frequency=t.order_id.nunique(where=purchase),
        monetary_total=exact_sum(t.amount, where=revenue).fill_null(0.0),
        first_order_at=t.ordered_at.min(where=purchase),
        last_order_at=t.ordered_at.max(where=purchase),
    )
    as_of_date = ibis.literal(as_of.date())
    return agg.select(
        "customer_id",
        recency_days=as_of_date.delta(agg.last_order_at.date(), unit="day"),
        frequency=agg.frequency,
        monetary_total=cents(agg.monetary_total),
        avg_order_value=ibis.ifelse(
            agg.frequency > 0, cents(agg.monetary_total / agg.frequency), ibis.null()
        ),
        tenure_days=as_of_date.delta(agg.first_order_at.date(), unit="day"),
        first_order_at=agg.first_order_at,
        last_order_at=agg.last_order_at,
    ).order_by("customer_id")
