"""The report's value section: built from the run dict, robust to missing parts."""

from __future__ import annotations

import json

from segmint.report import render_report
from segmint.report._value import value_view


def value_part() -> dict:
    return {
        "unit": "weeks",
        "buyers": 3,
        "models": {
            "bgnbd": {"params": {"r": 0.2426, "alpha": 4.41}, "standard_errors": {"r": 0.0126}},
            "gamma_gamma": {
                "params": {"p": 1775623.26, "q": 0.523, "v": 3.16e-05},
                "standard_errors": {"p": None},
                "independence": {"correlation": 0.04, "ok": True},
            },
            "horizon_days": 365,
            "discount_rate": 0.1,
            "thresholds": {"Top 1%": 900.0, "Middle": 100.0},
        },
        "clv_histogram": {"edges": [0, 10, 20], "counts": [5, 2], "open_last": True},
        "p_alive_matrix": {
            "frequency": [0, 1],
            "recency": [0, 5],
            "T": 5,
            "p_alive": [[1, 1], [0.2, 0.9]],
        },
        "holdout": {
            "buckets": [{"frequency": "0", "customers": 3, "predicted": 0.2, "actual": 0.3}],
            "mae": 0.1,
            "total_error": -0.05,
            "duration": 12.857,
        },
    }


def test_value_view_formats_parameters_and_builds_three_charts():
    v = value_view(value_part())
    assert v is not None
    estimates = {p["name"]: (p["estimate"], p["se"]) for p in v["gamma_gamma"]}
    assert estimates == {"p": ("1,775,623", "–"), "q": ("0.523", "–"), "v": ("3.16e-05", "–")}
    assert v["clv_chart"] and v["p_alive_chart"] and v["holdout"]["chart"]
    assert "top 1 %" in v["clv_chart"].description
    assert v["holdout"]["duration"] == "12.9"
    data = json.loads(v["p_alive_chart"].json)
    assert data["data"][0]["zmax"] == 1


def test_value_view_without_holdout_or_data():
    part = value_part()
    part.pop("holdout")
    part["clv_histogram"] = {"edges": [], "counts": []}
    v = value_view(part)
    assert v is not None and v["holdout"] is None and v["clv_chart"] is None
    assert value_view({}) is None


def test_the_page_shows_the_value_section():
    run = {
        "title": "t",
        "segmentations": [{"name": "value", "method": "value", "value": value_part()}],
    }
    html = render_report(run)
    assert "Value model: lifetime value and churn" in html and "Calibration vs holdout" in html
    assert "Tiers start at CLV 900.00 (Top 1%)" in html


def test_the_page_names_the_purchase_model_that_was_fitted():
    part = value_part()
    part["models"]["bgnbd"]["model"] = "MBG/NBD"
    html = render_report(
        {"title": "t", "segmentations": [{"name": "v", "method": "value", "value": part}]}
    )
    assert "The MBG/NBD model estimates" in html and "<td>MBG/NBD</td>" in html
    assert "<td>BG/NBD</td>" not in html
    old = render_report(
        {"title": "t", "segmentations": [{"name": "v", "method": "value", "value": value_part()}]}
    )
    assert "<td>BG/NBD</td>" in old  # runs stored before the model was named
