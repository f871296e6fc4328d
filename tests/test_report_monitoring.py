"""The run report's monitoring section from hand-made comparisons: numbers compared with a
threshold are never rounded across it, the drift table shows ten rows and counts the rest
(drifted ones too), data text is escaped, and an older report.json (no sizes history) still
renders. The section on real runs is tested in test_monitor_compare.py and
test_monitor_planted.py; in Chromium in test_browser_report.py."""

from __future__ import annotations

import doctest
from typing import Any

import segmint.monitor.numbers as numbers
from segmint.monitor.numbers import beside, percent_beside
from segmint.report import render_report

HOSTILE = "<img src=x onerror=alert(1)>"


def _feature(name: str, method: str, statistic: float, p: float | None, drifted: bool) -> dict:
    threshold = 0.05 if p is not None else 0.1
    return {"feature": name, "kind": "numeric", "method": method, "statistic": statistic,
            "threshold": threshold, "p_value": p, "drifted": drifted, "psi": 0.01}  # fmt: skip


def _monitoring(features: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    seg = {
        "name": "rfm",
        "migration": {"A": {"A": 90, "B": 10}, "B": {"B": 50}},
        "sizes": {"baseline": {"A": 100, "B": 50}, "current": {"A": 95, "B": 60}},
        "names": {
            "baseline": {"A": HOSTILE, "B": "Loyal"},
            "current": {"A": HOSTILE, "B": "Loyal"},
        },
        "customers_in_both": 150,
        "stayed": 140,
        "stayed_share": 140 / 150,
        "centroid_shift": {"A": 0.1, "B": None},
        "new": [],
        "retired": [],
        **extra,
    }
    return {
        "baseline": "0002-segment",
        "current": "0004-segment",
        "crossed": True,
        "alerts": [
            {"kind": "feature_drift", "subject": f["feature"], "message": "m"}
            for f in features
            if f["drifted"]
        ],
        "features": features,
        "segmentations": [seg],
        "thresholds": {"max_size_change": 0.2, "max_moved_share": 0.1, "min_segment_size": 30},
        "notes": [],
    }


def _section(monitoring: dict[str, Any]) -> str:
    html = render_report({"title": "t", "segmentations": [], "monitoring": monitoring})
    return html.split('<section id="monitoring"', 1)[1].split("</section>", 1)[0]


def test_p_values_and_distances_stay_on_their_side_of_the_threshold():
    features = [
        _feature("just_drifted", "ks", 0.2, 0.04996, True),
        _feature("just_not", "ks", 0.1, 0.05004, False),
        _feature("distance_under", "wasserstein", 0.09996, None, False),
    ]
    section = _section(_monitoring(features))
    assert '<td class="num">0.04996</td>' in section and '<td class="num">0.05004</td>' in section
    assert '<td class="num">0.09996</td>' in section
    assert ">0.05<" not in section.split("<tbody>", 3)[-1]  # no p-value printed as the alpha
    assert "p-value 0.04996 (drift at p-value ≤ 0.05)" in section  # the alert says it too


def test_ten_rows_and_the_rest_counted_with_their_drift():
    features = [_feature(f"f{i:02d}", "wasserstein", 0.5 - i / 100, None, True) for i in range(12)]
    features += [_feature(f"g{i}", "wasserstein", 0.01, None, False) for i in range(3)]
    section = _section(_monitoring(features[::-1]))  # the table sorts: worst first
    drift = section.split('<table class="drift">', 1)[1].split("</table>", 1)[0]
    assert drift.count("<tr>") == 11  # header + ten
    assert "Feature drift: 12 of 15 features drifted" in section
    assert "5 more features tested, 2 of them drifted" in section
    shown = [f"f{i:02d}" for i in range(10)]
    assert [drift.index(f'"column {f}"') for f in shown] == sorted(
        drift.index(f'"column {f}"') for f in shown
    )
    assert '"column f10"' not in drift and '"column g0"' not in drift


def test_data_text_is_escaped_and_old_reports_render():
    section = _section(_monitoring([]))  # no history: the report.json of an older segmint
    assert HOSTILE not in section and "&lt;img src=x" in section
    assert section.count('class="chart"') == 1  # the heat map; no sizes chart without history
    assert "140 of the 150 customers present in both runs (93.3 % of them)" in section
    history = {"0002-segment": {"A": 100, "B": 50}, "0004-segment": {"A": 95, "B": 60}}
    assert _section(_monitoring([], history=history)).count('class="chart"') == 2


def test_no_section_without_a_comparison():
    html = render_report({"title": "t", "segmentations": [], "monitoring": None})
    assert 'id="monitoring"' not in html


def test_numbers_doctests_and_edges():
    assert doctest.testmod(numbers).failed == 0
    assert beside(0.05, 0.05) == "0.05" and beside(None, 0.05) == "–"
    assert beside(0.1 + 1e-12, 0.1) == "0.100000000001"
    assert percent_beside(0.2, 0.2) == "20%" and percent_beside(0.1999, 0.2) == "19.99%"
