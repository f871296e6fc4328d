"""The split test's page: the verdicts, a forest plot of lifts per segment, every number.

A forest plot (one row per segment, the lift as a dot with its confidence interval as a bar,
a line at 0) is how trial results per subgroup are usually shown: a marketer sees at a glance
which segments moved and how sure that is. The same chart sits in the web app
(``segmint.web``); this module renders it, and the self-contained page ``segmint experiment
analyze --html`` writes.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from segmint.measure.analyze import ALL, Analysis, Comparison
from segmint.measure.verdict import chance, p_value, percent, value
from segmint.report._charts import PALETTE, Chart, as_chart, base_layout, plot_text
from segmint.report._render import _env, _plotly_js

__all__ = ["experiment_view", "forest_chart", "render_experiment"]


def _interval(c: Comparison) -> tuple[float, float, float] | None:
    if c.relative is not None:
        if c.relative.status != "ok":
            return None
        return c.relative.estimate, c.relative.ci_low, c.relative.ci_high
    if c.bayesian is None or c.bayesian.status != "ok":
        return None
    return c.bayesian.expected, c.bayesian.ci_low, c.bayesian.ci_high


def forest_chart(analysis: Analysis, metric: str, variant: str) -> Chart | None:
    """Lift with its interval per segment (all customers on top) for one metric and variant."""
    rows = [c for c in analysis.comparisons if c.metric == metric and c.variant == variant]
    drawn = [(c, iv) for c in rows if (iv := _interval(c)) is not None]
    if not drawn:
        return None
    fig = go.Figure()
    for significant, name, symbol, colour in (
        (True, "Significant", "diamond", PALETTE[5]),
        (False, "Not significant", "circle", PALETTE[0]),
    ):
        part = [(c, iv) for c, iv in drawn if c.significant == significant]
        if not part:
            continue
        fig.add_trace(
            go.Scatter(
                x=[iv[0] * 100 for _, iv in part],
                y=[plot_text(c.segment) for c, _ in part],
                mode="markers",
                name=name,
                marker={"symbol": symbol, "size": 11, "color": colour},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [(iv[2] - iv[0]) * 100 for _, iv in part],
                    "arrayminus": [(iv[0] - iv[1]) * 100 for _, iv in part],
                    "thickness": 2,
                    "width": 6,
                },
                customdata=[
                    [percent(iv[0]), percent(iv[1]), percent(iv[2]), _p(c, analysis.alpha)]
                    for c, iv in part
                ],
                hovertemplate=(
                    "%{y}<br>lift %{customdata[0]}<br>interval %{customdata[1]} to "
                    "%{customdata[2]}<br>%{customdata[3]}<extra></extra>"
                ),
            )
        )
    order = [plot_text(c.segment) for c, _ in drawn][::-1]
    base_layout(fig, max(200, 90 + 42 * len(drawn)))
    fig.update_yaxes(categoryorder="array", categoryarray=order)
    fig.update_xaxes(title_text=f"lift of {plot_text(variant)} over {plot_text(analysis.control)}"
                     " (%)", ticksuffix=" %", zeroline=True, zerolinewidth=2)  # fmt: skip
    fig.add_vline(x=0, line_color="#1b1f24", line_width=1)
    sig = [c.segment for c, _ in drawn if c.significant]
    description = (
        f"Forest plot of the lift in {metric} of {variant} over {analysis.control} in "
        f"{len(drawn)} groups, each with its interval; "
        + (f"significant in: {', '.join(sig)}." if sig else "significant in none.")
    )
    return as_chart(fig, description)


def _p(c: Comparison, alpha: float) -> str:
    if c.p_adjusted is None or math.isnan(c.p_adjusted):
        if c.bayesian is not None and c.bayesian.status == "ok":
            return f"chance to beat control {chance(c.bayesian.chance_to_win)}"
        return ""
    label = p_value(c.p_adjusted, alpha)
    return label + (" (adjusted)" if c.segment != ALL else "")


def experiment_view(analysis: Analysis) -> dict[str, Any]:
    """What the page and the web app show, as text (numbers formatted once, here)."""
    panels: list[dict[str, Any]] = []
    for metric, kind in analysis.metrics.items():
        for variant in (v for v in analysis.variants if v != analysis.control):
            rows = [c for c in analysis.comparisons if c.metric == metric and c.variant == variant]
            panels.append(
                {
                    "id": f"forest-{len(panels)}",
                    "metric": metric,
                    "kind": "share of 0/1" if kind == "proportion" else "mean",
                    "variant": variant,
                    "chart": forest_chart(analysis, metric, variant),
                    "rows": [_row(c, kind, analysis.alpha) for c in rows],
                    "verdicts": [c.verdict for c in rows if c.segment != ALL],
                }
            )
    srm = [
        {
            "scope": scope,
            "p": f"{check.p_value:.3g}",
            "flagged": check.flagged,
            "observed": ", ".join(f"{v} {n:,}" for v, n in zip(analysis.variants, check.observed, strict=True)),
        }
        for scope, check in analysis.srm.items()
    ]  # fmt: skip
    return {
        "title": f"Split test: {analysis.source}",
        "source": analysis.source,
        "control": analysis.control,
        "by": analysis.by,
        "correction": {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "none"}[
            analysis.correction
        ],
        "level": f"{round((1 - analysis.alpha) * 100, 1):g} %",
        "verdicts": [c.verdict for c in analysis.comparisons if c.segment == ALL],
        "panels": panels,
        "srm": srm,
        "srm_flagged": analysis.srm_flagged(),
        "notes": list(analysis.notes),
    }


def _row(c: Comparison, kind: str, alpha: float) -> dict[str, Any]:
    iv = _interval(c)
    return {
        "segment": c.segment,
        "n": f"{c.control_stat.n:,} / {c.treatment_stat.n:,}",
        "control": value(kind, c.control_stat),
        "variant": value(kind, c.treatment_stat),
        "lift": percent(iv[0]) if iv else "n/a",
        "ci": f"{percent(iv[1])} to {percent(iv[2])}" if iv else "n/a",
        "p": _p(c, alpha),
        "chance": chance(c.bayesian.chance_to_win)
        if c.bayesian is not None and c.bayesian.status == "ok"
        else "",
        "significant": c.significant,
        "verdict": c.verdict,
    }


def render_experiment(analysis: Analysis) -> str:
    """The analysis as one self-contained HTML page (Plotly embedded)."""
    view = experiment_view(analysis)
    has_charts = any(p["chart"] is not None for p in view["panels"])
    return (
        _env()
        .get_template("experiment.html.j2")
        .render(r=view, plotly_js=_plotly_js() if has_charts else "", has_charts=has_charts)
    )
