"""Warnings when the order history is shorter than a method's labels assume, or the as-of date
lies far past the data: the rules, then real data (Online Retail's 55 days; CDNOW with an as-of
date 11 months after its last order) through the whole run, report included."""

from __future__ import annotations

import pytest

import segmint
from segmint._run import run_pipeline
from segmint.segment.history import (
    RFM_MIN_DAYS,
    HistorySpan,
    as_of_gap_limit,
    history_span,
    history_warnings,
)
from segmint.spec.model import SegmentationSpec, Spec
from tests.conftest import shared_file


def test_short_history_warns_for_rfm_and_for_a_longer_clv_horizon():
    short = HistorySpan(days=55, gap=0)
    (rfm,) = history_warnings(short, "rfm")
    assert "only 55 days" in rfm and "'Lost'" in rfm
    (value,) = history_warnings(short, "value", horizon_days=365)
    assert "365 days ahead from 55 days" in value
    assert history_warnings(short, "value", horizon_days=30) == []
    assert history_warnings(short, "kmeans", features=["recency_days"]) == []
    long = HistorySpan(days=RFM_MIN_DAYS + 1, gap=0)
    assert history_warnings(long, "rfm") == []
    assert history_warnings(None, "rfm") == []


def test_a_far_as_of_date_warns_where_recency_matters():
    far = HistorySpan(days=545, gap=335)
    assert as_of_gap_limit(545) < 335
    for method, features in [("rfm", []), ("value", []), ("kmeans", ["recency_days"])]:
        (w,) = history_warnings(far, method, features=features, horizon_days=365)
        assert "335 days after the last order" in w
    assert history_warnings(far, "rules", features=["age"]) == []
    near = HistorySpan(days=545, gap=20)
    assert history_warnings(near, "rfm") == []


def run(ws: segmint.Workspace, out, segmentations, as_of=None):
    spec = Spec(segmentations=[SegmentationSpec(name=m, method=m) for m in segmentations])
    if as_of:
        spec = spec.model_copy(
            update={"features": spec.features.model_copy(update={"as_of": as_of})}
        )
    return run_pipeline(ws, spec, out_dir=out)


def warnings_of(output, name: str) -> list[str]:
    (seg,) = [s for s in output.report.segmentations if s.name == name]
    return seg.warnings


@pytest.mark.slow
def test_online_retail_head_is_55_days_and_the_run_says_so(tmp_path):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(shared_file("uci_online_retail_head", "Online Retail.xlsx"))
    out = run(ws, tmp_path / "out", ["rfm", "value"])
    features = ws.table("customer_features").to_pandas()
    span = history_span(features)
    assert span is not None and 54 <= span.days <= 56 and span.gap == 0
    assert any("only 55 days" in w for w in warnings_of(out, "rfm"))
    assert any("365 days ahead from 55 days" in w for w in warnings_of(out, "value"))
    html = out.files["html"].read_text(encoding="utf-8")
    assert "365 days ahead from 55 days" in html


@pytest.mark.slow
def test_cdnow_with_an_as_of_date_eleven_months_after_the_data(tmp_path):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
    out = run(ws, tmp_path / "out", ["rfm"], as_of="1999-05-31")
    (w,) = warnings_of(out, "rfm")
    assert "335 days after the last order" in w  # 1998-06-30 → 1999-05-31
    assert "335 days after the last order" in out.files["html"].read_text(encoding="utf-8")
    # the same data at its own end: no warning
    again = run(ws, tmp_path / "again", ["rfm"])
    assert warnings_of(again, "rfm") == []
