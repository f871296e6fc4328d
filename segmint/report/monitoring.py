"""The monitoring page: alerts, then per segmentation a migration heat map and the sizes.

``segmint monitor --html`` writes it: one self-contained file (inline CSS, plotly.js embedded
once) that can be attached to the e-mail a scheduled job sends. It takes the plain dict of
:meth:`segmint.monitor.compare.Monitoring.to_dict`, so a saved ``--json`` renders the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from segmint.report._charts import PALETTE, Chart, as_chart, base_layout, plot_text

__all__ = ["migration_heatmap", "monitoring_view", "render_monitoring", "sizes_over_runs_chart"]

#: white to the report's blue: a count, not a signed change
_SEQUENTIAL = [[0.0, "#ffffff"], [1.0, "#0072B2"]]


def migration_heatmap(s: Mapping[str, Any]) -> Chart | None:
    """Customers per (segment in the baseline, segment now), a number in every cell."""
    rows = list(s["sizes"]["baseline"])
    cols = list(s["sizes"]["current"])
    if not rows or not cols or not s["customers_in_both"]:
        return None
    z = [[s["migration"].get(r, {}).get(c, 0) for c in cols] for r in rows]
    before = [plot_text(s["names"]["baseline"].get(r, r)) for r in rows]
    after = [plot_text(s["names"]["current"].get(c, c)) for c in cols]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=after,
            y=before,
            colorscale=_SEQUENTIAL,
            text=[[f"{v:,}" for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate="from %{y}<br>to %{x}<br>%{text} customers<extra></extra>",
            showscale=False,
        )
    )
    base_layout(fig, max(260, 90 + 34 * len(rows)))
    fig.update_yaxes(title_text="baseline segment", autorange="reversed")
    fig.update_xaxes(title_text="current segment", side="top")
    share = s["stayed_share"]
    description = (
        f"Heat map of {s['customers_in_both']:,} customers from {len(rows)} baseline segments "
        f"to {len(cols)} current segments of {s['name']}; "
        + (f"{share:.1%} stayed in their segment." if share is not None else "")
    )
    return as_chart(fig, description)


def sizes_over_runs_chart(
    name: str, history: Mapping[str, Mapping[str, int]], names: Mapping[str, str]
) -> Chart | None:
    """Customers per segment over the runs (``{run_id: {label: n}}``, oldest first), stacked."""
    if len(history) < 2:
        return None
    runs = list(history)
    labels = sorted({label for sizes in history.values() for label in sizes})
    fig = go.Figure()
    for i, label in enumerate(labels):
        fig.add_trace(
            go.Scatter(
                x=runs,
                y=[history[r].get(label, 0) for r in runs],
                name=plot_text(names.get(label, label)),
                mode="lines+markers",
                stackgroup="sizes",
                line={"color": PALETTE[i % len(PALETTE)]},
                hovertemplate="%{x}<br>%{y:,} customers<extra>%{fullData.name}</extra>",
            )
        )
    base_layout(fig, 340)
    fig.update_yaxes(title_text="customers")
    fig.update_xaxes(title_text="segment run", type="category")
    description = (
        f"Stacked area chart of the customers in each of {len(labels)} segments of {name} over "
        f"{len(runs)} runs, from {runs[0]} to {runs[-1]}."
    )
    return as_chart(fig, description)


def monitoring_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the page shows, as text."""
    sections = []
    for i, s in enumerate(data["segmentations"]):
        names = s["names"]["baseline"] | s["names"]["current"]
        before, after = s["sizes"]["baseline"], s["sizes"]["current"]
        rows = []
        for label in [*before, *(x for x in after if x not in before)]:
            b, a = before.get(label), after.get(label)
            shift = s["centroid_shift"].get(label)
            rows.append(
                {
                    "name": names.get(label, label),
                    "before": f"{b:,}" if b is not None else "–",
                    "after": f"{a:,}" if a is not None else "–",
                    "change": f"{a / b - 1:+.0%}" if a is not None and b else
                    ("new" if b is None else "retired"),
                    "shift": f"{shift:.2f}" if shift is not None else "–",
                }
            )  # fmt: skip
        share = s["stayed_share"]
        sections.append(
            {
                "id": f"seg-{i}",
                "name": s["name"],
                "stayed": f"{share:.1%}" if share is not None else "–",
                "both": f"{s['customers_in_both']:,}",
                "chart": migration_heatmap(s),
                "rows": rows,
                "new": [names.get(x, x) for x in s["new"]],
                "retired": [names.get(x, x) for x in s["retired"]],
            }
        )
    features = sorted(data["features"], key=lambda f: (not f.get("drifted"), str(f.get("feature"))))
    return {
        "title": f"Monitoring: {data['current']} against {data['baseline']}",
        "baseline": data["baseline"],
        "current": data["current"],
        "alerts": [a["message"] for a in data["alerts"]],
        "sections": sections,
        "features": [
            {
                "feature": f.get("feature"),
                "method": f.get("method", ""),
                "statistic": _num(f.get("statistic")),
                "threshold": _num(f.get("threshold")),
                "drifted": "yes" if f.get("drifted") else "no",
            }
            for f in features
        ],
        "thresholds": data["thresholds"],
        "notes": list(data.get("notes", [])),
    }


def render_monitoring(data: Mapping[str, Any]) -> str:
    """The comparison as one self-contained HTML page."""
    # imported here: the run report's section (``_monitoring``) uses this module's charts, and
    # ``_render`` imports the report's views
    from segmint.report._render import _env, _plotly_js

    view = monitoring_view(data)
    has_charts = any(s["chart"] is not None for s in view["sections"])
    return (
        _env()
        .get_template("monitoring.html.j2")
        .render(r=view, plotly_js=_plotly_js() if has_charts else "", has_charts=has_charts)
    )


def _num(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, int | float) and not isinstance(v, bool) else "–"
