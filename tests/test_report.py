"""The segmentation report: one self-contained page, escaped, robust; PCA checked against numpy."""

from __future__ import annotations

import copy
import doctest
import importlib
import json
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from segmint.exceptions import ModelError, SpecError
from segmint.features.catalog import label as feature_label
from segmint.report import _projection, pca_projection, render_report, write_report
from segmint.report._charts import safe_json

HOSTILE = "<script>alert(1)</script>"
FEATURES = ["recency_days", "frequency", "monetary_total", "avg_order_value", "discount_share"]
POP_MEANS = {
    "recency_days": 118.4,
    "frequency": 14.2,
    "monetary_total": 812.6,
    "avg_order_value": 57.2,
    "discount_share": 0.31,
}
POP_STDS = {
    "recency_days": 121.0,
    "frequency": 9.8,
    "monetary_total": 905.1,
    "avg_order_value": 38.9,
    "discount_share": 0.27,
}


def _segment(label: str, name: str, size: int, revenue: float, means: dict[str, float]) -> dict:
    lift = {f: round((means[f] - POP_MEANS[f]) / POP_STDS[f], 4) for f in FEATURES}
    return {
        "label": label,
        "name": name,
        "size": size,
        "share": round(size / 4000, 4),
        "revenue": revenue,
        "revenue_share": round(revenue / 3_250_400.0, 4),
        "avg_value": round(revenue / size, 2),
        "means": means,
        "medians": {f: round(v * 0.9, 2) for f, v in means.items()},
        "lift": lift,
        "over_represented": [],
        "rules": [],
        "examples": [],
    }


def _blobs(sizes: dict[str, int], seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frames, labels = [], []
    for i, (label, n) in enumerate(sizes.items()):
        centre = rng.normal(scale=4.0, size=len(FEATURES)) + i
        frames.append(rng.normal(loc=centre, scale=1.0 + 0.3 * i, size=(n, len(FEATURES))))
        labels += [label] * n
    X = pd.DataFrame(np.vstack(frames), columns=FEATURES)
    X.index = pd.Index([f"C{i:05d}" for i in range(len(X))], name="customer_id")
    return X, pd.Series(labels, index=X.index, name="segment")


def clustering() -> dict[str, Any]:
    """k-means on behaviour: five segments, a k curve and a projection."""
    segs = [
        _segment(
            "0",
            "Frequent high spenders",
            600,
            1_533_600.0,
            {
                "recency_days": 12.0,
                "frequency": 28.1,
                "monetary_total": 2556.0,
                "avg_order_value": 91.0,
                "discount_share": 0.04,
            },
        ),
        _segment(
            "1",
            "Bargain hunters",
            1237,
            893_245.0,
            {
                "recency_days": 35.5,
                "frequency": 19.4,
                "monetary_total": 723.9,
                "avg_order_value": 10.2,
                "discount_share": 0.85,
            },
        ),
        _segment(
            "2",
            "Young app shoppers",
            800,
            411_200.0,
            {
                "recency_days": 44.0,
                "frequency": 9.6,
                "monetary_total": 514.0,
                "avg_order_value": 53.5,
                "discount_share": 0.12,
            },
        ),
        _segment(
            "3",
            "Families in store",
            763,
            381_655.0,
            {
                "recency_days": 60.2,
                "frequency": 8.8,
                "monetary_total": 498.2,
                "avg_order_value": 56.6,
                "discount_share": 0.21,
            },
        ),
        _segment(
            "4",
            "Lapsed one-timers",
            600,
            30_700.0,
            {
                "recency_days": 402.0,
                "frequency": 1.7,
                "monetary_total": 51.2,
                "avg_order_value": 30.1,
                "discount_share": 0.15,
            },
        ),
    ]
    segs[0]["over_represented"] = [
        {
            "column": "channel_main",
            "value": "web",
            "share": 0.81,
            "population_share": 0.38,
            "lift": 2.13,
        },
        {
            "column": "income_band",
            "value": "80k+",
            "share": 0.55,
            "population_share": 0.17,
            "lift": 3.24,
        },
    ]
    segs[0]["rules"] = [
        {
            "rule": "frequency > 21.5 and discount_share <= 0.09",
            "precision": 0.912,
            "recall": 0.874,
            "support": 575,
        },
    ]
    segs[0]["examples"] = [
        {
            "customer_id": "C00017",
            "reasons": [
                "frequency 41 (2.7 sd above average)",
                "discount_share 0 (1.1 sd below average)",
            ],
        },
    ]
    segs[1]["rules"] = [
        {"rule": "discount_share > 0.6", "precision": 0.955, "recall": 0.931, "support": 1203},
    ]
    ranking = {
        "formula": "score = 1 + 9 × (0.3·size + 0.3·revenue + 0.2·value + 0.1·growth "
        "+ 0.1·reachability)",
        "weights": {"size": 0.3, "revenue": 0.3, "value": 0.2, "growth": 0.1, "reachability": 0.1},
        "segments": [
            {
                "label": lab,
                "score": score,
                "rank": rank,
                "components": {
                    "size": c[0],
                    "revenue": c[1],
                    "value": c[2],
                    "growth": c[3],
                    "reachability": c[4],
                },
            }
            for lab, score, rank, c in [
                ("0", 8.64, 1, (0.49, 1.0, 1.0, 0.62, 0.71)),
                ("1", 7.91, 2, (1.0, 0.58, 0.28, 0.55, 0.80)),
                ("2", 5.02, 3, (0.65, 0.27, 0.20, 0.90, 0.66)),
                ("3", 4.47, 4, (0.62, 0.25, 0.19, 0.41, 0.52)),
                ("4", 1.38, 5, (0.49, 0.02, 0.02, 0.05, 0.33)),
            ]
        ],
    }
    targeting = {
        "0": {
            "goal": "retain",
            "channel": "email",
            "offer": "early access to new ranges",
            "message": "You are one of our best customers",
            "reasons": ["high value", "bought recently"],
        },
        "1": {
            "goal": "grow",
            "channel": "app push",
            "offer": "bundle discount",
            "message": "More for less",
            "reasons": ["responds to discounts"],
        },
        "2": {
            "goal": "grow",
            "channel": "app push",
            "offer": "loyalty points",
            "message": "Made for you",
            "reasons": ["young, app-first"],
        },
        "3": {
            "goal": "nurture",
            "channel": "store",
            "offer": "family pack",
            "message": "For the whole family",
            "reasons": ["shop in store"],
        },
        "4": {
            "goal": "win back",
            "channel": "email",
            "offer": "15 % comeback voucher",
            "message": "We miss you",
            "reasons": ["no purchase for 400 days"],
        },
    }
    X, labels = _blobs({s["label"]: s["size"] for s in segs})
    projection = pca_projection(X, labels, max_points=500)
    k_curve = [
        {
            "k": k,
            "silhouette": sil,
            "calinski_harabasz": ch,
            "davies_bouldin": db,
            "bic": bic,
            "stability": st,
        }
        for k, sil, ch, db, bic, st in [
            (2, 0.312, 1650.2, 1.21, 51230.5, 0.97),
            (3, 0.355, 1811.9, 1.05, 49872.1, 0.93),
            (4, 0.401, 2034.7, 0.94, 48110.0, 0.91),
            (5, 0.463, 2310.4, 0.81, 46891.3, 0.95),
            (6, 0.421, 2150.0, 0.88, 46850.2, 0.78),
            (7, 0.398, 2011.3, 0.97, 46820.9, 0.71),
            (8, 0.377, 1902.6, 1.02, 46811.4, 0.69),
        ]
    ]
    key_variables = [
        {
            "feature": "discount_share",
            "f_stat": 3120.5,
            "mutual_info": 0.91,
            "importance": 0.34,
            "rank": 1,
            "flag": None,
        },
        {
            "feature": "recency_days",
            "f_stat": 2804.1,
            "mutual_info": 0.77,
            "importance": 0.29,
            "rank": 2,
            "flag": None,
        },
        {
            "feature": "frequency",
            "f_stat": 1590.9,
            "mutual_info": 0.62,
            "importance": 0.21,
            "rank": 3,
            "flag": None,
        },
        {
            "feature": "monetary_total",
            "f_stat": 1401.3,
            "mutual_info": 0.58,
            "importance": 0.11,
            "rank": 4,
            "flag": "redundant with frequency (r = 0.97)",
        },
        {
            "feature": "avg_order_value",
            "f_stat": 640.0,
            "mutual_info": 0.33,
            "importance": 0.05,
            "rank": 5,
            "flag": None,
        },
    ]
    return {
        "name": "Behaviour clusters",
        "method": "kmeans",
        "n_customers": 4000,
        "features": FEATURES,
        "warnings": ["Segment 'Lapsed one-timers' is unstable: bootstrap Jaccard 0.58 < 0.6."],
        "profiles": {
            "segmentation": "Behaviour clusters",
            "method": "kmeans",
            "population": {
                "customers": 4000,
                "revenue": 3_250_400.0,
                "means": POP_MEANS,
                "stds": POP_STDS,
            },
            "segments": segs,
            "key_variables": key_variables,
            "fidelity": 0.934,
        },
        "ranking": ranking,
        "targeting": targeting,
        "k_curve": k_curve,
        "chosen_k": 5,
        "k_rule": "largest silhouette; stability ≥ 0.8",
        "projection": projection,
        "rules": [],
    }


def rules() -> dict[str, Any]:
    """A rule-based lifecycle segmentation: no k curve, no projection, partial targeting."""
    segs = [
        _segment(
            "Active VIP",
            "Active VIP",
            412,
            1_201_000.0,
            {
                "recency_days": 9.0,
                "frequency": 31.0,
                "monetary_total": 2915.0,
                "avg_order_value": 94.0,
                "discount_share": 0.05,
            },
        ),
        _segment(
            "New",
            "New customers",
            655,
            98_250.0,
            {
                "recency_days": 20.0,
                "frequency": 1.4,
                "monetary_total": 150.0,
                "avg_order_value": 107.1,
                "discount_share": 0.3,
            },
        ),
        _segment(
            "Other",
            "Other",
            2933,
            1_951_150.0,
            {
                "recency_days": 150.0,
                "frequency": 13.3,
                "monetary_total": 665.2,
                "avg_order_value": 50.0,
                "discount_share": 0.35,
            },
        ),
    ]
    return {
        "name": "Lifecycle rules",
        "method": "rules",
        "n_customers": 4000,
        "features": ["recency_days", "frequency"],
        "warnings": [],
        "profiles": {
            "segmentation": "Lifecycle rules",
            "method": "rules",
            "population": {
                "customers": 4000,
                "revenue": 3_250_400.0,
                "means": POP_MEANS,
                "stds": POP_STDS,
            },
            "segments": segs,
            "key_variables": [],
            "fidelity": 1.0,
        },
        "ranking": {},
        "targeting": {
            "Active VIP": {
                "goal": "retain",
                "channel": "email",
                "offer": "VIP event",
                "message": "Thank you",
                "reasons": [],
            }
        },
        "k_curve": [],
        "chosen_k": None,
        "k_rule": None,
        "projection": None,
        "rules": [
            {"name": "Active VIP", "rule": "recency_days <= 30 and frequency > 20", "matched": 412},
            {"name": "New", "rule": "first_order_at in last 60 days", "matched": 655},
            {"name": "Other", "rule": "everything else", "matched": 2933},
        ],
    }


def example_data() -> dict[str, Any]:
    return {
        "title": "Segmentation report",
        "workspace": "shop.duckdb",
        "run_id": "0007-segment",
        "generated_at": "2026-11-22T14:00:00",
        "as_of": "2026-11-20T23:59:59",
        "quality": {
            "summary": {"tables": 3, "rows": 48213, "issues_total": 120, "gates_failed": 0},
            "gates": [
                {
                    "name": "max_invalid_dates",
                    "threshold": 0.05,
                    "observed": 0.003,
                    "passed": True,
                    "detail": "orders.ordered_at: 0.3% (12 of 4,001)",
                },
                {
                    "name": "max_invalid_emails",
                    "threshold": 0.1,
                    "observed": 0.021,
                    "passed": True,
                    "detail": "customers.email: 2.1% (84 of 4,000)",
                },
            ],
        },
        "segmentations": [clustering(), rules()],
    }


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return example_data()


@pytest.fixture(scope="module")
def page(data: dict[str, Any]) -> str:
    return render_report(data)


class _Page(HTMLParser):
    """Visible text, tag attributes and script bodies of a page, kept apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))
        self._style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None
        self._style = False

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        elif not self._style:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))


def parse(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    p.close()
    return p


def figures(html: str) -> dict[str, dict[str, Any]]:
    return {
        str(a["id"]): json.loads(body)
        for a, body in parse(html).scripts
        if a.get("type") == "application/json"
    }


# --- the page -------------------------------------------------------------------------------


def test_plotly_js_is_embedded_exactly_once(page: str) -> None:
    bundle = get_plotlyjs()
    marker = bundle[:200]  # licence header with the version: unique in the bundle
    assert bundle.count(marker) == 1
    assert page.count(marker) == 1
    assert len(page) > len(bundle)


def test_nothing_is_loaded_from_the_network(page: str) -> None:
    p = parse(page)
    for tag, attrs in p.tags:
        for key in ("src", "href", "data", "poster", "srcset", "action"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, key, value)
    assert not [t for t, _ in p.tags if t in ("link", "iframe", "img", "object", "embed")]
    styles = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert styles and not any(re.search(r"url\(|@import|@font-face", s) for s in styles)
    # every script is inline: the bundle, the chart JSON and the drawing script
    assert all("src" not in a for a, _ in p.scripts)
    assert page.count("<script") == page.count("</script>")


def test_every_segment_and_segmentation_is_named(page: str, data: dict[str, Any]) -> None:
    text = parse(page).visible
    for seg in data["segmentations"]:
        assert seg["name"] in text
        for s in seg["profiles"]["segments"]:
            assert s["name"] in text
    assert text.count("Frequent high spenders") >= 2  # overview table and card


def _overview_row(html: str, name: str) -> str:
    match = re.search(
        r"<tr>\s*<td class=\"num\">[^<]*</td>\s*<th scope=\"row\"><a [^>]*>"
        + re.escape(name)
        + r"</a></th>(.*?)</tr>",
        html,
        flags=re.S,
    )
    assert match, name
    return re.sub(r"<[^>]+>", " ", match.group(0))


def test_overview_is_ranked_and_numbers_are_formatted(page: str) -> None:
    row = _overview_row(page, "Bargain hunters")
    # rank 2; 1,237 customers = 30.9 %; 893,245 of 3,250,400 revenue = 27.5 %; 722.11 each
    for expected in ("2", "1,237", "30.9 %", "27.5 %", "722.11", "7.9", "grow", "app push"):
        assert expected in row, (expected, row)
    order = re.findall(r"<th scope=\"row\"><a href=\"#seg-1-s\d\">([^<]+)</a>", page)
    assert order == [
        "Frequent high spenders",
        "Bargain hunters",
        "Young app shoppers",
        "Families in store",
        "Lapsed one-timers",
    ]
    text = parse(page).visible
    assert "0.3092" not in text and "722.1099" not in text and "3250400" not in text
    assert "3,250,400" in text  # population revenue
    assert "91.2 %" in text and "87.4 %" in text  # rule precision and recall
    assert "48,213" in text  # quality rows
    # the first segment's strongest trait: monetary_total (2556 − 812.6) / 905.1 sd
    assert f"+{(2556.0 - 812.6) / 905.1:.2f} sd" in text
    assert "2,556 vs 812.6 on average" in text


def test_sections_per_segmentation(page: str) -> None:
    p = parse(page)
    ids = {a.get("id") for _, a in p.tags}
    text = p.visible
    # clustering: every part; rules: no k curve, no map, but a rules table
    for part in ("overview", "sizes", "lift", "map", "k", "keys", "cards"):
        assert f"seg-1-{part}" in ids, part
    for part in ("overview", "sizes", "lift", "rules", "cards"):
        assert f"seg-2-{part}" in ids, part
    assert not {"seg-2-map", "seg-2-k", "seg-2-keys", "seg-1-rules"} & ids
    assert "recency_days <= 30 and frequency > 20" in text
    assert "Chosen by the rule: k = 5" in text and "largest silhouette; stability ≥ 0.8" in text
    assert "score = 1 + 9 × (0.3·size" in text
    assert "size 30.0 %, revenue 30.0 %, value 20.0 %" in text
    assert "redundant with frequency (r = 0.97)" in text
    assert "early access to new ranges" in text and "no purchase for 400 days" in text
    assert "C00017" in text and "frequency 41 (2.7 sd above average)" in text
    assert "channel_main = web" in text and "×3.2" in text
    assert "No targeting plan." in text  # rules segments without a plan say so
    assert "Segments, largest first" in text  # no ranking: no rank or score columns
    # warnings sit in a visible callout; none for the rules segmentation
    callouts = re.findall(r'<div class="callout" role="note".*?</div>', page, flags=re.S)
    assert len(callouts) == 1 and "unstable: bootstrap Jaccard 0.58" in callouts[0]
    # quality summary at the top, before the first segmentation
    assert page.index('id="quality"') < page.index('id="seg-1"')
    assert "max_invalid_dates" in text and "0.3 %" in text and "Passed" in text


def test_charts_are_valid_plotly_json(page: str, data: dict[str, Any]) -> None:
    figs = figures(page)
    assert set(figs) == {
        "seg-1-sizes-chart-data",
        "seg-1-lift-chart-data",
        "seg-1-map-chart-data",
        "seg-1-k-chart-data",
        "seg-1-keys-chart-data",
        "seg-2-sizes-chart-data",
        "seg-2-lift-chart-data",
    }
    heat = figs["seg-1-lift-chart-data"]["data"][0]
    assert heat["type"] == "heatmap" and heat["zmid"] == 0 and heat["zmin"] == -heat["zmax"]
    # features in key-variable order, segments in rank order; hover carries mean and lift
    assert heat["y"][:3] == [
        feature_label(c) for c in ("discount_share", "recency_days", "frequency")
    ]
    seg0 = data["segmentations"][0]["profiles"]["segments"][0]
    assert heat["z"][0][0] == pytest.approx(seg0["lift"]["discount_share"])
    assert heat["customdata"][0][0] == ["0.04", "0.31", "−1.00 sd"]
    assert heat["text"][0][0] == "−1.0" and heat["text"][0][1] == "+2.0"
    scatter = figs["seg-1-map-chart-data"]["data"]
    proj = data["segmentations"][0]["projection"]
    assert sum(len(t["x"]) for t in scatter) == proj["n_shown"] == 500
    assert len({(t["marker"]["color"], t["marker"]["symbol"]) for t in scatter}) == 5
    k_traces = figs["seg-1-k-chart-data"]["data"]
    stars = [t for t in k_traces if t.get("marker", {}).get("symbol") == "star"]
    assert len(stars) == 5 and all(t["x"] == [5] for t in stars)  # one per metric, at k = 5
    # every chart div points at its JSON and is described by a visible caption
    p = parse(page)
    charts = [a for t, a in p.tags if t == "div" and "data-figure" in a]
    assert len(charts) == len(figs)
    captions = {a.get("id") for t, a in p.tags if t == "figcaption"}
    for a in charts:
        assert a["role"] == "img" and a["aria-labelledby"] in captions


def test_hostile_values_are_escaped(data: dict[str, Any]) -> None:
    evil = copy.deepcopy(data)
    seg = evil["segmentations"][0]
    seg["profiles"]["segments"][1]["name"] = HOSTILE
    seg["profiles"]["segments"][1]["lift"][HOSTILE] = 2.0
    seg["warnings"].append(HOSTILE)
    seg["targeting"]["1"]["offer"] = '"><img src=x onerror=alert(1)>'
    evil["title"] = HOSTILE
    html = render_report(evil)
    assert HOSTILE not in html
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE in parse(html).visible  # shown as text
    assert html.count("<script") == html.count("</script>")
    figs = figures(html)  # JSON still parses; Plotly gets the text HTML-escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in figs["seg-1-sizes-chart-data"]["data"][0]["y"]


def test_chart_json_cannot_close_its_script_tag() -> None:
    fig = go.Figure(go.Bar(x=[1], y=[2], name="</script>" + HOSTILE + " & co"))
    out = safe_json(fig)
    assert "<" not in out and ">" not in out and "&" not in out
    assert json.loads(out)["data"][0]["name"] == "</script>" + HOSTILE + " & co"


def test_write_report_round_trips_the_numbers(tmp_path: Path, data: dict[str, Any]) -> None:
    html_path, json_path = write_report(data, tmp_path / "out")
    assert (html_path.name, json_path.name) == ("report.html", "report.json")
    assert json.loads(json_path.read_text(encoding="utf-8")) == data
    assert html_path.read_text(encoding="utf-8") == render_report(data)


def test_numpy_values_and_nan_are_written_as_plain_json(tmp_path: Path) -> None:
    seg = rules()
    seg["profiles"]["segments"][0]["size"] = np.int64(412)
    seg["profiles"]["segments"][0]["avg_value"] = float("nan")
    _, json_path = write_report({"segmentations": [seg]}, tmp_path)
    back = json.loads(json_path.read_text(encoding="utf-8"))
    assert back["segmentations"][0]["profiles"]["segments"][0]["size"] == 412
    assert back["segmentations"][0]["profiles"]["segments"][0]["avg_value"] is None
    assert "NaN" not in json_path.read_text(encoding="utf-8")
    assert "nan" not in parse(render_report({"segmentations": [seg]})).visible.lower()


def _one_segment() -> dict[str, Any]:
    seg = rules()
    only = seg["profiles"]["segments"][2]
    only.update(size=4000, share=1.0, revenue_share=1.0, lift=dict.fromkeys(FEATURES, 0.0))
    seg["profiles"]["segments"] = [only]
    seg.update(rules=[], targeting={}, ranking={}, warnings=[])
    return seg


@pytest.mark.parametrize(
    "report",
    [
        {},
        {"segmentations": []},
        {"segmentations": [{}]},
        {"segmentations": [{"name": "bare", "profiles": {"segments": [{}]}}]},
        {"quality": {"summary": {}, "gates": []}, "segmentations": [_one_segment()]},
        {"segmentations": [{**clustering(), "projection": None, "k_curve": [], "ranking": None}]},
        {"segmentations": [{**clustering(), "profiles": None}]},
    ],
)
def test_renders_partial_reports(report: dict[str, Any]) -> None:
    html = render_report(report)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "Traceback" not in html and "None" not in parse(html).visible


def test_partial_report_says_what_is_missing() -> None:
    text = parse(render_report({"segmentations": [_one_segment()]})).visible
    assert "No data quality report was attached" in text
    assert "Close to the average on every feature." in text
    assert "Warnings" not in text
    assert "100.0 %" in text
    empty = render_report({"segmentations": []})
    assert "This run has no segmentations." in parse(empty).visible
    assert get_plotlyjs()[:200] not in empty  # no charts, no bundle


def test_bad_input_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="must be a dict"):
        render_report([1, 2])  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="'segmentations' must be a list"):
        render_report({"segmentations": {"name": "x"}})


def test_page_structure_is_accessible(page: str) -> None:
    p = parse(page)
    assert re.search(r'<html lang="en">', page)
    assert [t for t, _ in p.tags].count("h1") == 1
    assert all(a.get("scope") in ("col", "row") for t, a in p.tags if t == "th")
    nav = [a for t, a in p.tags if t == "nav"]
    assert nav and all(a.get("aria-label") for a in nav)
    assert 'href="#seg-1"' in page and 'href="#seg-2"' in page and 'href="#quality"' in page
    assert '<meta name="viewport"' in page


# --- pca_projection --------------------------------------------------------------------------


def _numpy_pca(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Independent PCA: standardize (population std), SVD, scores and variance shares."""
    values = X.to_numpy(dtype=float)
    Z = (values - values.mean(axis=0)) / values.std(axis=0)
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    return Z @ vt[:2].T, (s**2 / np.sum(s**2))[:2]


def test_pca_matches_numpy_svd_and_points_come_from_the_data() -> None:
    X, labels = _blobs({"a": 1500, "b": 900, "c": 600}, seed=3)
    X["segment_text"] = "ignored"  # non-numeric columns are left out
    proj = pca_projection(X, labels, max_points=400, random_state=1)
    scores, ratios = _numpy_pca(X[FEATURES])
    assert proj["explained_variance"] == pytest.approx(list(ratios), abs=1e-6)
    assert proj["n_total"] == 3000 and proj["n_shown"] == 400 == len(proj["x"])
    points = np.column_stack([proj["x"], proj["y"]])
    # PCA axes are defined up to sign: one sign pair must map every point onto a data row
    matched = None
    for signs in ([1, 1], [1, -1], [-1, 1], [-1, -1]):
        d = np.abs(points[:, None, :] - (scores * signs)[None, :, :]).max(axis=2)
        if np.all(d.min(axis=1) < 1e-8):
            matched = d.argmin(axis=1)
    assert matched is not None, "returned points are not projections of data rows"
    assert len(set(matched)) == 400  # sampled without replacement
    assert list(labels.iloc[matched]) == proj["label"]


def test_stratified_sample_keeps_every_segment() -> None:
    X, labels = _blobs({"big": 2900, "mid": 95, "tiny": 5}, seed=4)
    proj = pca_projection(X, labels, max_points=100)
    counts = pd.Series(proj["label"]).value_counts()
    assert proj["n_shown"] == 100
    assert set(counts.index) == {"big", "mid", "tiny"}
    assert counts["tiny"] >= 1 and abs(counts["mid"] - 95 * 100 / 3000) <= 1
    # small data: every point shown
    small = pca_projection(X.iloc[:50], labels.iloc[:50], max_points=5000)
    assert small["n_shown"] == small["n_total"] == 50


def test_pca_is_fitted_on_a_sample_of_large_data(monkeypatch: pytest.MonkeyPatch) -> None:
    X, labels = _blobs({"a": 2000, "b": 1000}, seed=5)
    monkeypatch.setattr(_projection, "FIT_ROWS", 800)
    proj = pca_projection(X, labels, max_points=300)
    _, ratios = _numpy_pca(X)
    assert proj["explained_variance"] == pytest.approx(list(ratios), abs=0.05)
    assert proj["explained_variance"] != pytest.approx(list(ratios), abs=1e-6)


def test_pca_edge_cases() -> None:
    X, labels = _blobs({"a": 30, "b": 20}, seed=6)
    one = pca_projection(X[["frequency"]], labels)
    assert one["explained_variance"] == [1.0, 0.0] and set(one["y"]) == {0.0}
    X_missing = X.copy()
    X_missing.iloc[0, 0] = np.nan
    X_missing["constant"] = 7.0
    X_missing["empty"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" from an all-missing column
        out = pca_projection(X_missing, labels)
    assert np.isfinite(out["x"]).all() and np.isfinite(out["y"]).all()


@pytest.mark.parametrize(
    ("X", "labels", "kwargs", "match"),
    [
        (pd.DataFrame({"a": ["x", "y"]}), pd.Series(["s", "t"]), {}, "numeric feature"),
        (pd.DataFrame({"a": [1.0]}), pd.Series(["s"]), {}, "at least 2 customers"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), pd.Series(["s", "t"]), {}, "1 of 3 have none"),
        (
            pd.DataFrame({"a": [1.0, 2.0, 3.0]}),
            pd.Series(["s", "t", "u"]),
            {"max_points": 2},
            "≥ the number of segments",
        ),
        (
            pd.DataFrame({"a": [1.0, 2.0]}),
            pd.Series(["s", "t"]),
            {"max_points": 2.5},
            "must be an int",
        ),
    ],
)
def test_pca_bad_input(X: pd.DataFrame, labels: pd.Series, kwargs: dict, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        pca_projection(X, labels, **kwargs)


@pytest.mark.parametrize("module", ["_format", "_projection", "_render", "__init__"])
def test_docstring_examples_run(
    module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = "segmint.report" if module == "__init__" else f"segmint.report.{module}"
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_the_k_chart_stars_the_rules_k_and_shows_the_merge_as_its_own_step() -> None:
    seg = clustering()  # five segments after the guard
    seg["chosen_k"] = 6  # the curve runs from k = 2 to 8
    seg["guard"] = [
        {
            "segment": "6",
            "share": 0.017,
            "stability": 0.9,
            "reasons": ["had 1.7 % of customers (below the 2 % minimum)"],
            "action": "merged",
            "final_segment": "4",
        }
    ]
    html = render_report({"segmentations": [seg]})
    text = " ".join(parse(html).visible.split())
    assert "1. Chosen by the rule: k = 6" in text
    assert (
        "2. Minimum segment size and stability guard: k = 6 chosen; 1 small segment merged "
        "→ 5 segments" in text
    )
    assert (
        "Segment 6 had 1.7 % of customers (below the 2 % minimum): merged into segment 4." in text
    )
    chart = figures(html)["seg-1-k-chart-data"]
    stars = [t for t in chart["data"] if t.get("marker", {}).get("symbol") == "star"]
    assert stars and all(t["x"] == [6] for t in stars)  # the rule's k, not the 5 left after it
    assert "1 small segment merged → 5 segments" in chart["layout"]["title"]["text"]
    # without a merge there is no second step and no title
    plain = render_report({"segmentations": [clustering()]})
    assert "2. Minimum segment size" not in plain
    assert "title" not in figures(plain)["seg-1-k-chart-data"]["layout"]


def test_the_component_table_shows_every_component_and_marks_the_left_out_ones() -> None:
    seg = clustering()
    seg["ranking"]["dropped"] = {
        "growth": "no segment had revenue in the 90 days before the last 90",
        "potential": "the features have no clv column (add a value segmentation)",
    }
    del seg["ranking"]["weights"]["growth"]
    html = render_report({"segmentations": [seg]})
    p = parse(html)
    text = " ".join(p.visible.split())
    head = re.search(r"<details>\s*<summary>Score components.*?</thead>", html, flags=re.S)
    assert head is not None
    headers = [" ".join(h.split()) for h in re.findall(r"<th[^>]*>(.*?)</th>", head.group(0))]
    cells = [re.sub(r"<[^>]+>", "", h) for h in headers[3:]]
    assert cells == [
        "Size",
        "Revenue",
        "Value",
        "Growth (left out)",
        "Reachability",
        "Potential (left out)",
    ]
    assert (
        "<strong>growth</strong>: no segment had revenue in the 90 days before the last 90." in html
    )
    assert "<strong>potential</strong>: the features have no clv column" in html
    assert "Left out of the score (the other weights are renormalized)" in text
    # components are shown with two decimals; one not computed is a dash
    row = re.search(r"<tr><td class=\"num\">1</td>.*?</tr>", html, flags=re.S)
    assert row is not None
    values = re.findall(r"<td class=\"num[^\"]*\">([^<]*)</td>", row.group(0))
    assert values[2:] == ["0.49", "1.00", "1.00", "0.62", "0.71", "–"]
