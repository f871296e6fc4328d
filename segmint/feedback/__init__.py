"""Feedback analysed: survey scales and factors (needs), and texts (language, sentiment, topics).

Between ``identity`` and ``features``: the text family of features and the needs segmentation
read what this stage computes. The names below are imported on first use: the text models
pull in scikit-learn's decomposition, VADER and py3langid (about 1.5 s), which the commands
that never read a text (and the features stage, which imports :mod:`.survey`) should not pay.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "TextAnalysis",
    "Topic",
    "TopicModel",
    "analyze_texts",
    "detect_language",
    "fit_topics",
    "score_sentiment",
]

_WHERE = {
    "TextAnalysis": "texts",
    "Topic": "topics",
    "TopicModel": "topics",
    "analyze_texts": "texts",
    "detect_language": "language",
    "fit_topics": "topics",
    "score_sentiment": "sentiment",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"segmint.feedback.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'segmint.feedback' has no attribute '{name}'")
