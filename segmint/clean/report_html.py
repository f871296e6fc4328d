"""The data quality report as one self-contained HTML page.

:func:`render_quality_html` turns the report dict that ``clean`` writes (see the example in
``tests/test_report_html.py``) into a single HTML file: inline CSS, no scripts, no fonts or
images from elsewhere, so it can be mailed or opened offline. Missing shares per column and
invalid shares per check are drawn as CSS bars next to their numbers; columns the sources
never had are listed apart, as "not in source" (neutral: nothing is wrong with the data);
estimated distinct counts carry "≈"; the quality-gate status
is a badge with a colour *and* a word. Any key of the report may be missing or empty.

The numbers are formatted here, in Python; the template (``templates/quality.html.j2``, rendered
with autoescaping on) only lays them out, so every value from the data is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jinja2

__all__ = ["gate_status", "render_quality_html"]

_TEMPLATE = "quality.html.j2"
_ENV: jinja2.Environment | None = None

#: Gate status → (badge text, symbol). The symbol is decorative; the text carries the meaning.
_STATUS_TEXT = {
    "passed": ("Passed", "✓"),
    "warning": ("Warning", "!"),
    "failed": ("Failed", "✗"),
    "none": ("No gates", "–"),
    "unchecked": ("Not checked", "–"),
}


def _env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(
            loader=jinja2.PackageLoader("segmint.clean", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    return _ENV


# ---------------------------------------------------------------------------------------------
# Formatting helpers (tolerant of missing or mistyped values)
# ---------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A finite float, or None for missing, non-numeric, NaN or infinite values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> str:
    """12345 → '12,345'; floats keep up to two decimals; missing → '–'."""
    number = _number(value)
    if number is None:
        return "–" if value is None or value == "" else str(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def _decimal(value: Any) -> str:
    """A measurement such as an outlier bound: up to 4 significant decimals."""
    number = _number(value)
    if number is None:
        return "–" if value is None or value == "" else str(value)
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.4g}" if abs(number) < 1e-3 else f"{number:,.2f}"


def _share_text(share: float | None) -> str:
    """0.003 → '0.3 %'; tiny but non-zero shares are not rounded to zero."""
    if share is None:
        return "–"
    percent = share * 100
    if percent == 0:
        return "0 %"
    if 0 < percent < 0.1:
        return "< 0.1 %"
    if 99.9 < percent < 100:
        return "> 99.9 %"
    return f"{percent:.1f} %"


def _bar(share: float | None) -> dict[str, Any]:
    """Width (percent of the track) of a CSS bar; non-zero shares stay visible."""
    if share is None:
        return {"width": 0.0, "text": "–", "known": False, "level": "none"}
    clipped = min(max(share, 0.0), 1.0)
    width = 0.0 if clipped == 0 else max(clipped * 100, 1.0)
    level = "ok" if clipped == 0 else "low" if clipped < 0.01 else "mid" if clipped < 0.1 else "hi"
    return {"width": round(width, 2), "text": _share_text(share), "known": True, "level": level}


def _share(share: Any, part: Any, whole: Any) -> float | None:
    """The given share, or part / whole when only the counts are known."""
    given = _number(share)
    if given is not None:
        return given
    n_part, n_whole = _number(part), _number(whole)
    if n_part is not None and n_whole:
        return n_part / n_whole
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return []


def _label(key: Any) -> str:
    """'guest_lines' → 'Guest lines'."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# Gates
# ---------------------------------------------------------------------------------------------


def _one_gate_status(gate: Mapping[str, Any]) -> str:
    status = str(gate.get("status") or "").strip().lower()
    if status in ("passed", "pass", "ok"):
        return "passed"
    if status in ("failed", "fail", "error"):
        return "failed"
    if status in ("warning", "warn"):
        return "warning"
    if status == "not checked":
        return "unchecked"
    passed = gate.get("passed")
    if passed is True:
        return "passed"
    if passed is False:
        return "warning" if str(gate.get("level", "")).lower() in ("warn", "warning") else "failed"
    return "warning"


def gate_status(report: Mapping[str, Any]) -> str:
    """Overall gate status of a report: ``failed``, ``warning``, ``passed`` or ``none``."""
    gates = [_mapping(g) for g in _items(report.get("gates"))]
    statuses = {_one_gate_status(g) for g in gates} - {"unchecked"}
    failed_count = _number(_mapping(report.get("summary")).get("gates_failed"))
    if "failed" in statuses or (failed_count is not None and failed_count > 0):
        return "failed"
    if "warning" in statuses:
        return "warning"
    if statuses:
        return "passed"
    return "none"


def _badge(status: str) -> dict[str, str]:
    text, symbol = _STATUS_TEXT[status]
    return {"status": status, "text": text, "symbol": symbol}


# ---------------------------------------------------------------------------------------------
# The view model
# ---------------------------------------------------------------------------------------------


_TABLE_FACTS = {
    "rows_before": "Rows before cleaning",
    "rows": "Rows after cleaning",
    "duplicates_removed": "Duplicates removed",
    "duplicate_ids_removed": "Duplicate ids removed",
}
_TABLE_PARTS = ("marked", "columns", "outliers", "identical_lines")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""


def _table_view(index: int, name: str, table: Mapping[str, Any]) -> dict[str, Any]:
    rows = table.get("rows")
    facts = []
    for key, label in _TABLE_FACTS.items():
        if table.get(key) is not None:
            facts.append({"label": label, "value": _count(table.get(key))})
    # Any further counts the pipeline reports for the table ("added_from_orders": 3).
    for key, value in table.items():
        if key not in _TABLE_FACTS and key not in _TABLE_PARTS and _is_scalar(value):
            facts.append({"label": _label(key), "value": _count(value)})
    marked = [
        {"label": _label(key), "value": _count(value)}
        for key, value in _mapping(table.get("marked")).items()
    ]
    columns, absent = [], []
    for col_name, col_any in _mapping(table.get("columns")).items():
        col = _mapping(col_any)
        if col.get("in_source") is False:
            absent.append(_text(col_name))
            continue
        share = _share(col.get("missing_share"), col.get("missing"), rows)
        approx = "≈ " if col.get("distinct_exact") is False else ""
        columns.append(
            {
                "name": _text(col_name),
                "type": _text(col.get("type")),
                "extra": col.get("canonical") is False,
                "generated": _text(col.get("generated")),
                "missing": _count(col.get("missing")),
                "distinct": approx + _count(col.get("distinct")),
                "bar": _bar(share),
            }
        )
    outliers = []
    for col_name, out_any in _mapping(table.get("outliers")).items():
        out = _mapping(out_any)
        outliers.append(
            {
                "column": _text(col_name),
                "count": _count(out.get("count")),
                "low": _decimal(out.get("low")),
                "high": _decimal(out.get("high")),
                "method": _text(out.get("method")),
            }
        )
    same = _mapping(table.get("identical_lines"))
    if same:
        kept = "kept (no order id in the source)" if same.get("kept") else "removed"
        facts.append({"label": f"Identical lines {kept}", "value": _count(same.get("rows"))})
        facts.append({"label": "Their revenue", "value": _decimal(same.get("revenue"))})
        facts.append({"label": "Their customers", "value": _count(same.get("customers"))})
    return {
        "id": f"table-{index}",
        "name": name,
        "rows": _count(rows),
        "facts": facts,
        "absent": absent,
        "marked": marked,
        "columns": columns,
        "outliers": outliers,
    }


def _check_view(check: Mapping[str, Any]) -> dict[str, Any]:
    share = _share(check.get("share"), check.get("n_bad"), check.get("n_checked"))
    table, column = _text(check.get("table")), _text(check.get("column"))
    # a check that saw no rows (a column the source never had) is no 0 % pass
    unseen = check.get("n_checked") == 0
    return {
        "where": ".".join(p for p in (table, column) if p) or "–",
        "check": _text(check.get("check")) or "–",
        "n_bad": "–" if unseen else _count(check.get("n_bad")),
        "n_checked": "not checked: not in source" if unseen else _count(check.get("n_checked")),
        "bar": _bar(None if unseen else share),
        "source": _text(check.get("source")),
        "run_id": _text(check.get("run_id")),
    }


def _gate_view(gate: Mapping[str, Any]) -> dict[str, Any]:
    threshold, observed = _number(gate.get("threshold")), _number(gate.get("observed"))
    # Gates are mostly shares (0.05 = 5 %); counts above 1 are shown as counts.
    as_share = all(v is None or 0 <= v <= 1 for v in (threshold, observed))

    def show(value: Any) -> str:
        number = _number(value)
        if number is None:
            return _text(value) or "–"
        return _share_text(number) if as_share else _count(number)

    return {
        "name": _text(gate.get("name")) or "–",
        "threshold": show(gate.get("threshold")),
        "observed": show(gate.get("observed")),
        "badge": _badge(_one_gate_status(gate)),
        "detail": _text(gate.get("detail")),
    }


def _issue_view(issue: Mapping[str, Any]) -> dict[str, str]:
    value = issue.get("value")
    return {
        "run_id": _text(issue.get("run_id")),
        "table": _text(issue.get("table")),
        "source": _text(issue.get("source")),
        "row": _count(issue.get("row")) if issue.get("row") is not None else "",
        "column": _text(issue.get("column")),
        "value": _text(value),
        "value_missing": "yes" if value is None else "",
        "reason": _text(issue.get("reason")),
    }


def _view(report: Mapping[str, Any]) -> dict[str, Any]:
    summary = _mapping(report.get("summary"))
    tables = [
        _table_view(i, _text(name), _mapping(table))
        for i, (name, table) in enumerate(_mapping(report.get("tables")).items(), start=1)
    ]
    checks = [_check_view(_mapping(c)) for c in _items(report.get("checks"))]
    gates = [_gate_view(_mapping(g)) for g in _items(report.get("gates"))]
    issues = [_issue_view(_mapping(i)) for i in _items(report.get("issues"))]

    issues_total = report.get("issues_total", summary.get("issues_total"))
    issues_shown = report.get("issues_shown", len(issues))
    cards = []
    for key, label in (
        ("tables", "Tables"),
        ("rows", "Rows"),
        ("issues_total", "Issues"),
        ("gates_failed", "Gates failed"),
    ):
        value = summary.get(key)
        if key == "tables" and value is None and tables:
            value = len(tables)
        if key == "issues_total" and value is None:
            value = issues_total
        if value is not None:
            cards.append({"label": label, "value": _count(value)})

    meta = [
        {"label": label, "value": _text(report.get(key))}
        for key, label in (
            ("workspace", "Workspace"),
            ("generated_at", "Generated"),
            ("run_id", "Run"),
        )
        if report.get(key) not in (None, "")
    ]
    return {
        "title": _text(report.get("title")) or "Data quality report",
        "meta": meta,
        "badge": _badge(gate_status(report)),
        "cards": cards,
        "tables": tables,
        "checks": checks,
        "gates": gates,
        "issues": issues,
        "issues_shown": _count(issues_shown),
        "issues_total": _count(issues_total) if issues_total is not None else "",
        "issues_more": (
            _number(issues_total) is not None
            and _number(issues_shown) is not None
            and (_number(issues_total) or 0) > (_number(issues_shown) or 0)
        ),
        "notes": [_text(n) for n in _items(report.get("notes")) if _text(n)],
        "next_steps": [_text(s) for s in _items(report.get("next_steps")) if _text(s)],
    }


def render_quality_html(report: Mapping[str, Any] | None) -> str:
    """Render the data quality report as one self-contained HTML page (a string)."""
    view = _view(report if isinstance(report, Mapping) else {})
    return _env().get_template(_TEMPLATE).render(r=view)
