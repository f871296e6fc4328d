"""Feedback analysed: survey scales and factors (needs), and texts (language, sentiment, topics).

Between ``identity`` and ``features``: the text family of features and the needs segmentation
read what this stage computes.
"""

from segmint.feedback.language import detect_language
from segmint.feedback.sentiment import score_sentiment
from segmint.feedback.texts import TextAnalysis, analyze_texts
from segmint.feedback.topics import Topic, TopicModel, fit_topics

__all__ = [
    "TextAnalysis",
    "Topic",
    "TopicModel",
    "analyze_texts",
    "detect_language",
    "fit_topics",
    "score_sentiment",
]
