"""Build features: per-customer values computed in the engine as Ibis expressions (M5)."""

from segmint.features.basic import BASIC_FEATURES, customer_basics, resolve_as_of

__all__ = ["BASIC_FEATURES", "customer_basics", "resolve_as_of"]
