"""The report's charts, built with ``plotly.graph_objects`` and handed over as safe JSON.

Every builder returns a :class:`Chart` (or ``None`` when there is nothing to draw): the figure
as JSON that can sit inside ``<script type="application/json">`` (``<``, ``>`` and ``&`` are
written as ``\\u003c`` …, so data cannot close the script), plus a plain-language description
for screen readers. Text that comes from the data is HTML-escaped before it reaches Plotly,
which would otherwise read tags such as ``<b>`` in it. Colours follow the Okabe–Ito
colour-blind-safe palette, and no chart relies on colour alone (symbols, patterns, labels).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from segmint.report import _format as fmt

__all__ = [
    "PALETTE",
    "SYMBOLS",
    "Chart",
    "as_chart",
    "base_layout",
    "lift_heatmap",
    "plot_text",
    "projection_chart",
    "safe_json",
    "sizes_chart",
]

#: Okabe & Ito (2008), colour-blind safe; black last
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross", "star", "triangle-down"]
#: blue – light grey – red, diverging around 0 (ColorBrewer RdBu, readable with deuteranopia)
DIVERGING = [
    [0.0, "#2166AC"],
    [0.25, "#92C5DE"],
    [0.5, "#F7F7F7"],
    [0.75, "#F4A582"],
    [1.0, "#B2182B"],
]
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
MAX_HEATMAP_FEATURES = 20


@dataclass(frozen=True)
class Chart:
    """A figure as script-safe JSON plus its description (for ``aria-label``)."""

    json: str
    description: str
    height: int


def safe_json(fig: go.Figure) -> str:
    raw = fig.to_json()
    return raw.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def plot_text(value: Any) -> str:
    """Data text for Plotly: escaped so that it is shown, never read as markup."""
    return html.escape(fmt.text(value), quote=False)


def base_layout(fig: go.Figure, height: int, **extra: Any) -> None:
    layout: dict[str, Any] = {
        "template": "none",
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "font": {"family": FONT, "size": 13, "color": "#1b1f24"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hoverlabel": {"font": {"family": FONT}},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    }
    fig.update_layout({**layout, **extra})
    fig.update_xaxes(automargin=True, gridcolor="#e7ebef", zerolinecolor="#9aa4ae")
    fig.update_yaxes(automargin=True, gridcolor="#e7ebef", zerolinecolor="#9aa4ae")


def as_chart(fig: go.Figure, description: str) -> Chart:
    return Chart(safe_json(fig), description, int(fig.layout.height or 400))


def sizes_chart(rows: Sequence[Mapping[str, Any]]) -> Chart | None:
    """Share of customers next to share of revenue per segment (``rows`` in display order)."""
    if not rows:
        return None
    names = [plot_text(r["name"]) for r in rows][::-1]  # top row first in a horizontal bar chart
    custom = [[fmt.count(r["size"]), fmt.money(r["avg_value"])] for r in rows][::-1]
    fig = go.Figure()
    for key, title, colour, pattern in (
        ("share", "Customers", PALETTE[0], ""),
        ("revenue_share", "Revenue", PALETTE[1], "/"),
    ):
        values = [fmt.number(r[key]) for r in rows][::-1]
        fig.add_trace(
            go.Bar(
                y=names,
                x=[None if v is None else v * 100 for v in values],
                name=f"Share of {title.lower()}",
                orientation="h",
                marker={"color": colour, "pattern": {"shape": pattern}},
                text=[fmt.share(v) for v in values],
                textposition="outside",
                cliponaxis=False,
                customdata=custom,
                hovertemplate=(
                    "%{y}<br>" + title + ": %{text}<br>Customers: %{customdata[0]}"
                    "<br>Average value: %{customdata[1]}<extra></extra>"
                ),
            )
        )
    base_layout(fig, max(220, 60 + 56 * len(rows)), barmode="group")
    fig.update_xaxes(title_text="% of all customers / of all revenue", ticksuffix=" %")
    best = max(rows, key=lambda r: fmt.number(r["revenue_share"]) or 0.0)
    description = (
        f"Bar chart of the share of customers and of revenue for {len(rows)} segments; "
        f"{fmt.text(best['name'])} brings the largest share of revenue "
        f"({fmt.share(best['revenue_share'])} from {fmt.share(best['share'])} of customers)."
    )
    return as_chart(fig, description)


def _wrap(name: str, n_columns: int) -> str:
    """Break a long column label over lines (at spaces) so that neighbours do not overlap."""
    width = max(8, 100 // max(n_columns, 1))
    lines: list[str] = []
    for word in name.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _signed(value: float | None) -> str:
    """+1.2 / −0.4 / 0.0 (no '−0.0') for heat-map cells."""
    if value is None:
        return ""
    rounded = round(value, 1)
    if rounded == 0:
        return "0.0"
    return f"+{rounded:.1f}" if rounded > 0 else f"−{-rounded:.1f}"


def lift_heatmap(
    segments: Sequence[Mapping[str, Any]],
    features: list[str],
    population_means: Mapping[str, Any],
) -> Chart | None:
    """Features × segments, coloured by lift (standardized difference), centred at 0."""
    features = features[:MAX_HEATMAP_FEATURES]
    if not segments or not features:
        return None
    z: list[list[float | None]] = []
    custom: list[list[list[str]]] = []
    for feature in features:
        z.append([fmt.number(fmt.mapping(s.get("lift")).get(feature)) for s in segments])
        custom.append(
            [
                [
                    fmt.decimal(fmt.mapping(s.get("means")).get(feature)),
                    fmt.decimal(population_means.get(feature)),
                    fmt.lift(fmt.mapping(s.get("lift")).get(feature)),
                ]
                for s in segments
            ]
        )
    finite = [abs(v) for row in z for v in row if v is not None]
    bound = max([*finite, 0.5])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[_wrap(plot_text(s.get("name") or s.get("label")), len(segments)) for s in segments],
            y=[plot_text(fmt.feature(f)) for f in features],
            customdata=custom,
            colorscale=DIVERGING,
            zmid=0,
            zmin=-bound,
            zmax=bound,
            xgap=2,
            ygap=2,
            text=[[_signed(v) for v in row] for row in z],
            texttemplate="%{text}",
            colorbar={"title": {"text": "Lift (sd)"}, "thickness": 12},
            hovertemplate=(
                "%{x}<br>%{y}<br>Mean: %{customdata[0]} (all customers: %{customdata[1]})"
                "<br>Lift: %{customdata[2]}<extra></extra>"
            ),
        )
    )
    base_layout(fig, max(260, 90 + 30 * len(features)))
    fig.update_yaxes(autorange="reversed", gridcolor="rgba(0,0,0,0)")
    fig.update_xaxes(side="top", gridcolor="rgba(0,0,0,0)", tickangle=0)
    fig.update_layout(margin={"t": 60})
    strongest = max(
        (
            (abs(v), f, s)
            for f, row in zip(features, z, strict=True)
            for v, s in zip(row, segments, strict=True)
            if v is not None
        ),
        default=None,
        key=lambda t: t[0],
    )
    description = f"Heat map of the lift of {len(features)} features in {len(segments)} segments."
    if strongest is not None:
        _, feature, seg = strongest
        description += (
            f" The strongest difference: {fmt.feature(feature)} in {fmt.text(seg.get('name'))} "
            f"({fmt.lift(fmt.mapping(seg.get('lift')).get(feature))})."
        )
    return as_chart(fig, description)


def projection_chart(projection: Mapping[str, Any], names: Mapping[str, str]) -> Chart | None:
    """The 2-D PCA projection, one trace (colour and symbol) per segment."""
    x, y, labels = (fmt.items(projection.get(k)) for k in ("x", "y", "label"))
    if not x or len(x) != len(y) or len(x) != len(labels):
        return None
    order = list(dict.fromkeys(names)) + sorted({str(v) for v in labels} - set(names))
    fig = go.Figure()
    for i, label in enumerate(order):
        idx = [j for j, v in enumerate(labels) if str(v) == label]
        if not idx:
            continue
        name = plot_text(names.get(label, label))
        fig.add_trace(
            go.Scatter(
                x=[x[j] for j in idx],
                y=[y[j] for j in idx],
                mode="markers",
                name=name,
                marker={
                    "color": PALETTE[i % len(PALETTE)],
                    "symbol": SYMBOLS[(i + i // len(PALETTE)) % len(SYMBOLS)],
                    "size": 6,
                    "opacity": 0.65,
                    "line": {"width": 0},
                },
                hovertemplate="%{fullData.name}<br>PC1 %{x:.2f}, PC2 %{y:.2f}<extra></extra>",
            )
        )
    ev = [fmt.number(v) for v in fmt.items(projection.get("explained_variance"))] + [None, None]
    base_layout(
        fig,
        480,
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
    )
    fig.update_xaxes(title_text=f"PC1 ({fmt.share(ev[0])} of variance)")
    fig.update_yaxes(title_text=f"PC2 ({fmt.share(ev[1])} of variance)")
    description = (
        f"Scatter plot of {fmt.count(projection.get('n_shown', len(x)))} of "
        f"{fmt.count(projection.get('n_total', len(x)))} customers on the first two principal "
        f"components, which carry {fmt.share((ev[0] or 0) + (ev[1] or 0))} of the variance; "
        "each segment has its own colour and marker shape."
    )
    return as_chart(fig, description)
