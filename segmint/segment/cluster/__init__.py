"""Clustering segmenters (M6) with skew-aware scaling, automatic k and the segment guard (M18).

``SEGMENTERS`` maps method names (as used in specs and the CLI) to the classes.

>>> from segmint.segment.cluster import SEGMENTERS
>>> sorted(SEGMENTERS)[:3]
['gmm', 'hdbscan', 'kmeans']
"""

from __future__ import annotations

from segmint.segment.base import BaseSegmenter
from segmint.segment.cluster.gmm import GMMSegmenter
from segmint.segment.cluster.guard import GuardResult, guard_segments, guard_summary
from segmint.segment.cluster.hdbscan import HDBSCANSegmenter
from segmint.segment.cluster.kmeans import KMeansSegmenter
from segmint.segment.cluster.kprototypes import KPrototypesSegmenter
from segmint.segment.cluster.scaling import Scaler

#: method name (as in specs and the CLI) -> segmenter class
SEGMENTERS: dict[str, type[BaseSegmenter]] = {
    "kmeans": KMeansSegmenter,
    "gmm": GMMSegmenter,
    "hdbscan": HDBSCANSegmenter,
    "kprototypes": KPrototypesSegmenter,
}

__all__ = [
    "SEGMENTERS",
    "GMMSegmenter",
    "GuardResult",
    "HDBSCANSegmenter",
    "KMeansSegmenter",
    "KPrototypesSegmenter",
    "Scaler",
    "guard_segments",
    "guard_summary",
]
