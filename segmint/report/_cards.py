"""Per-segment cards: traits, over-represented categories, rules, examples, targeting plan.

Everything is formatted here; the template only lays the text out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segmint.report import _format as fmt

__all__ = ["MIN_TRAIT_LIFT", "card_view", "plan_view"]

#: traits smaller than this (in population standard deviations) are not called traits
MIN_TRAIT_LIFT = 0.1
MAX_TRAITS = 5


def _traits(seg: Mapping[str, Any], population_means: Mapping[str, Any]) -> list[dict[str, str]]:
    numbers = {str(k): fmt.number(v) for k, v in fmt.mapping(seg.get("lift")).items()}
    lifts = {k: v for k, v in numbers.items() if v is not None and abs(v) >= MIN_TRAIT_LIFT}
    means = fmt.mapping(seg.get("means"))
    out = []
    for feature in sorted(lifts, key=lambda f: -abs(lifts[f]))[:MAX_TRAITS]:
        value = lifts[feature]
        out.append(
            {
                "feature": fmt.feature(feature),
                "column": feature,
                "direction": "higher" if value > 0 else "lower",
                "arrow": "▲" if value > 0 else "▼",
                "mean": fmt.decimal(means.get(feature)),
                "population_mean": fmt.decimal(population_means.get(feature)),
                "lift": fmt.lift(value),
            }
        )
    return out


def _over(seg: Mapping[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "column": fmt.text(o.get("column")),
            "value": fmt.text(o.get("value")),
            "share": fmt.share(o.get("share")),
            "population_share": fmt.share(o.get("population_share")),
            "lift": fmt.ratio(o.get("lift")),
        }
        for o in map(fmt.mapping, fmt.items(seg.get("over_represented")))
    ]


def _rules(seg: Mapping[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "rule": fmt.text(r.get("rule")),
            "precision": fmt.share(r.get("precision")),
            "recall": fmt.share(r.get("recall")),
            "support": fmt.count(r.get("support")),
        }
        for r in map(fmt.mapping, fmt.items(seg.get("rules")))
        if fmt.text(r.get("rule"))
    ]


def _examples(seg: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": fmt.text(e.get("customer_id")),
            "reasons": [fmt.text(r) for r in fmt.items(e.get("reasons")) if fmt.text(r)],
        }
        for e in map(fmt.mapping, fmt.items(seg.get("examples")))
    ]


def plan_view(plan: Mapping[str, Any]) -> dict[str, Any] | None:
    """A targeting plan as text, or ``None`` when there is none."""
    if not plan:
        return None
    return {
        "goal": fmt.text(plan.get("goal")) or fmt.DASH,
        "channel": fmt.text(plan.get("channel")) or fmt.DASH,
        "offer": fmt.text(plan.get("offer")) or fmt.DASH,
        "message": fmt.text(plan.get("message")),
        "reasons": [fmt.text(r) for r in fmt.items(plan.get("reasons")) if fmt.text(r)],
    }


def card_view(
    card_id: str,
    seg: Mapping[str, Any],
    rank: Mapping[str, Any],
    plan: Mapping[str, Any],
    population_means: Mapping[str, Any],
) -> dict[str, Any]:
    """The card of one segment (``rank`` and ``plan`` may be empty)."""
    label = fmt.text(seg.get("label"))
    name = fmt.text(seg.get("name")) or label
    return {
        "id": card_id,
        "label": label,
        "name": name,
        "show_label": bool(label) and label != name,
        "rank": fmt.count(rank.get("rank")) if rank else "",
        "score": fmt.score(rank.get("score")) if rank else "",
        "size": fmt.count(seg.get("size")),
        "share": fmt.share(seg.get("share")),
        "revenue": fmt.money(seg.get("revenue")),
        "revenue_share": fmt.share(seg.get("revenue_share")),
        "avg_value": fmt.money(seg.get("avg_value")),
        "traits": _traits(seg, population_means),
        "over": _over(seg),
        "rules": _rules(seg),
        "examples": _examples(seg),
        "plan": plan_view(plan),
    }
