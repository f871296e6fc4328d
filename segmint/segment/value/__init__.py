"""Value-based segmentation (M8): BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma, CLV, value tiers,
churn risk.

>>> from segmint.segment.value import BetaGeoModel, GammaGammaModel, clv, summary_from_orders
"""

from segmint.segment.value._summary import _attrs as summary_attrs
from segmint.segment.value._summary import summary_from_orders
from segmint.segment.value.batch import ValueScorer
from segmint.segment.value.bgnbd import BetaGeoModel
from segmint.segment.value.clv import (
    DEFAULT_TIERS,
    VALUE_COLUMNS,
    assign_tiers,
    clv,
    tier_thresholds,
)
from segmint.segment.value.gammagamma import GammaGammaModel
from segmint.segment.value.mbgnbd import ModifiedBetaGeoModel
from segmint.segment.value.paretonbd import ParetoNBDModel
from segmint.segment.value.segmenter import CHURN_RISK, ValueSegmenter

__all__ = [
    "CHURN_RISK",
    "DEFAULT_TIERS",
    "VALUE_COLUMNS",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ValueScorer",
    "ValueSegmenter",
    "assign_tiers",
    "clv",
    "summary_attrs",
    "summary_from_orders",
    "tier_thresholds",
]
