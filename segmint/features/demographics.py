"""Demographic features (M5): age, income and its band, household, contact and consent flags.

All are read from the ``customers`` table (one row per customer), as Ibis expressions:

* ``age`` — full years from ``birth_date`` to the as-of date; the ``age`` column when there is no
  birth date (or the birth date lies after the as-of date);
* ``income_band`` — ``income`` cut at 25k, 50k, 75k, 100k and 150k (see :data:`INCOME_BANDS`);
* ``consent_*`` — a missing consent counts as *no* consent; ``has_email`` / ``has_phone`` —
  an e-mail with an ``@`` / a non-blank phone number is on file.

>>> from datetime import datetime
>>> import ibis, pandas as pd
>>> people = ibis.memtable(pd.DataFrame({"customer_id": ["C1"], "income": [61_000.0],
...     "birth_date": pd.to_datetime(["1990-06-30"]).date, "email": ["a@b.org"],
...     "consent_sms": [None]}))
>>> row = demographic_features(people, datetime(2024, 6, 29)).table.to_pyarrow().to_pylist()[0]
>>> row["age"], row["income_band"], row["has_email"], row["consent_sms"]
(33, '50k-75k', True, False)
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from segmint.features._common import FeaturePart, trimmed

__all__ = ["INCOME_BANDS", "demographic_features", "income_band"]

#: (upper bound, exclusive; label); the last band has no upper bound.
INCOME_BANDS: tuple[tuple[float | None, str], ...] = (
    (25_000, "<25k"),
    (50_000, "25k-50k"),
    (75_000, "50k-75k"),
    (100_000, "75k-100k"),
    (150_000, "100k-150k"),
    (None, "150k+"),
)

_PASS = ("income", "gender", "education", "children", "household_size")
_CONSENTS = ("consent_email", "consent_sms", "consent_ads")


def income_band(income: ir.NumericValue) -> ir.StringValue:
    """The band label of an income (NULL stays NULL)."""
    branches = [(income < upper, label) for upper, label in INCOME_BANDS if upper is not None]
    band = ibis.cases(*branches, else_=INCOME_BANDS[-1][1])
    return ibis.ifelse(income.isnull(), ibis.null("string"), band)


def age_at(birth: ir.DateValue, as_of: datetime) -> ir.IntegerValue:
    """Full years from ``birth`` to the as-of date; NULL for a birth date after it."""
    day = as_of.date()
    not_yet = (birth.month() * 100 + birth.day()) > (day.month * 100 + day.day)
    years = day.year - birth.year() - ibis.ifelse(not_yet, 1, 0)
    return ibis.ifelse(birth <= day, years, ibis.null("int64"))


def demographic_features(customers: ir.Table, as_of: datetime) -> FeaturePart:
    """Demographic, contact and consent columns of ``customers`` (columns it lacks are left out)."""
    c = customers
    cols: dict[str, ir.Value] = {}
    ages = []
    if "birth_date" in c.columns:
        ages.append(age_at(c.birth_date.cast("date"), as_of))
    if "age" in c.columns:
        ages.append(c.age.cast("int64"))
    if ages:
        cols["age"] = ibis.coalesce(*ages) if len(ages) > 1 else ages[0]
    for name in _PASS:
        if name in c.columns:
            cols[name] = c[name]
            if name == "income":
                cols["income_band"] = income_band(c.income)
    for name in _CONSENTS:
        if name in c.columns:
            cols[name] = c[name].fill_null(False)
    if "email" in c.columns:
        cols["has_email"] = c.email.contains("@").fill_null(False)
    if "phone" in c.columns:
        cols["has_phone"] = (trimmed(c.phone).length() > 0).fill_null(False)
    return FeaturePart(c.select("customer_id", **cols))
