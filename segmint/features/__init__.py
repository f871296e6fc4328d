"""Build features: per-customer values computed in the engine as Ibis expressions (M5).

>>> import segmint
>>> ws = segmint.Workspace("shop.duckdb")                          # doctest: +SKIP
>>> ws.features(families=["behavioral", "demographic"])            # doctest: +SKIP
"""

from segmint.features.basic import BASIC_FEATURES, customer_basics, resolve_as_of
from segmint.features.build import build_features, check_families
from segmint.features.catalog import FAMILIES, FEATURE_CATALOG, FeatureInfo, lookup
from segmint.features.text import TEXT_TABLES

__all__ = [
    "BASIC_FEATURES",
    "FAMILIES",
    "FEATURE_CATALOG",
    "TEXT_TABLES",
    "FeatureInfo",
    "build_features",
    "check_families",
    "customer_basics",
    "lookup",
    "resolve_as_of",
]
