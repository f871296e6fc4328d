"""``Workspace.export`` and ``Workspace.exports``: the Python face of ``segmint export``."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd
import pytest

import segmint
from segmint.exceptions import ExportError
from tests.activate_support import make_workspace


@pytest.fixture
def ws(tmp_path: Path) -> segmint.Workspace:
    n = 12
    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "email": [f"c{i}@example.com" for i in range(n)],
            "consent_email": [i % 4 != 0 for i in range(n)],  # 9 of 12
        }
    )
    segments = {f"C{i}": "hi" if i < 8 else "lo" for i in range(n)}
    make_workspace(tmp_path / "w.duckdb", customers, segments, names={"hi": "High", "lo": "Low"})
    return segmint.Workspace(tmp_path / "w.duckdb")


def test_export_one_or_several_segments_and_read_the_log(ws: segmint.Workspace, tmp_path: Path):
    assert ws.exports() == []
    one = ws.export("seg", "High", to="mailchimp", out=tmp_path / "high.csv")
    both = ws.export("seg", ["hi", "lo"], to="mailchimp", out=tmp_path / "both.csv")
    with (tmp_path / "both.csv").open(newline="") as f:
        tags = [row["Tags"] for row in csv.DictReader(f)]
    assert (one.rows_written, one.left_out["no consent"]) == (6, 2)
    assert both.rows_written == 9 == len(tags) and sorted(set(tags)) == ["High", "Low"]
    assert both.sha256 == hashlib.sha256((tmp_path / "both.csv").read_bytes()).hexdigest()
    assert [r.export_id for r in ws.exports()] == [both.export_id, one.export_id]
    ws.close()


def test_errors_are_export_errors(ws: segmint.Workspace, tmp_path: Path):
    with pytest.raises(ExportError, match="no segment 'Mid'"):
        ws.export("seg", "Mid", to="csv", out=tmp_path / "x.csv")
    with pytest.raises(ExportError, match="no export destination"):
        ws.export("seg", "High", to="fax", out=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists() and ws.exports() == []
    empty = segmint.Workspace(tmp_path / "none.duckdb")
    with pytest.raises(ExportError, match="no segment runs"):
        empty.export("seg", "High", to="csv", out=tmp_path / "x.csv")
    assert empty.exports() == [] and not (tmp_path / "none.duckdb").exists()
    ws.close()
