"""Page data for the Persons page: plain sentences, record tables and match-weight charts.

A marketing analyst reads "These two records look like the same person: 97.3 % sure" and
looks at bars rather than log-odds: each comparison's match weight is a horizontal bar, green
when the two values agreeing (or nearly) made the pair likelier one person, red when their
disagreement made it less likely, labelled with its signed weight and the two values, so no
bar relies on colour alone. The charts are the report's (:mod:`segmint.report`: layout,
escaping, script-safe JSON); every number is also in a table next to them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from segmint.report import Chart, as_chart, base_layout, fmt, plot_text

__all__ = ["GREEN", "RED", "explanation_view", "pair_view", "sure", "weights_view"]

GREEN = "#009E73"  # Okabe–Ito bluish green
RED = "#D55E00"  # Okabe–Ito vermillion
GREY = "#9aa4ae"
#: customers columns in the order the records are shown, with their labels
LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company",
    "email": "E-mail",
    "phone": "Phone",
    "birth_date": "Birth date",
    "address": "Address",
    "city": "City",
    "postal_code": "Postal code",
    "country": "Country",
}
_MAX_TEXT = 32
_COLUMNS = {
    "first_name_last_name": "name",
    "birth_date": "birth date",
    "postal_code": "postal code",
}
_VALUES = "<br><span style='font-size:11px;color:#5b6670'>{}</span>"


def plain_column(column: str) -> str:
    """A comparison's name as a person would say it (``first_name_last_name`` → name)."""
    if column.startswith("tf_"):
        return f"{plain_column(column[3:])}, how common"
    return _COLUMNS.get(column, column.replace("_", " "))


def plain_level(level: str, column: str = "") -> str:
    """Splink's level text in plain words (the original stays in the tables and tooltips);
    ``column``: the comparison it belongs to."""
    low = level.lower()
    if low.startswith("starting match weight"):
        return "before comparing"
    if "term freq" in low:
        return "a rarer value counts more"
    if "reversed" in low:
        return "first and last name swapped"
    if "is null" in low:
        return "missing in one record"
    if low.startswith("all other"):
        return "different"
    found = re.search(r"(<=|>=|>)\s*([0-9.]+)\s*(\w*)", low)
    if "date difference" in low and found:
        n, unit = found.group(2), found.group(3)
        unit = unit if n == "1" or not unit or unit.endswith("s") else unit + "s"
        return f"within {n} {unit}".strip()
    if ("levenshtein" in low or "damerau" in low) and found:
        n = f"{float(found.group(2)):g}"
        return "one character apart" if n == "1" else f"{n} characters apart"
    if "jaro" in low and found:
        return "nearly the same" if float(found.group(2)) >= 0.9 else "similar"
    if low.startswith("exact match on ") and "(" not in low:
        words = low.removeprefix("exact match on ").replace("_", " ")
        own = {plain_column(column), column.replace("_", " "), "date of birth"}
        return "same" if words in own else f"same {words}"
    if "exact match" in low:
        return "same"
    return level


def sure(p: Any) -> str:
    """A match probability as a person would say it: ``'97.3 %'``, ``'> 99.9 %'``."""
    return fmt.share(p)


def verdict(p: float, threshold: float) -> str:
    """The sentence above a pair."""
    if p >= threshold:
        return f"These two records look like the same person: {sure(p)} sure."
    if p >= 0.5:
        return (
            f"These two records may be the same person: {sure(p)} sure, below the "
            f"{sure(threshold)} needed to link them."
        )
    return f"These two records look like different people: only {sure(p)} sure they are one."


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _signed(w: float | None) -> str:
    return "–" if w is None else f"{w:+.1f}".replace("-", "−")


def _bars(
    labels: Sequence[str], weights: Sequence[float], colours: Sequence[str], hover: Sequence[str]
) -> go.Figure:
    """Horizontal bars, first row on top; ``labels`` are already escaped for Plotly."""
    lo, hi = min([0.0, *weights]), max([0.0, *weights])
    pad = max(1.5, (hi - lo) * 0.12)
    fig = go.Figure(
        go.Bar(
            x=list(weights)[::-1],
            y=list(labels)[::-1],
            orientation="h",
            marker={"color": list(colours)[::-1]},
            text=[_signed(w) for w in weights][::-1],
            textposition="outside",
            cliponaxis=False,
            customdata=[plot_text(h) for h in hover][::-1],
            hovertemplate="%{customdata}<br>match weight %{x:+.2f}<extra></extra>",
        )
    )
    base_layout(
        fig,
        90 + 44 * len(labels),
        showlegend=False,
        xaxis={
            "title": {"text": "match weight (+: likelier the same person)"},
            "range": [lo - pad, hi + pad],
            "zeroline": True,
        },
        yaxis={"automargin": True},
    )
    return fig


def _colour(w: float | None, neutral: bool = False) -> str:
    if neutral or w is None or w == 0:
        return GREY
    return GREEN if w > 0 else RED


def waterfall_chart(steps: Sequence[Mapping[str, Any]]) -> Chart | None:
    """One pair: the prior, then each comparison's weight with the two values compared."""
    shown = [s for s in steps if s.get("column") != "Final score"]
    if not shown:
        return None
    labels, weights, colours, hover = [], [], [], []
    for s in shown:
        w = fmt.number(s.get("match_weight")) or 0.0
        prior = s.get("column") == "Prior"
        label = "before comparing" if prior else _step_label(s)
        if not prior and s.get("value_l") not in (None, "", "None"):
            both = f"{_short(s.get('value_l'))} ↔ {_short(s.get('value_r'))}"
            label = plot_text(label) + _VALUES.format(plot_text(both))
        else:
            label = plot_text(label)
        labels.append(label)
        hover.append(str(s.get("level") or ""))
        weights.append(w)
        colours.append(_colour(w, prior))
    total = next((s for s in steps if s.get("column") == "Final score"), None)
    summed = fmt.number(total.get("match_weight")) if total else None
    agree = sum(1 for s in shown[1:] if (fmt.number(s.get("match_weight")) or 0) > 0)
    disagree = sum(1 for s in shown[1:] if (fmt.number(s.get("match_weight")) or 0) < 0)
    description = (
        f"Match weights of {len(shown) - 1} comparisons: {agree} made the pair likelier one "
        f"person (green bars to the right), {disagree} less likely (red bars to the left); "
        f"with the prior they add up to {_signed(summed)}."
    )
    return as_chart(_bars(labels, weights, colours, hover), description)


def pair_view(pair: Mapping[str, Any], threshold: float) -> dict[str, Any]:
    """One explained pair: its sentence, chart and table of steps."""
    p = float(pair["match_probability"])
    steps = [
        {
            **s,
            "label": "Before comparing (how rare a match is)"
            if s.get("column") == "Prior"
            else ("Total" if s.get("column") == "Final score" else _step_label(s)),
            "weight": _signed(fmt.number(s.get("match_weight"))),
            "sign": _sign(fmt.number(s.get("match_weight"))),
        }
        for s in pair.get("steps") or []
    ]
    return {
        "a": pair["customer_id_l"],
        "b": pair["customer_id_r"],
        "sure": sure(p),
        "sentence": verdict(p, threshold),
        "decision": pair.get("decision"),
        "steps": steps,
        "chart": waterfall_chart(pair.get("steps") or []),
    }


def _step_label(step: Mapping[str, Any]) -> str:
    column = str(step.get("column"))
    if column.startswith("tf_"):  # Splink's term-frequency adjustment against the average value
        # relative, not absolute: an e-mail held by just these two records is already more
        # frequent than most e-mails (held by one); "a common value" misled there
        w = fmt.number(step.get("match_weight")) or 0.0
        how = (
            "in more records than most values, counts less"
            if w < 0
            else "rarer than most values, counts more"
        )
        return f"{plain_column(column[3:])}: {how}"
    return f"{plain_column(column)}: {plain_level(str(step.get('level')), column)}"


def _sign(w: float | None) -> str:
    return "" if not w else ("pos" if w > 0 else "neg")


def records_table(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Records as rows of fields (only fields some record fills), one column per record."""
    fields = [c for c in LABELS if any(r.get(c) not in (None, "") for r in records)]
    rows = [
        {
            "label": LABELS[c],
            "cells": [r.get(c) if r.get(c) is not None else "" for r in records],
            "differ": len({str(r.get(c) or "").strip().lower() for r in records}) > 1,
        }
        for c in fields
    ]
    return {"ids": [r["customer_id"] for r in records], "rows": rows}


def explanation_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """A customer's person: the records side by side and every link explained."""
    thr = float(data["threshold"])
    return {
        "customer_id": data["customer_id"],
        "person_id": data["person_id"],
        "records": records_table(data["records"]),
        "pairs": [pair_view(p, thr) for p in data["pairs"]],
    }


def review_view(pairs: Sequence[Mapping[str, Any]], threshold: float) -> list[dict[str, Any]]:
    """The review queue: each pair's sentence and its two records side by side."""
    return [
        {
            "a": p["customer_id_l"],
            "b": p["customer_id_r"],
            "sentence": verdict(float(p["match_probability"]), threshold),
            "linked": bool(p["linked"]),
            "records": records_table([p["record_l"], p["record_r"]]),
        }
        for p in pairs
    ]


def weights_view(comparisons: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The learned match weights: a table per comparison and one chart of every level."""
    rows = []
    for comp in comparisons:
        for level in comp.get("levels") or []:
            w = fmt.number(level.get("match_weight"))
            if w is None:
                continue
            rows.append(
                {
                    "comparison": comp["comparison"],
                    "level": level["level"],
                    "compared": plain_column(str(comp["comparison"])),
                    "plain": plain_level(str(level["level"]), str(comp["comparison"])),
                    "weight": _signed(w),
                    "value": w,
                    "sign": _sign(w),
                    "m": fmt.share(level.get("m")),
                    "u": fmt.share(level.get("u")),
                }
            )
    chart = None
    if rows:
        fig = _bars(
            [plot_text(f"{r['compared']}: {r['plain']}") for r in rows],
            [r["value"] for r in rows],
            [_colour(r["value"]) for r in rows],
            [f"{r['comparison']}: {r['level']}" for r in rows],
        )
        strongest = max(rows, key=lambda r: r["value"])
        chart = as_chart(
            fig,
            f"Learned match weights of {len(rows)} comparison levels; the strongest sign of "
            f"one person is '{strongest['compared']}: {strongest['plain']}' "
            f"({strongest['weight']}).",
        )
    return {"rows": rows, "chart": chart}
