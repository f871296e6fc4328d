"""The run report's "Monitoring: changes since run X" section, as display text and charts.

Reads the run dict's ``monitoring`` key (:class:`segmint.store.results.MonitoringResult`, the
JSON of ``segmint monitor`` plus each segmentation's sizes over the runs). The heat maps and
the per-segment table come from the monitoring page's own view
(:func:`segmint.report.monitoring.monitoring_view`), the stacked sizes from
:func:`segmint.report.monitoring.sizes_over_runs_chart`, so the report, ``segmint monitor
--html`` and the web app draw the same thing.

What is the report's own: each alert in plain words with what to do about it (the reader of a
scheduled report is a marketer, not the person who set the thresholds), and a drift table that
cannot mislead: worst first, the value compared with the threshold printed with as many digits
as it takes to stay on its side of the threshold (a p-value of 0.0496 is never shown as the
alpha of 0.05), p-values beside the test statistic, the rule stated ("p ≤ 0.05").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from segmint.monitor.numbers import beside
from segmint.report import _format as fmt
from segmint.report.monitoring import monitoring_view, sizes_over_runs_chart

__all__ = ["MAX_FEATURES", "monitoring_section_view"]

#: drift rows shown in the report; the rest are counted (report.json holds all)
MAX_FEATURES = 10

_METHODS = {
    "ks": ("Kolmogorov–Smirnov test", "p-value", "≤"),
    "chisquare": ("chi-square test", "p-value", "<"),
    "z": ("two-proportion z-test", "p-value", "<"),
    "wasserstein": ("Wasserstein distance (÷ baseline sd)", "distance", "≥"),
    "jensenshannon": ("Jensen–Shannon distance", "distance", "≥"),
}

#: alert kind → (the group's heading, what to do), in the order the report lists them
_GROUPS = {
    "moved_share": (
        "Customers changed segment",
        "Re-export these segmentations' audiences before the next campaign: lists exported "
        "before this run put many customers in the wrong segment.",
    ),
    "segment_size": (
        "Segments grew or shrank",
        "Review the campaigns, budget and stock planned for these segments: their audiences "
        "changed size.",
    ),
    "feature_drift": (
        "Features drifted",
        "Check that the segments cut from these features still describe your customers (the "
        "profiles in this report); offers written for the old picture may need updating.",
    ),
}


def monitoring_section_view(data: Any) -> dict[str, Any] | None:
    """Display text for the section; ``None`` when the run has no comparison."""
    data = fmt.mapping(data)
    if not data or not data.get("baseline"):
        return None
    full = _complete(data)
    view = monitoring_view(full)
    features = [fmt.mapping(f) for f in fmt.items(data.get("features"))]
    for i, (section, s) in enumerate(zip(view["sections"], full["segmentations"], strict=True)):
        section["id"] = f"monitor-{i}"
        names = {**s["names"]["baseline"], **s["names"]["current"]}
        history = fmt.mapping(s.get("history"))
        section["history"] = sizes_over_runs_chart(s["name"], history, names) if history else None
        section["stayed_line"] = _stayed(s)
    return {
        "title": f"Monitoring: changes since run {fmt.text(data['baseline'])}",
        "baseline": fmt.text(data["baseline"]),
        "current": fmt.text(data["current"]),
        "alerts": _alerts([fmt.mapping(a) for a in fmt.items(data.get("alerts"))], features),
        "thresholds": _thresholds(fmt.mapping(data.get("thresholds"))),
        "sections": view["sections"],
        **_drift(features),
        "notes": view["notes"],
    }


def _complete(data: Mapping[str, Any]) -> dict[str, Any]:
    """The keys :func:`monitoring_view` reads, with empty defaults (report.json may be older)."""
    segs = []
    for s in map(fmt.mapping, fmt.items(data.get("segmentations"))):
        sizes, names = fmt.mapping(s.get("sizes")), fmt.mapping(s.get("names"))
        segs.append(
            {
                **s,
                "name": fmt.text(s.get("name")),
                "migration": fmt.mapping(s.get("migration")),
                "sizes": {k: dict(fmt.mapping(sizes.get(k))) for k in ("baseline", "current")},
                "names": {k: dict(fmt.mapping(names.get(k))) for k in ("baseline", "current")},
                "customers_in_both": int(fmt.number(s.get("customers_in_both")) or 0),
                "stayed_share": fmt.number(s.get("stayed_share")),
                "centroid_shift": fmt.mapping(s.get("centroid_shift")),
                "new": fmt.items(s.get("new")),
                "retired": fmt.items(s.get("retired")),
            }
        )
    return {
        **data,
        "segmentations": segs,
        "features": [],  # the drift table is built here (worst first, exact sides)
        "alerts": [],
        "notes": [fmt.text(n) for n in fmt.items(data.get("notes"))],
    }


def _stayed(s: Mapping[str, Any]) -> str:
    both = s["customers_in_both"]
    if not both:
        return "No customer is in both runs, so none can be followed from one to the other."
    stayed = int(fmt.number(s.get("stayed")) or round((s["stayed_share"] or 0) * both))
    return (
        f"{fmt.count(stayed)} of the {fmt.count(both)} customers present in both runs "
        f"({fmt.share(stayed / both)} of them) stayed in their segment."
    )


def _alerts(
    alerts: list[Mapping[str, Any]], features: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The alerts grouped by kind, each group with what to do once (a shop in flux raises
    twenty alerts; the same advice twenty times would hide them)."""
    groups = []
    for kind, (title, todo) in _GROUPS.items():
        items = [_alert(a, features) for a in alerts if a.get("kind") == kind]
        if items:
            groups.append({"title": f"{title} ({len(items)})", "todo": todo, "items": items})
    other = [fmt.text(a.get("message")) for a in alerts if a.get("kind") not in _GROUPS]
    if other:
        groups.append({"title": f"Other alerts ({len(other)})", "todo": "", "items": other})
    return groups


def _alert(a: Mapping[str, Any], features: list[Mapping[str, Any]]) -> str:
    if a.get("kind") == "feature_drift":
        f = next((f for f in features if f.get("feature") == a.get("subject")), None)
        if f is not None:
            return f"{_label(f)}: {_verdict(f)}."
    return fmt.text(a.get("message"))


def _label(f: Mapping[str, Any]) -> str:
    column = fmt.text(f.get("feature"))
    label = fmt.feature(column)
    return label[:1].upper() + label[1:] + (f" ({column})" if label != column else "")


def _verdict(f: Mapping[str, Any]) -> str:
    """'Kolmogorov–Smirnov test, p-value 0.0012 (drift at p-value ≤ 0.05)'."""
    method = fmt.text(f.get("method"))
    name, what, op = _METHODS.get(method, (method, "statistic", "≥"))
    value = fmt.number(f.get("p_value") if what == "p-value" else f.get("statistic"))
    threshold = fmt.number(f.get("threshold"))
    limit = f"{threshold:g}" if threshold is not None else fmt.DASH
    return f"{name}, {what} {beside(value, threshold)} (drift at {what} {op} {limit})"


def _drift(features: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The drift table: tested features worst first, ten rows; the rest and untested counted."""
    tested = [f for f in features if fmt.text(f.get("method")) not in ("", "none")]
    tested.sort(key=lambda f: (not f.get("drifted"), -_severity(f)))
    shown = tested[:MAX_FEATURES]
    drifted = sum(bool(f.get("drifted")) for f in tested)
    rest, untested = len(tested) - len(shown), len(features) - len(tested)
    hidden = drifted - sum(bool(f.get("drifted")) for f in shown)
    more = [f"{rest} more features tested, {hidden or 'none'} of them drifted"] if rest else []
    more += [f"{untested} could not be tested (empty, dates, or in one run only)"] * bool(untested)
    return {
        "drift_rows": [_drift_row(f) for f in shown],
        "drift_summary": f"{drifted} of {len(tested)} features drifted" if tested else "",
        "drift_more": "; ".join(more) + ("; every feature is in report.json." if more else ""),
    }


def _drift_row(f: Mapping[str, Any]) -> dict[str, Any]:
    method = fmt.text(f.get("method"))
    name, what, op = _METHODS.get(method, (method, "statistic", "≥"))
    threshold = fmt.number(f.get("threshold"))
    p_test = what == "p-value"
    return {
        "feature": fmt.text(f.get("feature")),
        "label": fmt.feature(f.get("feature")),
        "method": name,
        "statistic": beside(fmt.number(f.get("statistic")), None if p_test else threshold),
        "p_value": beside(fmt.number(f.get("p_value")), threshold) if p_test else fmt.DASH,
        "rule": f"{what} {op} {threshold:g}" if threshold is not None else fmt.DASH,
        "psi": beside(fmt.number(f.get("psi"))),
        "drifted": bool(f.get("drifted")),
    }


def _severity(f: Mapping[str, Any]) -> float:
    """How far across its threshold (as :attr:`FeatureDrift.severity`), from the JSON."""
    threshold = fmt.number(f.get("threshold"))
    if threshold is None:
        return -1.0
    if fmt.text(f.get("method")) in ("ks", "chisquare", "z"):
        p = fmt.number(f.get("p_value"))
        p = 1.0 if p is None else p
        return threshold / p if p > 0 else math.inf
    statistic = fmt.number(f.get("statistic"))
    return math.inf if statistic is None else statistic / threshold


def _thresholds(t: Mapping[str, Any]) -> str:
    size, moved = fmt.number(t.get("max_size_change")), fmt.number(t.get("max_moved_share"))
    smallest = fmt.count(t.get("min_segment_size"))
    parts = []
    if size is not None:
        parts.append(f"a segment grows or shrinks by more than {size * 100:g} %")
    if moved is not None:
        parts.append(f"more than {moved * 100:g} % of the customers in both runs change segment")
    if not parts:
        return ""
    return (
        f"Alerts are raised when {' or when '.join(parts)} (segments under {smallest} customers "
        "in both runs excepted), and for every feature that drifted (spec: monitoring:)."
    )
