"""The "What they say" part of a segmentation: per segment the mean sentiment with its interval
(a small SVG scale from −1 to +1, no script needed, so the web page draws it too), share
negative, topic mix with lift, complaint themes and quotes.

Reads a segmentation's ``feedback`` (:class:`segmint.store.results.FeedbackSummary` as JSON);
without it the view is ``None`` and nothing is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segmint.report import _format as fmt

__all__ = ["feedback_view", "sentiment"]

#: topics shown in a segment's mix (the rest are counted)
MAX_TOPICS = 6


def sentiment(value: Any) -> str:
    """A sentiment score on −1…+1: ``'+0.23'`` / ``'−0.40'``."""
    n = fmt.number(value)
    if n is None:
        return fmt.DASH
    return f"+{n:.2f}" if n >= 0.005 else ("0.00" if n > -0.005 else f"−{-n:.2f}")


def _x(value: Any) -> float | None:
    """−1…+1 → 0…200 on the SVG scale (clipped)."""
    n = fmt.number(value)
    return None if n is None else round((min(max(n, -1.0), 1.0) + 1.0) * 100, 1)


def _scale(mean: Any, ci: list[Any], population: Any) -> dict[str, Any] | None:
    x = _x(mean)
    if x is None:
        return None
    low, high = (_x(ci[0]), _x(ci[1])) if len(ci) == 2 else (None, None)
    return {"x": x, "low": low, "high": high, "population": _x(population)}


def _range(ci: list[Any]) -> str:
    """``'+0.14 to +0.25'``, or empty without an interval."""
    if len(ci) != 2 or fmt.number(ci[0]) is None or fmt.number(ci[1]) is None:
        return ""
    return f"{sentiment(ci[0])} to {sentiment(ci[1])}"


def _interval(ci: list[Any]) -> str:
    return f"95 % CI {_range(ci)}" if _range(ci) else ""


def _topic(t: Mapping[str, Any], over: set[Any]) -> dict[str, Any]:
    return {
        "name": fmt.text(t.get("name")),
        "n_texts": fmt.count(t.get("n_texts")),
        "share": fmt.share(t.get("share")),
        "population_share": fmt.share(t.get("population_share")),
        "lift": fmt.ratio(t.get("lift")),
        "over": t.get("topic") in over,
    }


def _segment(
    seg: Mapping[str, Any],
    name: str,
    population: Mapping[str, Any],
    topic_names: Mapping[Any, str],
    block_id: str,
) -> dict[str, Any]:
    ci = fmt.items(seg.get("sentiment_ci"))
    over = [fmt.mapping(t) for t in fmt.items(seg.get("over_represented"))]
    lifted = {t.get("topic") for t in over}
    mix = [fmt.mapping(t) for t in fmt.items(seg.get("topics"))]
    return {
        "id": block_id,
        "label": fmt.text(seg.get("label")),
        "name": name,
        "n_texts": fmt.count(seg.get("n_texts")),
        "n_scored": fmt.count(seg.get("n_scored")),
        "n_customers": fmt.count(seg.get("n_customers")),
        "has_texts": (fmt.number(seg.get("n_texts")) or 0) > 0,
        "sentiment": sentiment(seg.get("sentiment_mean")),
        "interval": _interval(ci),
        "range": _range(ci),
        "scale": _scale(seg.get("sentiment_mean"), ci, population.get("sentiment_mean")),
        "population_sentiment": sentiment(population.get("sentiment_mean")),
        "share_negative": fmt.share(seg.get("share_negative")),
        "population_negative": fmt.share(population.get("share_negative")),
        "topics": [_topic(t, lifted) for t in mix[:MAX_TOPICS]],
        "more_topics": max(0, len(mix) - MAX_TOPICS),
        "over": [_topic(t, lifted) for t in over],
        "complaints": [
            _topic(fmt.mapping(t), set()) for t in fmt.items(seg.get("complaint_themes"))
        ],
        "quotes": [
            {
                "text": fmt.text(q.get("text")),
                "sentiment": sentiment(q.get("sentiment")),
                "topic": topic_names.get(q.get("topic"), ""),
            }
            for q in map(fmt.mapping, fmt.items(seg.get("quotes")))
        ],
    }


def feedback_view(
    feedback: Mapping[str, Any], names: Mapping[str, str], section_id: str
) -> dict[str, Any] | None:
    """The part's text; segments in the order of ``names`` (label → display name), then any
    other segment the summary has. ``None`` without a summary."""
    if not feedback:
        return None
    by_label = {
        fmt.text(s.get("label")): s for s in map(fmt.mapping, fmt.items(feedback.get("segments")))
    }
    order = [label for label in names if label in by_label]
    order += [label for label in by_label if label not in names]
    topics = {
        t.get("topic"): fmt.text(t.get("name"))
        for t in map(fmt.mapping, fmt.items(feedback.get("topics")))
    }
    segments = [
        _segment(by_label[label], names.get(label, label), feedback, topics, f"{section_id}-f{j}")
        for j, label in enumerate(order, start=1)
    ]
    ci = fmt.items(feedback.get("sentiment_ci"))
    return {
        "n_texts": fmt.count(feedback.get("n_texts")),
        "n_scored": fmt.count(feedback.get("n_scored")),
        "n_not_english": fmt.count(feedback.get("n_not_english")),
        "has_not_english": (fmt.number(feedback.get("n_not_english")) or 0) > 0,
        "n_unlabelled": fmt.count(feedback.get("n_unlabelled")),
        "has_unlabelled": (fmt.number(feedback.get("n_unlabelled")) or 0) > 0,
        "sentiment": sentiment(feedback.get("sentiment_mean")),
        "interval": _interval(ci),
        "share_negative": fmt.share(feedback.get("share_negative")),
        "topics": [
            {
                "name": fmt.text(t.get("name")),
                "terms": ", ".join(fmt.text(x) for x in fmt.items(t.get("terms"))),
                "n_texts": fmt.count(t.get("n_texts")),
                "share": fmt.share(t.get("share")),
                "examples": [fmt.text(e) for e in fmt.items(t.get("examples"))],
            }
            for t in map(fmt.mapping, fmt.items(feedback.get("topics")))
        ],
        "segments": segments,
        "by_label": {s["label"]: s for s in segments},
    }
