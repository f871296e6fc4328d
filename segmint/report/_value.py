"""The value section of a segmentation: model parameters, the CLV distribution, P(alive) by
frequency and recency, and the calibration/holdout comparison.

Same chart conventions as :mod:`segmint.report._charts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go

from segmint.report import _format as fmt
from segmint.report._charts import PALETTE, Chart, as_chart, base_layout

__all__ = ["value_view"]

#: sequential, colour-blind safe (viridis stops)
SEQUENTIAL = [
    [0.0, "#440154"],
    [0.25, "#3b528b"],
    [0.5, "#21918c"],
    [0.75, "#5ec962"],
    [1, "#fde725"],
]


def _fixed(value: Any, digits: int) -> str:
    n = fmt.number(value)
    return fmt.DASH if n is None else f"{n:,.{digits}f}"


def _estimate(value: Any) -> str:
    """Four significant digits, with thousands separators for large values (1,775,623)."""
    n = fmt.number(value)
    if n is None:
        return fmt.DASH
    if abs(n) >= 1000:
        return f"{n:,.0f}"
    return f"{n:.4g}" if n else "0"


def _params(model: Mapping[str, Any]) -> list[dict[str, str]]:
    params = fmt.mapping(model.get("params"))
    errors = fmt.mapping(model.get("standard_errors"))
    return [
        {"name": fmt.text(k), "estimate": _estimate(v), "se": _estimate(errors.get(k))}
        for k, v in params.items()
    ]


def clv_chart(hist: Mapping[str, Any]) -> Chart | None:
    raw = [fmt.number(e) for e in fmt.items(hist.get("edges"))]
    counts = [fmt.number(c) for c in fmt.items(hist.get("counts"))]
    edges = [e for e in raw if e is not None]
    if len(edges) < 2 or len(edges) != len(raw) or not counts:
        return None
    mids = [(a + b) / 2 for a, b in pairwise(edges)]
    fig = go.Figure(
        go.Bar(
            x=mids,
            y=counts,
            width=[(b - a) for a, b in pairwise(edges)],
            marker={"color": PALETTE[0]},
            hovertemplate="CLV about %{x:,.0f}: %{y:,} customers<extra></extra>",
        )
    )
    base_layout(fig, 320)
    open_last = " (the last bar also holds the top 1 %)" if hist.get("open_last") else ""
    fig.update_xaxes(title_text="Customer lifetime value" + open_last)
    fig.update_yaxes(title_text="Customers")
    total = sum(c or 0 for c in counts)
    return as_chart(
        fig,
        f"Histogram of customer lifetime value for {fmt.count(total)} customers, from "
        f"{fmt.money(edges[0])} to {fmt.money(edges[-1])}{open_last}.",
    )


def p_alive_chart(matrix: Mapping[str, Any]) -> Chart | None:
    z = [list(map(fmt.number, row)) for row in fmt.items(matrix.get("p_alive"))]
    xs = [fmt.number(v) for v in fmt.items(matrix.get("recency"))]
    ys = [fmt.number(v) for v in fmt.items(matrix.get("frequency"))]
    if not z or not xs or not ys:
        return None
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=xs,
            y=ys,
            zmin=0,
            zmax=1,
            colorscale=SEQUENTIAL,
            colorbar={"title": {"text": "P(alive)"}},
            hovertemplate="repeat purchases %{y}, last one at %{x:.1f}: P(alive) %{z:.2f}"
            "<extra></extra>",
        )
    )
    base_layout(fig, 380)
    fig.update_xaxes(title_text="Recency: time from first to last purchase")
    fig.update_yaxes(title_text="Repeat purchases")
    return as_chart(
        fig,
        "Heat map of the probability that a customer is still active, by number of repeat "
        "purchases (rows) and time of the last purchase (columns), for a customer who first "
        f"bought {_fixed(matrix.get('T'), 1)} time units ago: recent buyers are likely "
        "active, frequent buyers who stopped long ago are not.",
    )


def holdout_chart(holdout: Mapping[str, Any]) -> Chart | None:
    rows = [fmt.mapping(r) for r in fmt.items(holdout.get("buckets"))]
    if not rows:
        return None
    labels = [fmt.text(r.get("frequency")) for r in rows]
    fig = go.Figure()
    for key, name, colour, symbol, dash in (
        ("actual", "Actual", PALETTE[1], "square", "solid"),
        ("predicted", "Predicted", PALETTE[0], "circle", "dash"),
    ):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=[fmt.number(r.get(key)) for r in rows],
                name=name,
                mode="lines+markers",
                line={"color": colour, "dash": dash},
                marker={"symbol": symbol, "size": 9},
                hovertemplate=name + ": %{y:.2f} purchases<extra></extra>",
            )
        )
    base_layout(fig, 320)
    fig.update_xaxes(title_text="Repeat purchases in the calibration period", type="category")
    fig.update_yaxes(title_text="Mean purchases in the holdout period")
    return as_chart(
        fig,
        "Line chart of the mean number of purchases in the holdout period, predicted (dashed, "
        "circles) and actual (solid, squares), by the number of repeat purchases before it; "
        f"mean absolute error per customer {_fixed(holdout.get('mae'), 3)}.",
    )


def value_view(value: Mapping[str, Any]) -> dict[str, Any] | None:
    """Display data for the value section, or None when the segmentation has none."""
    if not value:
        return None
    models = fmt.mapping(value.get("models"))
    bg = fmt.mapping(models.get("bgnbd"))
    gg = fmt.mapping(models.get("gamma_gamma"))
    holdout = fmt.mapping(value.get("holdout"))
    independence = fmt.mapping(gg.get("independence"))
    thresholds = fmt.mapping(models.get("thresholds"))
    return {
        "unit": fmt.text(value.get("unit")) or "weeks",
        "purchase_model": fmt.text(bg.get("model")) or "BG/NBD",
        "bgnbd": _params(bg),
        "bgnbd_ll": _fixed(bg.get("log_likelihood"), 2),
        "gamma_gamma": _params(gg),
        "correlation": _fixed(independence.get("correlation"), 2),
        "independent": bool(independence.get("ok")),
        "horizon": _fixed(models.get("horizon_days"), 0),
        "discount": fmt.share(models.get("discount_rate")),
        "thresholds": [{"name": fmt.text(k), "clv": fmt.money(v)} for k, v in thresholds.items()],
        "buyers": fmt.count(value.get("buyers")),
        "clv_chart": clv_chart(fmt.mapping(value.get("clv_histogram"))),
        "p_alive_chart": p_alive_chart(fmt.mapping(value.get("p_alive_matrix"))),
        "holdout": {
            "chart": holdout_chart(holdout),
            "mae": _fixed(holdout.get("mae"), 3),
            "total_error": fmt.share(holdout.get("total_error")),
            "duration": _fixed(holdout.get("duration"), 1),
        }
        if holdout
        else None,
    }
