"""The needs section of a segmentation: how many factors and why, the loadings heat map, and
the scales with their reliability.

A reader of a needs segmentation has to see what each factor *is* before the segment names
("High waits for sales · compares prices") mean anything; the loadings heat map shows it.
Same chart conventions as :mod:`segmint.report._charts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from segmint.report import _format as fmt
from segmint.report._charts import DIVERGING, Chart, _wrap, as_chart, base_layout, plot_text

__all__ = ["loadings_heatmap", "needs_view"]


def _item(name: str) -> str:
    from segmint.feedback.survey import item_label

    return item_label(name)


def loadings_heatmap(
    items: list[str], factors: list[Mapping[str, Any]], loadings: list[list[Any]]
) -> Chart | None:
    """Items × factors, coloured by the rotated loading (−1 … 1, centred at 0)."""
    if not items or not factors or not loadings:
        return None
    z = [[fmt.number(v) for v in row] for row in loadings]
    names = [fmt.text(f.get("name") or f.get("factor")) for f in factors]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[_wrap(plot_text(n), len(names)) for n in names],
            y=[plot_text(_item(i)) for i in items],
            colorscale=DIVERGING,
            zmid=0,
            zmin=-1,
            zmax=1,
            xgap=2,
            ygap=2,
            text=[["" if v is None else f"{v:+.2f}" for v in row] for row in z],
            texttemplate="%{text}",
            colorbar={"title": {"text": "Loading"}, "thickness": 12},
            hovertemplate="%{y}<br>%{x}<br>Loading: %{z:.2f}<extra></extra>",
        )
    )
    base_layout(fig, max(260, 90 + 30 * len(items)))
    fig.update_yaxes(autorange="reversed", gridcolor="rgba(0,0,0,0)")
    fig.update_xaxes(side="top", gridcolor="rgba(0,0,0,0)", tickangle=0)
    fig.update_layout(margin={"t": 60})
    description = (
        f"Heat map of the loadings of {len(items)} survey items on {len(names)} factors: "
        + "; ".join(
            f"{n} is defined by {', '.join(_item(i) for i in fmt.items(f.get('items'))) or 'no item'}"
            for n, f in zip(names, factors, strict=True)
        )
        + "."
    )
    return as_chart(fig, description)


def needs_view(needs: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the template shows for a needs segmentation (None for other methods)."""
    if not needs:
        return None
    items = [fmt.text(i) for i in fmt.items(needs.get("items"))]
    factors = [fmt.mapping(f) for f in fmt.items(needs.get("factors"))]
    loadings = [list(fmt.items(row)) for row in fmt.items(needs.get("loadings"))]
    if len(loadings) == len(items):  # items grouped by their factor, strongest first
        order = sorted(range(len(items)), key=lambda i: _grouping(loadings[i]))
        items, loadings = [items[i] for i in order], [loadings[i] for i in order]
    return {
        "rule": fmt.text(needs.get("rule_text")),
        "rotation": fmt.text(needs.get("rotation")) or "no",
        "respondents": fmt.count(needs.get("respondents")),
        "n_items": len(items),
        "eigenvalues": [
            {
                "factor": fmt.count(e.get("factor")),
                "eigenvalue": _fixed(e.get("eigenvalue")),
                "threshold": _fixed(e.get("threshold")),
                "retained": bool(e.get("retained")),
            }
            for e in map(fmt.mapping, fmt.items(needs.get("eigenvalues")))
        ],
        "factors": [
            {
                "name": fmt.text(f.get("name")),
                "items": ", ".join(_item(fmt.text(i)) for i in fmt.items(f.get("items")))
                or fmt.DASH,
                "alpha": _fixed(f.get("alpha")),
                "variance": fmt.share(f.get("variance")),
            }
            for f in factors
        ],
        "chart": loadings_heatmap(items, factors, loadings),
    }


def _grouping(row: list[Any]) -> tuple[int, float]:
    """(the factor an item loads most on, minus that loading): sorts items into blocks."""
    values = [abs(fmt.number(v) or 0.0) for v in row]
    if not values:
        return (0, 0.0)
    j = max(range(len(values)), key=values.__getitem__)
    return (j, -values[j])


def _fixed(value: Any) -> str:
    n = fmt.number(value)
    return fmt.DASH if n is None else f"{n:.2f}"
