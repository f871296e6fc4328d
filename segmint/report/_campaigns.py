"""The "Campaign results" section: the results table as text, and the conversion chart.

Reads the JSON form of :class:`segmint.measure.campaigns.CampaignResults` (the run dict's
``campaigns`` key), so the report, ``report.json`` and the web app's Campaigns page show the
same numbers. The chart draws each segment × channel's conversion rate with its interval as
an error bar: a channel whose bar overlaps the best one's may not be worse at all, which a
bar of point estimates would hide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from segmint.report import _format as fmt
from segmint.report._charts import PALETTE, SYMBOLS, Chart, as_chart, base_layout, plot_text

__all__ = ["campaigns_view", "conversion_chart"]

_DIMS = {"campaign": "Campaign", "segment": "Segment", "channel": "Channel"}


def campaigns_view(data: Any) -> dict[str, Any] | None:
    """Display text for the section; ``None`` when the run has no campaign results."""
    data = fmt.mapping(data)
    if not data:
        return None
    by = [str(d) for d in fmt.items(data.get("by")) if d in _DIMS]
    level = fmt.share(data.get("confidence")).replace(".0 %", " %")
    return {
        "level": level,
        "dims": [_DIMS[d] for d in by],
        "rows": [_row(fmt.mapping(r), by) for r in fmt.items(data.get("rows"))],
        "best": [
            fmt.text(fmt.mapping(c).get("sentence")) for c in fmt.items(data.get("best_channels"))
        ],
        "notes": [fmt.text(n) for n in fmt.items(data.get("notes"))],
        "reasons": _reasons(fmt.items(data.get("rows"))),
        "chart": conversion_chart(fmt.items(data.get("segment_channel")), level),
    }


def _row(r: Mapping[str, Any], by: list[str]) -> dict[str, Any]:
    keys = {
        "campaign": fmt.text(r.get("campaign_name") or r.get("campaign_id")),
        "segment": fmt.text(r.get("segment")),
        "channel": fmt.text(r.get("channel")),
    }
    counts = fmt.mapping(r.get("counts"))
    return {
        "keys": [keys[d] for d in by],
        "reached": fmt.count(counts.get("reached")),
        "open": _rate(r.get("open_rate")),
        "click": _rate(r.get("click_rate")),
        "conversion": _rate(r.get("conversion_rate")),
        "revenue": fmt.money(_value(r.get("revenue"))),
        "per_contact": fmt.money(_value(r.get("revenue_per_contact"))),
        "cost": fmt.money(_value(r.get("cost"))),
        "roi": fmt.share(_value(r.get("roi"))),
        "per_conversion": fmt.money(_value(r.get("cost_per_conversion"))),
    }


def _value(fig: Any) -> Any:
    return fmt.mapping(fig).get("value")


def _rate(rate: Any) -> str:
    rate = fmt.mapping(rate)
    if fmt.number(rate.get("value")) is None:
        return fmt.DASH
    low, high = _percent(rate.get("low")), _percent(rate.get("high"))
    return f"{_percent(rate.get('value'))} ({low.removesuffix(' %')}–{high})"


def _percent(value: Any) -> str:
    """A rate as the CLI and the best-channel sentences write it: two decimals under 1 %
    (conversion rates of 0.71 % and 0.92 % must not both read '0.7 %' / '0.9 %')."""
    n = fmt.number(value)
    if n is None:
        return fmt.DASH
    return f"{n * 100:.{2 if abs(n) < 0.01 else 1}f} %"


_COLUMNS = {
    "open_rate": "Open rate",
    "click_rate": "Click rate",
    "conversion_rate": "Conversion rate",
    "revenue": "Revenue",
    "revenue_per_contact": "Revenue per contact",
    "cost": "Cost",
    "roi": "ROI",
    "cost_per_conversion": "Cost per conversion",
}


def _reasons(rows: list[Any]) -> list[str]:
    """Why cells are empty: each column's distinct reasons once."""
    found: dict[str, dict[str, None]] = {}
    for r in map(fmt.mapping, rows):
        for key, label in _COLUMNS.items():
            reason = fmt.text(fmt.mapping(r.get(key)).get("reason"))
            if reason:
                found.setdefault(label, {})[reason] = None
    return [f"{label}: {'; '.join(why)}" for label, why in found.items()]


def conversion_chart(rows: list[Any], level: str = "95 %") -> Chart | None:
    """Conversion rate per segment (rows) and channel (symbols), with interval bars."""
    points = [
        (
            fmt.text(r.get("segment")),
            fmt.text(r.get("channel")),
            fmt.mapping(r.get("conversion_rate")),
        )
        for r in map(fmt.mapping, rows)
    ]
    points = [p for p in points if fmt.number(p[2].get("value")) is not None]
    if not points:
        return None
    segments = sorted({p[0] for p in points})
    channels = sorted({p[1] for p in points})
    fig = go.Figure()
    for i, channel in enumerate(channels):
        mine = [p for p in points if p[1] == channel]
        rates = [float(p[2]["value"]) for p in mine]
        fig.add_trace(
            go.Scatter(
                name=plot_text(channel),
                y=[plot_text(p[0]) for p in mine],
                x=rates,
                mode="markers",
                orientation="h",
                marker={
                    "color": PALETTE[i % len(PALETTE)],
                    "symbol": SYMBOLS[i % len(SYMBOLS)],
                    "size": 10,
                },
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [float(p[2]["high"]) - v for p, v in zip(mine, rates, strict=True)],
                    "arrayminus": [
                        v - float(p[2]["low"]) for p, v in zip(mine, rates, strict=True)
                    ],
                },
                customdata=[
                    [_percent(p[2]["low"]), _percent(p[2]["high"]), fmt.count(p[2]["trials"])]
                    for p in mine
                ],
                hovertemplate=f"%{{y}}, {plot_text(channel)}: %{{x:.2%}} ({level} CI "
                "%{customdata[0]}–%{customdata[1]}, %{customdata[2]} contacts)<extra></extra>",
            )
        )
    base_layout(fig, max(260, 80 + 40 * len(segments) * max(1, len(channels)) // 2))
    fig.update_layout(scattermode="group")
    fig.update_xaxes(
        title_text=f"Conversion rate ({level} Wilson interval)",
        tickformat=".1%",
        rangemode="tozero",
    )
    fig.update_yaxes(categoryorder="array", categoryarray=segments[::-1])
    return as_chart(
        fig,
        f"Conversion rate with its {level} interval for {len(segments)} segments and "
        f"{len(channels)} channels ({', '.join(channels)}); each channel has its own symbol. "
        "Every number is also in the table.",
    )
