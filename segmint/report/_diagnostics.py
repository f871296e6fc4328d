"""Model diagnostics charts: the automatic-k curve and the key variables.

Same conventions as :mod:`segmint.report._charts` (script-safe JSON, escaped data text,
colour-blind-safe colours, nothing told by colour alone).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmint.report import _format as fmt
from segmint.report._charts import PALETTE, Chart, as_chart, base_layout, plot_text

__all__ = ["K_METRICS", "k_curve_chart", "k_metrics", "key_variables_chart"]

#: k-curve metrics: key → (title, which way is better)
K_METRICS = {
    "silhouette": ("Silhouette", "higher is better"),
    "calinski_harabasz": ("Calinski–Harabasz", "higher is better"),
    "davies_bouldin": ("Davies–Bouldin", "lower is better"),
    "bic": ("BIC", "lower is better"),
    "inertia": ("Inertia", "lower is better; look for the elbow"),
    "stability": ("Stability (adjusted Rand)", "higher is better"),
}


def k_metrics(curve: Sequence[Mapping[str, Any]]) -> list[str]:
    """The metrics with at least one value in the curve, in a fixed order."""
    return [m for m in K_METRICS if any(fmt.number(p.get(m)) is not None for p in curve)]


def k_curve_chart(
    curve: Sequence[Mapping[str, Any]], chosen_k: Any, merged: str = ""
) -> Chart | None:
    """One small panel per metric against k; the k the rule chose is a dashed line and a star.

    ``merged`` (e.g. ``'k = 8 chosen; 1 small segment merged → 7 segments'``) is the guard's
    step after the choice: it becomes the chart's title and part of its description, so the
    star stays on the k the rule picked and the merge is a separate, labelled step.
    """
    metrics = k_metrics(curve)
    if not curve or not metrics:
        return None
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[f"{K_METRICS[m][0]} ({K_METRICS[m][1]})" for m in metrics],
        horizontal_spacing=0.08,
        vertical_spacing=0.22 if rows > 1 else 0.1,
    )
    chosen = fmt.number(chosen_k)
    for i, metric in enumerate(metrics):
        row, col = i // cols + 1, i % cols + 1
        points = [(fmt.number(p.get("k")), fmt.number(p.get(metric))) for p in curve]
        points = sorted((k, v) for k, v in points if k is not None and v is not None)
        fig.add_trace(
            go.Scatter(
                x=[k for k, _ in points],
                y=[v for _, v in points],
                mode="lines+markers",
                name=K_METRICS[metric][0],
                showlegend=False,
                line={"color": PALETTE[0]},
                hovertemplate="k = %{x}<br>" + K_METRICS[metric][0] + ": %{y:.4g}<extra></extra>",
            ),
            row=row,
            col=col,
        )
        at_chosen = [v for k, v in points if chosen is not None and k == chosen]
        if at_chosen:
            fig.add_trace(
                go.Scatter(
                    x=[chosen],
                    y=at_chosen,
                    mode="markers",
                    name="chosen k",
                    showlegend=False,
                    marker={"symbol": "star", "size": 15, "color": PALETTE[5]},
                    hovertemplate="k = %{x}, chosen by the rule<extra></extra>",
                ),
                row=row,
                col=col,
            )
            fig.add_vline(x=chosen, line_dash="dash", line_color=PALETTE[5], row=row, col=col)
        fig.update_xaxes(title_text="k", dtick=1, row=row, col=col)
    base_layout(fig, 300 * rows + (30 if merged else 0))
    fig.update_layout(margin={"t": 80 if merged else 50})
    if merged:
        fig.update_layout(title={"text": plot_text(merged), "x": 0, "font": {"size": 14}})
    ks = [fmt.count(p.get("k")) for p in curve]
    description = (
        f"Line charts of {', '.join(K_METRICS[m][0] for m in metrics)} for k from {ks[0]} to "
        f"{ks[-1]}"
        + (
            f"; the k chosen by the rule, {fmt.count(chosen)}, is marked with a star"
            if chosen
            else ""
        )
        + (f". Then the minimum segment size guard: {merged}." if merged else ".")
    )
    return as_chart(fig, description)


def key_variables_chart(variables: Sequence[Mapping[str, Any]]) -> Chart | None:
    """Importance per feature, most important on top; flagged features hatched and labelled."""
    rows = [v for v in variables if fmt.number(v.get("importance")) is not None]
    if not rows:
        return None
    rows = rows[:25][::-1]
    flagged = [bool(v.get("flag")) for v in rows]
    fig = go.Figure(
        go.Bar(
            y=[plot_text(fmt.feature(v.get("feature"))) for v in rows],
            x=[fmt.number(v.get("importance")) for v in rows],
            orientation="h",
            marker={
                "color": ["#9aa4ae" if f else PALETTE[0] for f in flagged],
                "pattern": {"shape": ["x" if f else "" for f in flagged]},
            },
            text=[
                plot_text(v.get("flag")) if v.get("flag") else fmt.decimal(v.get("importance"))
                for v in rows
            ],
            textposition="outside",
            cliponaxis=False,
            customdata=[
                [fmt.decimal(v.get("f_stat")), fmt.decimal(v.get("mutual_info"))] for v in rows
            ],
            hovertemplate=(
                "%{y}<br>Importance: %{x:.3g}<br>F statistic: %{customdata[0]}"
                "<br>Mutual information: %{customdata[1]}<extra></extra>"
            ),
        )
    )
    base_layout(fig, max(220, 60 + 28 * len(rows)), showlegend=False)
    fig.update_xaxes(title_text="Importance")
    top = rows[-1]
    description = (
        f"Bar chart of the importance of {len(rows)} features; the most important is "
        f"{fmt.text(top.get('feature'))}. Flagged features (constant or redundant) are grey, "
        "hatched and labelled with the flag."
    )
    return as_chart(fig, description)
