"""Typed results: the run builds a RunResult, the workspace stores each SegmentationResult as
JSON with the keys the report always had, and the report, web and API read them back — every
ranking component included (``potential`` was dropped from the report's table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import segmint
from segmint._run import RunOutput, run_pipeline
from segmint.api import services
from segmint.spec.model import SegmentationSpec, Spec
from segmint.store.results import RunResult, SegmentationResult
from tests.conftest import shared_file

#: the keys report.json has had for every segmentation (stored rows and consumers rely on them)
KEYS = {
    "name",
    "method",
    "n_customers",
    "features",
    "warnings",
    "profiles",
    "ranking",
    "targeting",
    "k_curve",
    "chosen_k",
    "k_rule",
    "projection",
    "rules",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[segmint.Workspace, RunOutput, Path]:
    """CDNOW (23,570 customers): RFM, value tiers, k-means with k = 3."""
    d = tmp_path_factory.mktemp("cdnow-run")
    ws = segmint.Workspace(d / "w.duckdb")
    spec = Spec(
        sources=[{"path": str(shared_file("cdnow", "CDNOW_master.txt"))}],
        features={"as_of": "1998-07-01"},
        segmentations=[
            SegmentationSpec(name="rfm", method="rfm"),
            SegmentationSpec(name="value", method="value"),
            SegmentationSpec(name="clusters", method="kmeans", k=3, params={"stability_runs": 0}),
        ],
    )
    return ws, run_pipeline(ws, spec, out_dir=d / "out"), d / "out"


@pytest.mark.slow
def test_report_json_is_the_typed_result_and_loads_back(run):
    _ws, out, folder = run
    assert isinstance(out.report, RunResult)
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    again = RunResult.from_json(data)
    assert again == out.report
    assert again.to_json() == data
    for seg in data["segmentations"]:
        assert set(seg) >= KEYS, KEYS - set(seg)
    assert "value" in data["segmentations"][1] and data["segmentations"][1]["value"]["models"]
    assert data["segmentations"][2]["model"]["centers"]  # the fitted parameters are kept
    # a row stored before the typed layer (no "model"; "value" only on value segmentations)
    old = {k: v for k, v in data["segmentations"][0].items() if k not in ("model", "value")}
    loaded = SegmentationResult.from_json(json.dumps(old))
    assert loaded.labels()[0] == old["profiles"]["segments"][0]["label"]
    assert {k: v for k, v in loaded.to_json().items() if k in old} == old


@pytest.mark.slow
def test_stored_rows_are_the_same_results_and_the_services_read_them_typed(run):
    ws, out, _ = run
    for seg in out.report.segmentations:
        stored = services.get_segmentation(ws, out.run_id, seg.name)
        assert isinstance(stored, SegmentationResult)
        assert stored == seg
    runs = services.list_segment_runs(ws)
    assert runs[0]["segmentations"][0] == {
        "name": "rfm",
        "method": "rfm",
        "customers": 23570,
        "segments": len(out.report.segmentations[0].profiles.segments),
    }


@pytest.mark.slow
def test_the_ranking_keeps_every_component_and_the_report_shows_potential(run):
    _ws, out, folder = run
    clusters = out.report.segmentations[2]
    for ranked in clusters.ranking.segments:
        assert set(ranked.components) == {
            "size",
            "revenue",
            "value",
            "growth",
            "reachability",
            "potential",
        }
    assert "potential" in clusters.ranking.components()
    html = (folder / "report.html").read_text(encoding="utf-8")
    table = html[html.index("Score components per segment") :]
    header = table[: table.index("</thead>")]
    assert ">Potential</th>" in header
    # CDNOW has no contact data: reachability is shown, marked as left out of the score
    assert "Reachability <span" in header and "(left out)" in header
    assert "reachability" in clusters.ranking.dropped
    for component in clusters.ranking.dropped:
        assert f'>{component.capitalize()} <span class="small">(left out)</span></th>' in header


@pytest.mark.slow
def test_editing_through_the_typed_result_keeps_what_it_does_not_know(run):
    ws, out, _ = run
    label = out.report.segmentations[2].profiles.segments[0].label
    ws.store.db.execute(  # a key a newer segmint might add
        'UPDATE segmentations SET result = json_merge_patch(result, \'{"drift": {"psi": 0.1}}\') '
        "WHERE run_id = ? AND name = 'clusters'",
        [out.run_id],
    )
    state: Any = type("S", (), {"models": {}, "write_lock": _NoLock()})()
    services.rename_segment(state, ws, out.run_id, "clusters", label, "Big spenders")
    services.update_targeting(state, ws, out.run_id, "clusters", label, {"channel": "sms"})
    stored = services.get_segmentation(ws, out.run_id, "clusters")
    assert stored.profiles.segment(label).name == "Big spenders"  # type: ignore[union-attr]
    assert next(r for r in stored.ranking.segments if r.label == label).name == "Big spenders"
    assert stored.targeting[label].channel == "sms" and stored.targeting[label].edited
    assert stored.to_json()["drift"] == {"psi": 0.1}


def test_the_typed_layer_keeps_full_precision():
    seg = SegmentationResult.from_json(
        {
            "name": "value",
            "method": "value",
            "profiles": {
                "population": {"customers": 3, "revenue": 929929.64},
                "segments": [
                    {"label": "Top", "name": "Top", "size": 1, "share": 1 / 3, "avg_value": 2053.32}
                ],
            },
        }
    )
    back = json.loads(seg.dumps())
    assert back["profiles"]["population"]["revenue"] == 929929.64
    assert back["profiles"]["segments"][0]["avg_value"] == 2053.32
    assert back["profiles"]["segments"][0]["share"] == 1 / 3
    assert back["value"] is None and back["k_curve"] == []


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_a: object) -> None:
        return None
