"""Segment: rules, RFM, clustering, value and needs segmenters (M4, M6, M7)."""

from segmint.segment.base import UNASSIGNED, BaseSegmenter, Segmentation

__all__ = ["UNASSIGNED", "BaseSegmenter", "Segmentation"]
