"""Page data for results, segment profiles and comparisons.

The stored results (``segmentations.result``) are typed
:class:`~segmint.store.results.SegmentationResult` objects, the same shape as the report's sections,
so the pages reuse the report's view model and charts (:func:`segmint.report.segmentation_view`);
only the one-segment lift chart and the migration heat map are drawn here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from segmint.activate.templates import suggest
from segmint.report import (
    DIVERGING,
    PALETTE,
    Chart,
    as_chart,
    base_layout,
    fmt,
    plan_view,
    plot_text,
    segmentation_view,
    wrap_label,
)
from segmint.store.results import SegmentationResult

__all__ = [
    "compare_view",
    "destinations",
    "exports_view",
    "profile_view",
    "results_view",
    "run_choices",
]

MAX_LIFT_BARS = 15


def destinations() -> list[dict[str, Any]]:
    """The export destinations for a card's select (every module in activate/exporters)."""
    from segmint.activate.exporters import all_exporters

    return [
        {"name": e.name, "title": e.title, "hashable": e.hashable, "min_size": e.min_size}
        for e in all_exporters().values()
    ]


def exports_view(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The export log's rows as the Exports page shows them."""
    out = []
    for e in log:
        left = [f"{fmt.count(n)} {reason}" for reason, n in (e.get("left_out") or {}).items() if n]
        out.append(
            {
                **e,
                "when": str(e["created_at"]).replace("T", " "),
                "segments_text": ", ".join(e.get("segment_names") or e.get("segments") or [])
                + (f" ({e['label']})" if e.get("label") else ""),
                "rows": fmt.count(e["rows_written"]),
                "left_out_text": (", ".join(left) or "none")
                + (" (missing consent assumed)" if e.get("assume_consent") else ""),
            }
        )
    return out


def results_view(result: SegmentationResult) -> dict[str, Any]:
    """The report's segmentation view (cards ranked, charts as JSON)."""
    view = segmentation_view(1, result.to_json())
    view["charts"] = any(
        view.get(c) for c in ("sizes_chart", "lift_chart", "projection_chart", "k_curve")
    ) or bool(view.get("value"))
    return view


def _lift_chart(seg: Mapping[str, Any]) -> Chart | None:
    lifts = {
        str(k): v
        for k, v in ((k, fmt.number(v)) for k, v in fmt.mapping(seg.get("lift")).items())
        if v is not None and math.isfinite(v)
    }
    top = sorted(lifts, key=lambda f: -abs(lifts[f]))[:MAX_LIFT_BARS][::-1]
    if not top:
        return None
    values = [lifts[f] for f in top]
    fig = go.Figure(
        go.Bar(
            y=[plot_text(fmt.feature(f)) for f in top],
            x=values,
            orientation="h",
            marker={
                "color": [PALETTE[5] if v > 0 else PALETTE[0] for v in values],
                "pattern": {"shape": ["" if v > 0 else "/" for v in values]},
            },
            text=[fmt.lift(v) for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    base_layout(fig, max(260, 60 + 28 * len(top)), showlegend=False)
    bound = max(abs(v) for v in values) * 1.3 + 0.1  # room for the labels on both sides
    fig.update_xaxes(
        title_text="Lift: segment mean − mean of all customers, in sd", range=[-bound, bound]
    )
    strongest = top[-1]
    name = fmt.text(seg.get("name") or seg.get("label"))
    return as_chart(
        fig,
        f"Bar chart of the {len(top)} largest lifts of {name}: bars to the right (red) are "
        f"above the average of all customers, to the left (blue, hatched) below; the largest "
        f"is {fmt.feature(strongest)} ({fmt.lift(lifts[strongest])}).",
    )


def _means(seg: Mapping[str, Any], population: Mapping[str, Any]) -> list[dict[str, str]]:
    means, medians = fmt.mapping(seg.get("means")), fmt.mapping(seg.get("medians"))
    lift = fmt.mapping(seg.get("lift"))
    pop = fmt.mapping(population.get("means"))
    rows = sorted(means, key=lambda f: -abs(fmt.number(lift.get(f)) or 0.0))
    return [
        {
            "feature": str(f),
            "label": fmt.feature(f),
            "mean": fmt.decimal(means.get(f)),
            "median": fmt.decimal(medians.get(f)),
            "population": fmt.decimal(pop.get(f)),
            "lift": fmt.lift(lift.get(f)),
        }
        for f in rows
    ]


def profile_view(result: SegmentationResult, label: str) -> dict[str, Any] | None:
    """One segment: its card, lift chart, means vs all customers, what its customers wrote
    (when the run summarised feedback texts), rules, examples, plan."""
    view = segmentation_view(1, result.to_json())
    card = next((c for c in view["cards"] if c["label"] == label), None)
    profile = result.profiles.segment(label)
    if card is None or profile is None:
        return None
    seg = profile.to_json()
    planned = result.targeting.get(label)
    plan = planned.to_json() if planned is not None else {}
    feedback = view["feedback"]
    return {
        "segmentation": view,
        "card": card,
        # None without a feedback summary: the page shows no "What they say"
        "feedback": feedback["by_label"].get(label) if feedback else None,
        "feedback_all": feedback,
        "lift_chart": _lift_chart(seg),
        "means": _means(seg, result.profiles.population.to_json()),
        "plan": plan_view(plan),
        "plan_fields": {
            k: fmt.text(plan.get(k))
            for k in ("goal", "channel", "offer", "message", "subject", "body")
        },
        "suggested": dict(zip(("subject", "body"), suggest(plan), strict=True)),
        "edited": bool(plan.get("edited")),
    }


def run_choices(runs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every (run, segmentation) as a select option; value ``run_id/name``."""
    return [
        {
            "value": f"{run['run_id']}/{s['name']}",
            "text": f"{run['run_id']} · {s['name']} ({s['segments']} segments)",
        }
        for run in runs
        for s in run["segmentations"]
    ]


def _migration_chart(data: Mapping[str, Any]) -> Chart | None:
    rows, cols, counts = data["rows"], data["columns"], data["counts"]
    if not rows or not cols:
        return None
    totals = [sum(r) or 1 for r in counts]
    shares = [[c / t for c in r] for r, t in zip(counts, totals, strict=True)]
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=[wrap_label(plot_text(c), len(cols)) for c in cols],
            y=[plot_text(r) for r in rows],
            colorscale=[[0, "#F7F7F7"], [1, DIVERGING[0][1]]],
            zmin=0,
            zmax=1,
            xgap=2,
            ygap=2,
            text=[[f"{c:,}" for c in r] for r in counts],
            texttemplate="%{text}",
            colorbar={"title": {"text": "Share of row"}, "thickness": 12, "tickformat": ".0%"},
            hovertemplate="From %{y} to %{x}: %{text} customers (%{z:.0%} of the row)"
            "<extra></extra>",
        )
    )
    base_layout(fig, max(300, 150 + 40 * len(rows)))
    fig.update_yaxes(autorange="reversed", title_text="A", gridcolor="rgba(0,0,0,0)")
    fig.update_xaxes(side="top", title_text="B", gridcolor="rgba(0,0,0,0)", tickangle=0)
    return as_chart(
        fig,
        f"Heat map of how {fmt.count(data['customers'])} customers moved from {len(rows)} "
        f"segments of A (rows) to {len(cols)} segments of B (columns); each cell shows the "
        "number of customers, shaded by its share of the row.",
    )


def compare_view(data: Mapping[str, Any]) -> dict[str, Any]:
    counts = data["counts"]
    return {
        "columns": data["columns"],
        "rows": [
            {"name": name, "cells": [fmt.count(c) for c in row], "total": fmt.count(sum(row))}
            for name, row in zip(data["rows"], counts, strict=True)
        ],
        "totals": [fmt.count(sum(col)) for col in zip(*counts, strict=True)] if counts else [],
        "customers": fmt.count(data["customers"]),
        "same_name_share": fmt.share(data["same_name_share"]),
        "chart": _migration_chart(data),
    }
