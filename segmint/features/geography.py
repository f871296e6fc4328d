"""Geographic features (M5): country, region, city and urban/rural, from ``customers``.

``country`` is the ISO 3166-1 alpha-2 code once ``clean`` has run (``clean`` also fills it from
the orders for customers that only appear there).

>>> import ibis, pandas as pd
>>> people = ibis.memtable(pd.DataFrame({"customer_id": ["C1"], "country": ["DE"]}))
>>> geographic_features(people).features
['country']
"""

from __future__ import annotations

import ibis.expr.types as ir

from segmint.features._common import FeaturePart

__all__ = ["GEOGRAPHIC", "geographic_features"]

GEOGRAPHIC = ("country", "region", "city", "urban_rural")


def geographic_features(customers: ir.Table) -> FeaturePart:
    """The geographic columns ``customers`` has, unchanged."""
    names = [n for n in GEOGRAPHIC if n in customers.columns]
    return FeaturePart(customers.select("customer_id", *names))
