"""The view model: the report dict turned into display text and chart JSON.

:func:`report_view` reads the run dict (see :mod:`segmint.report`) and returns plain dicts of
strings for the template; every key of the input may be missing or empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from segmint.clean.report_html import gate_status
from segmint.report import _charts as charts
from segmint.report import _diagnostics as diag
from segmint.report import _format as fmt
from segmint.report._campaigns import campaigns_view
from segmint.report._cards import card_view
from segmint.report._feedback import feedback_view
from segmint.report._monitoring import monitoring_section_view
from segmint.report._needs import needs_view
from segmint.report._value import value_view
from segmint.segment.cluster.guard import guard_summary

__all__ = ["report_view"]

_BADGES = {
    "passed": ("Passed", "✓"),
    "warning": ("Warning", "!"),
    "failed": ("Failed", "✗"),
    "none": ("No gates", "–"),
    "unchecked": ("Not checked", "–"),
}
#: every component of the importance score (segmint.profile.rank.COMPONENTS), in its order
_COMPONENTS = ("size", "revenue", "value", "growth", "reachability", "potential")


def _badge(status: str) -> dict[str, str]:
    text, symbol = _BADGES.get(status, _BADGES["none"])
    return {"status": status, "text": text, "symbol": symbol}


def _gate(gate: Mapping[str, Any]) -> dict[str, Any]:
    threshold, observed = fmt.number(gate.get("threshold")), fmt.number(gate.get("observed"))
    as_share = all(v is None or 0 <= v <= 1 for v in (threshold, observed))
    show = fmt.share if as_share else fmt.decimal
    return {
        "name": fmt.text(gate.get("name")) or fmt.DASH,
        "badge": _badge(
            "unchecked" if gate.get("status") == "not checked" else gate_status({"gates": [gate]})
        ),
        "observed": show(observed),
        "threshold": show(threshold),
        "detail": fmt.text(gate.get("detail")),
    }


def quality_view(quality: Mapping[str, Any]) -> dict[str, Any]:
    """Data quality summary: totals as cards, gates as rows, one overall badge."""
    summary = fmt.mapping(quality.get("summary"))
    labels = {
        "tables": "Tables",
        "rows": "Rows",
        "issues_total": "Issues",
        "gates_failed": "Gates failed",
    }
    cards = [
        {"label": label, "value": fmt.count(summary.get(key))}
        for key, label in labels.items()
        if summary.get(key) is not None
    ]
    gates = [_gate(fmt.mapping(g)) for g in fmt.items(quality.get("gates"))]
    return {
        "present": bool(summary or gates),
        "badge": _badge(gate_status({"summary": summary, "gates": quality.get("gates") or []})),
        "cards": cards,
        "gates": gates,
    }


def _ordered(segments: list[Mapping[str, Any]], ranks: Mapping[str, Any]) -> list[int]:
    def key(i: int) -> tuple[float, int]:
        rank = fmt.number(fmt.mapping(ranks.get(fmt.text(segments[i].get("label")))).get("rank"))
        return (rank if rank is not None else math.inf, i)

    return sorted(range(len(segments)), key=key)


def _heatmap_features(profiles: Mapping[str, Any], segments: list[Mapping[str, Any]]) -> list[str]:
    """Features by key-variable rank (constant ones dropped), then the rest by largest lift."""
    lifted: dict[str, float] = {}
    for seg in segments:
        for feature, value in fmt.mapping(seg.get("lift")).items():
            size = abs(fmt.number(value) or 0.0)
            lifted[str(feature)] = max(size, lifted.get(str(feature), 0.0))
    key_vars = sorted(
        map(fmt.mapping, fmt.items(profiles.get("key_variables"))),
        key=lambda v: fmt.number(v.get("rank")) or math.inf,
    )
    ordered = [
        str(v.get("feature"))
        for v in key_vars
        if str(v.get("feature")) in lifted and fmt.text(v.get("flag")) != "constant"
    ]
    rest = sorted(set(lifted) - set(ordered), key=lambda f: -lifted[f])
    return ordered + rest


def _key_variables(profiles: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = sorted(
        map(fmt.mapping, fmt.items(profiles.get("key_variables"))),
        key=lambda v: fmt.number(v.get("rank")) or math.inf,
    )
    return [
        {
            "rank": fmt.count(v.get("rank")),
            "feature": fmt.text(v.get("feature")),
            "label": fmt.feature(v.get("feature")),
            "importance": fmt.decimal(v.get("importance")),
            "f_stat": fmt.decimal(v.get("f_stat")),
            "mutual_info": fmt.decimal(v.get("mutual_info")),
            "flag": fmt.text(v.get("flag")),
        }
        for v in rows
    ]


def _guard_steps(seg: Mapping[str, Any], chosen: float | None) -> dict[str, Any]:
    """The rule's k, then the guard's merges as a separate step (from the run's guard report)."""
    guard = [fmt.mapping(g) for g in fmt.items(seg.get("guard"))]
    if chosen is None:
        return {"summary": "", "steps": []}
    steps = []
    for g in guard:
        reasons = " and ".join(fmt.text(r) for r in fmt.items(g.get("reasons")))
        if fmt.text(g.get("action")) == "merged":
            what = f"merged into segment {fmt.text(g.get('final_segment'))}"
        else:
            what = "kept"
        steps.append(f"Segment {fmt.text(g.get('segment'))} {reasons}: {what}.")
    return {"summary": guard_summary(int(chosen), guard), "steps": steps}


def _k_curve(seg: Mapping[str, Any]) -> dict[str, Any] | None:
    curve = [fmt.mapping(p) for p in fmt.items(seg.get("k_curve"))]
    chosen = fmt.number(seg.get("chosen_k"))
    guard = _guard_steps(seg, chosen)
    chart = diag.k_curve_chart(curve, chosen, guard["summary"] if guard["steps"] else "")
    if chart is None:
        return None
    metrics = diag.k_metrics(curve)
    return {
        "chart": chart,
        "headers": [diag.K_METRICS[m][0] for m in metrics],
        "rows": [
            {
                "k": fmt.count(p.get("k")),
                "chosen": chosen is not None and fmt.number(p.get("k")) == chosen,
                "cells": [fmt.decimal(p.get(m)) for m in metrics],
            }
            for p in curve
        ],
        "chosen_k": fmt.count(chosen) if chosen is not None else "",
        "rule": fmt.text(seg.get("k_rule")),
        **guard,
    }


def _component(value: Any) -> str:
    """A score component in [0, 1]: two decimals, or a dash when it was not computed."""
    n = fmt.number(value)
    return fmt.DASH if n is None else f"{n:.2f}"


def _components(weights: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> list[str]:
    """Every component the ranking weighs or a segment carries, in the weights' order."""
    out = list(weights)
    for r in rows:
        out += [str(c) for c in fmt.mapping(r.get("components")) if str(c) not in out]
    return out


def _ranking(ranking: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any] | None:
    if not ranking:
        return None
    weights = {str(k): fmt.number(v) for k, v in fmt.mapping(ranking.get("weights")).items()}
    known = [v for v in weights.values() if v is not None]
    as_share = bool(known) and abs(sum(known) - 1) < 1e-6 and all(v >= 0 for v in known)
    rows = sorted(
        map(fmt.mapping, fmt.items(ranking.get("segments"))),
        key=lambda r: fmt.number(r.get("rank")) or math.inf,
    )
    dropped = {str(k): fmt.text(v) for k, v in fmt.mapping(ranking.get("dropped")).items()}
    extra = [c for c in _components(weights, rows) if c not in _COMPONENTS]
    return {
        "formula": fmt.text(ranking.get("formula")),
        "weights": [
            {"name": k, "value": fmt.share(v) if as_share else fmt.decimal(v)}
            for k, v in weights.items()
        ],
        "components": [
            {"name": c, "used": c in weights, "why": dropped.get(c, "")}
            for c in (*_COMPONENTS, *extra)
        ],
        "dropped": [{"name": k, "why": v} for k, v in dropped.items()],
        "rows": [
            {
                "rank": fmt.count(r.get("rank")),
                "name": names.get(fmt.text(r.get("label")), fmt.text(r.get("label"))),
                "score": fmt.score(r.get("score")),
                "cells": [
                    _component(fmt.mapping(r.get("components")).get(c))
                    for c in (*_COMPONENTS, *extra)
                ],
            }
            for r in rows
        ],
    }


def segmentation_view(index: int, seg: Mapping[str, Any]) -> dict[str, Any]:
    """Everything one segmentation section shows."""
    sid = f"seg-{index}"
    profiles = fmt.mapping(seg.get("profiles"))
    ranking = fmt.mapping(seg.get("ranking"))
    targeting = fmt.mapping(seg.get("targeting"))
    population = fmt.mapping(profiles.get("population"))
    pop_means = fmt.mapping(population.get("means"))
    segments = [fmt.mapping(s) for s in fmt.items(profiles.get("segments"))]
    ranks = {
        fmt.text(r.get("label")): r for r in map(fmt.mapping, fmt.items(ranking.get("segments")))
    }
    order = [segments[i] for i in _ordered(segments, ranks)]
    names = {fmt.text(s.get("label")): fmt.text(s.get("name") or s.get("label")) for s in order}

    cards = []
    for j, s in enumerate(order, start=1):
        label = fmt.text(s.get("label"))
        plan = fmt.mapping(targeting.get(label))
        cards.append(card_view(f"{sid}-s{j}", s, fmt.mapping(ranks.get(label)), plan, pop_means))
    size_rows = [
        {
            "name": names[fmt.text(s.get("label"))],
            "size": s.get("size"),
            "share": s.get("share"),
            "revenue_share": s.get("revenue_share"),
            "avg_value": s.get("avg_value"),
        }
        for s in order
    ]
    projection = fmt.mapping(seg.get("projection"))
    n_customers = seg.get("n_customers", population.get("customers"))
    rules = [
        {
            "name": fmt.text(r.get("name")),
            "rule": fmt.text(r.get("rule")),
            "matched": fmt.count(r.get("matched")),
        }
        for r in map(fmt.mapping, fmt.items(seg.get("rules")))
    ]
    fidelity = fmt.number(profiles.get("fidelity"))
    heat_features = _heatmap_features(profiles, order)
    return {
        "id": sid,
        "name": fmt.text(seg.get("name")) or f"Segmentation {index}",
        "method": fmt.text(seg.get("method") or profiles.get("method")) or fmt.DASH,
        "n_customers": fmt.count(n_customers),
        "n_segments": fmt.count(len(order)),
        "revenue": fmt.money(population.get("revenue")),
        "features": [
            {"column": fmt.text(f), "label": fmt.feature(f)} for f in fmt.items(seg.get("features"))
        ],
        "fidelity": fmt.share(fidelity) if fidelity is not None else "",
        "warnings": [fmt.text(w) for w in fmt.items(seg.get("warnings")) if fmt.text(w)],
        "overview": cards,
        "has_rank": any(c["rank"] for c in cards),
        "has_plan": any(c["plan"] for c in cards),
        "cards": cards,
        "sizes_chart": charts.sizes_chart(size_rows),
        "lift_chart": charts.lift_heatmap(order, heat_features, pop_means),
        "n_lift_features": len(heat_features),
        "max_lift_features": charts.MAX_HEATMAP_FEATURES,
        "projection_chart": charts.projection_chart(projection, names) if projection else None,
        "k_curve": _k_curve(seg),
        "key_variables": _key_variables(profiles),
        "key_chart": diag.key_variables_chart(
            sorted(
                map(fmt.mapping, fmt.items(profiles.get("key_variables"))),
                key=lambda v: fmt.number(v.get("rank")) or math.inf,
            )
        ),
        "rules": rules,
        "ranking": _ranking(ranking, names),
        "value": value_view(fmt.mapping(seg.get("value"))),
        "needs": needs_view(fmt.mapping(seg.get("needs"))),
        "feedback": feedback_view(fmt.mapping(seg.get("feedback")), names, sid),
    }


def report_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """The whole page."""
    meta = [
        {"label": label, "value": fmt.text(data.get(key))}
        for key, label in (
            ("workspace", "Workspace"),
            ("run_id", "Run"),
            ("as_of", "Data as of"),
            ("generated_at", "Generated"),
        )
        if fmt.text(data.get(key))
    ]
    return {
        "title": fmt.text(data.get("title")) or "Segmentation report",
        "meta": meta,
        "quality": quality_view(fmt.mapping(data.get("quality"))),
        "notes": [fmt.text(n) for n in fmt.items(data.get("notes")) if fmt.text(n)],
        "segmentations": [
            segmentation_view(i, fmt.mapping(s))
            for i, s in enumerate(fmt.items(data.get("segmentations")), start=1)
        ],
        "campaigns": campaigns_view(data.get("campaigns")),
        "monitoring": monitoring_section_view(data.get("monitoring")),
    }
