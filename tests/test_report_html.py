"""The data quality report as one self-contained, escaped, accessible HTML page."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from segmint.clean.report_html import gate_status, render_quality_html

HOSTILE = "<script>alert(1)</script>"


def example_report() -> dict[str, Any]:
    """A realistic report as `segmint clean` writes it (Online Retail-like shop export)."""
    return {
        "title": "Data quality report",
        "workspace": "shop.duckdb",
        "generated_at": "2026-11-22T14:00:00",
        "run_id": "0005-clean",
        "summary": {"tables": 3, "rows": 12345, "issues_total": 120, "gates_failed": 0},
        "tables": {
            "orders": {
                "rows": 1000,
                "rows_before": 1010,
                "duplicates_removed": 10,
                "marked": {"cancelled": 12, "refunded": 3, "returned": 7, "guest_lines": 40},
                "columns": {
                    "order_id": {
                        "type": "VARCHAR",
                        "missing": 0,
                        "missing_share": 0.0,
                        "distinct": 300,
                    },
                    "customer_id": {
                        "type": "VARCHAR",
                        "missing": 40,
                        "missing_share": 0.04,
                        "distinct": 212,
                    },
                    "ordered_at": {
                        "type": "TIMESTAMP",
                        "missing": 3,
                        "missing_share": 0.003,
                        "distinct": 287,
                    },
                    "amount": {"type": "DOUBLE", "missing": 0, "missing_share": 0.0},
                    "coupon": {
                        "type": "VARCHAR",
                        "missing": 874,
                        "missing_share": 0.874,
                        "distinct": 9,
                        "canonical": False,
                    },
                },
                "outliers": {
                    "amount": {
                        "count": 5,
                        "low": -20.0,
                        "high": 900.5,
                        "method": "beyond 3 IQR from the quartiles",
                    }
                },
            },
            "customers": {
                "rows": 212,
                "rows_before": 215,
                "duplicates_removed": 1,
                "duplicate_ids_removed": 2,
                "added_from_orders": 4,
                "columns": {
                    "customer_id": {"type": "VARCHAR", "missing": 0, "distinct": 212},
                    "email": {"type": "VARCHAR", "missing": 21, "distinct": 190},
                    "country": {"type": "VARCHAR", "missing": 2, "distinct": 14},
                },
            },
            "products": {"rows": 11133, "columns": {}},
        },
        "checks": [
            {
                "table": "orders",
                "column": "ordered_at",
                "check": "date",
                "n_bad": 3,
                "n_checked": 1000,
                "share": 0.003,
                "source": "orders.csv",
                "run_id": "0001-ingest",
            },
            {
                "table": "customers",
                "column": "email",
                "check": "email",
                "n_bad": 17,
                "n_checked": 194,
                "share": 17 / 194,
                "source": "customers.xlsx",
                "run_id": "0005-clean",
            },
            {
                "table": "customers",
                "column": "phone",
                "check": "phone",
                "n_bad": 100,
                "n_checked": 180,
                "source": "customers.xlsx",
                "run_id": "0005-clean",
            },
        ],
        "gates": [
            {
                "name": "max_invalid_dates",
                "threshold": 0.05,
                "observed": 0.003,
                "passed": True,
                "detail": "orders.ordered_at: 0.3 % invalid",
            },
            {
                "name": "max_invalid_emails",
                "threshold": 0.2,
                "observed": 17 / 194,
                "passed": True,
                "detail": "customers.email: 8.8 % invalid (17 of 194)",
            },
        ],
        "issues": [
            {
                "run_id": "0001-ingest",
                "table": "orders",
                "source": "orders.csv",
                "row": 17,
                "column": "ordered_at",
                "value": "31/02/2011",
                "reason": "not a date (expected %d/%m/%Y)",
            },
            {
                "run_id": "0005-clean",
                "table": "customers",
                "source": "customers.xlsx",
                "row": 1204,
                "column": "email",
                "value": "anna.schmidt@web",
                "reason": "no dot in the domain",
            },
            {
                "run_id": "0005-clean",
                "table": "customers",
                "source": "customers.xlsx",
                "row": 88,
                "column": "phone",
                "value": None,
                "reason": "national number but no country given",
            },
        ],
        "issues_shown": 3,
        "issues_total": 120,
        "notes": ["orders.ordered_at: dates such as 01/02 are ambiguous; read as month/day."],
        "next_steps": ["segmint features", "segmint status"],
    }


class _Collector(HTMLParser):
    """Collects tags, attributes and text, and checks that tags are balanced."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "source", "wbr", "col"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    assert collector.stack == [], collector.stack
    return collector


def visible_text(html: str) -> str:
    return " ".join(" ".join(parse(html).text).split())


def test_renders_example_with_sections_and_numbers() -> None:
    html = render_quality_html(example_report())
    assert html.startswith("<!DOCTYPE html>")
    text = visible_text(html)
    for expected in (
        "Data quality report",
        "shop.duckdb",
        "2026-11-22T14:00:00",
        "0005-clean",
        "12,345",  # summary rows
        "120",  # issues total
        "Quality gates",
        "max_invalid_dates",
        "Passed",
        "Invalid values per check",
        "orders.ordered_at",
        "0.3 %",
        "8.8 %",
        "55.6 %",  # share computed from n_bad / n_checked when missing
        "Missing values per column",
        "order_id",
        "87.4 %",
        "(extra)",
        "Rows before cleaning 1,010",
        "Duplicates removed 10",
        "Duplicate ids removed 2",
        "Added from orders 4",
        "Guest lines 40",
        "Cancelled 12",
        "Outliers",
        "-20",
        "900.50",
        "beyond 3 IQR from the quartiles",
        "31/02/2011",
        "not a date (expected %d/%m/%Y)",
        "Showing 3 of 120 issues",
        "(empty)",
        "dates such as 01/02 are ambiguous",
        "segmint features",
        "segmint status",
    ):
        assert expected in text, expected
    for heading in ("Quality gates", "Invalid values per check", "Tables", "Issues", "Notes"):
        assert re.search(rf"<h2[^>]*>{heading}</h2>", html), heading


def test_structure_is_semantic_and_accessible() -> None:
    html = render_quality_html(example_report())
    doc = parse(html)
    tags = [t for t, _ in doc.tags]
    assert tags.count("h1") == 1
    assert tags[0] == "html" and dict(doc.tags[0][1]).get("lang") == "en"
    assert any(t == "meta" and a.get("name") == "viewport" for t, a in doc.tags)
    assert "th" in tags and "thead" in tags
    assert all(a.get("scope") in ("col", "row") for t, a in doc.tags if t == "th")
    # ids are unique, and every in-page link points at one of them
    ids = [a["id"] for _, a in doc.tags if a.get("id")]
    assert len(ids) == len(set(ids))
    for t, a in doc.tags:
        if t == "a":
            href = a.get("href") or ""
            assert href.startswith("#") and href[1:] in ids, href


def test_bars_show_shares_with_text_beside_them() -> None:
    html = render_quality_html(example_report())
    widths = [float(w) for w in re.findall(r'style="width: ([0-9.]+)%"', html)]
    # 5 + 3 columns, 3 checks: one bar each
    assert len(widths) == 11
    assert all(0 <= w <= 100 for w in widths)
    assert 87.4 in widths
    assert 1.0 in widths  # 0.3 % stays visible as a sliver
    assert 0.0 in widths
    # bars are decoration; the share is in the text next to them
    assert 'class="bar" aria-hidden="true"' in html


@pytest.mark.parametrize(
    ("passed", "status", "word"),
    [(True, "passed", "Passed"), (False, "failed", "Failed")],
)
def test_gate_badge_has_colour_and_word(passed: bool, status: str, word: str) -> None:
    report = example_report()
    report["gates"][0]["passed"] = passed
    report["summary"]["gates_failed"] = 0 if passed else 1
    assert gate_status(report) == status
    html = render_quality_html(report)
    assert f'class="badge badge-{status}"' in html
    header = re.search(r"<header>.*</header>", html, re.S)
    assert header is not None and f"badge-{status}" in header.group(0)
    assert word in visible_text(html)


def test_gate_warning_and_none() -> None:
    report = example_report()
    report["gates"][1] = {"name": "max_missing", "status": "warning", "observed": 0.4}
    assert gate_status(report) == "warning"
    assert "Warning" in visible_text(render_quality_html(report))
    assert gate_status({}) == "none"
    assert gate_status({"summary": {"gates_failed": 2}}) == "failed"


def test_hostile_values_are_escaped() -> None:
    report = example_report()
    report["title"] = HOSTILE
    report["workspace"] = f'"><img src=x onerror=alert(1)>{HOSTILE}'
    report["issues"][0]["value"] = HOSTILE
    report["issues"][0]["reason"] = HOSTILE
    report["issues"][0]["source"] = "a&b<c>.csv"
    report["checks"][0]["column"] = HOSTILE
    report["gates"][0]["detail"] = HOSTILE
    report["notes"] = [HOSTILE]
    report["next_steps"] = [HOSTILE]
    orders = report["tables"]["orders"]
    orders["columns"][HOSTILE] = {"type": HOSTILE, "missing": 1, "missing_share": 0.001}
    orders["outliers"][HOSTILE] = {"count": 1, "method": HOSTILE}
    orders["marked"][HOSTILE] = 1
    report["tables"][HOSTILE] = {"rows": 1, HOSTILE: HOSTILE}
    html = render_quality_html(report)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b&lt;c&gt;.csv" in html
    doc = parse(html)
    assert HOSTILE in " ".join(doc.text)
    assert all(t not in ("script", "img", "iframe", "object") for t, _ in doc.tags)
    assert all(not k.startswith("on") for _, a in doc.tags for k in a)


def test_no_external_resources() -> None:
    report = example_report()
    report["issues"][0]["value"] = "https://evil.example/x.js"
    html = render_quality_html(report)
    doc = parse(html)
    for tag, attrs in doc.tags:
        for name in ("src", "href", "action", "srcset", "data"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith("#"), (tag, name, value)
        assert tag not in ("script", "link", "img", "iframe")
    # no resource references in markup or CSS (the hostile value above is only text)
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "@font-face" not in html


@pytest.mark.parametrize(
    "report",
    [
        {},
        None,
        {"title": "", "summary": {}, "tables": {}, "checks": [], "gates": [], "issues": []},
        {"tables": {"orders": {}}, "checks": [{}], "gates": [{}], "issues": [{}]},
        {"tables": {"orders": None}, "checks": None, "gates": "oops", "notes": [None, ""]},
        {
            "summary": {"rows": None, "issues_total": "many"},
            "tables": {
                "orders": {
                    "rows": 0,
                    "columns": {"x": {"missing": 5}, "y": {"missing_share": float("nan")}},
                    "outliers": {"amount": {"low": None, "high": float("inf")}},
                }
            },
            "checks": [{"n_bad": 5, "n_checked": 0}, {"share": 1.7}, {"share": -1}],
            "issues_total": 5,
        },
    ],
)
def test_renders_empty_and_partial_reports(report: Any) -> None:
    html = render_quality_html(report)
    doc = parse(html)
    text = " ".join(" ".join(doc.text).split())
    assert "Data quality report" in text
    assert "No gates" in text or "Warning" in text
    for w in re.findall(r'style="width: ([0-9.]+)%"', html):
        assert 0 <= float(w) <= 100


def test_empty_report_says_what_is_missing() -> None:
    text = visible_text(render_quality_html({}))
    assert "No quality gates were evaluated." in text
    assert "No checks were recorded." in text
    assert "No tables in this report." in text
    assert "No issues were recorded." in text


def test_issues_total_without_list() -> None:
    report = example_report()
    report["issues"] = []
    text = visible_text(render_quality_html(report))
    assert "120 issues were recorded; none are listed here." in text


def test_input_is_not_modified() -> None:
    report = example_report()
    before = copy.deepcopy(report)
    render_quality_html(report)
    assert report == before


def test_template_is_package_data() -> None:
    from importlib import resources

    template = resources.files("segmint.clean").joinpath("templates/quality.html.j2")
    assert template.is_file()
