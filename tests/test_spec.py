"""The YAML spec: mapping that wins, options, gates, and every problem reported at once."""

from __future__ import annotations

from datetime import datetime

import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.exceptions import SpecError

runner = CliRunner()


def _files(tmp_path):
    d = tmp_path / "exports"
    d.mkdir()
    (d / "orders.csv").write_text(
        "Invoice;Client No;Order Date;Date;Total\nI1;K1;02/01/2024;1999-01-01;1,50\n"
        "I2;K2;03/01/2024;1999-01-01;2,00\n",
        encoding="latin-1",
    )
    spec = tmp_path / "segmint.yaml"
    spec.write_text(
        "sources:\n"
        "  - path: exports/orders.csv\n"
        "    as: orders\n"
        "    mapping: {customer_id: Client No, ordered_at: Order Date, order_id: Invoice}\n"
        "    options: {delimiter: ';', date_format: '%d/%m/%Y'}\n"
        "quality:\n  max_invalid_dates: 0.01\n"
    )
    return spec


def test_spec_mapping_and_options_win_over_detection(tmp_path):
    spec = _files(tmp_path)
    ws = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["ingest", "--spec", str(spec), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    with segmint.Workspace(ws) as w:
        df = w.table("orders").order_by("order_id").to_pandas()
    assert list(df.customer_id) == ["K1", "K2"]
    # 'Order Date' from the spec, read day-first; the 'Date' column stays an extra attribute
    assert df.ordered_at[0] == datetime(2024, 1, 2)
    assert list(df.amount) == [1.5, 2.0]
    assert "date" in df.columns


def test_file_argument_picks_its_spec_entry(tmp_path):
    spec = _files(tmp_path)
    ws = tmp_path / "w.duckdb"
    r = runner.invoke(
        app,
        ["ingest", str(tmp_path / "exports" / "orders.csv"), "--spec", str(spec), "-w", str(ws)],
    )
    assert r.exit_code == 0, r.output
    assert "Client No" in r.output


def test_every_problem_is_reported_at_once(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "sources:\n  - path: a.csv\n    as: order\n    colour: red\n  - as: customers\n"
        "quality:\n  max_invalid_dates: 3\nclusters: []\n"
    )
    with pytest.raises(SpecError) as info:
        segmint.load_spec(bad)
    problems = info.value.problems
    text = "\n".join(problems)
    assert len(problems) == 5, problems
    assert "sources[0].as" in text and "'order' is not a table" in text
    assert "sources[0].colour: is not a known key" in text
    assert "sources[1].path" in text
    assert "quality.max_invalid_dates" in text
    assert "clusters: is not a known key" in text
    r = runner.invoke(app, ["ingest", "--spec", str(bad), "-w", str(tmp_path / "w.duckdb")])
    assert r.exit_code == 2 and "5 problems" in " ".join(r.output.split())


def test_yaml_syntax_error_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - path: a.csv\n   as: [orders\n")
    with pytest.raises(SpecError) as info:
        segmint.load_spec(bad)
    assert "line 3" in str(info.value.where)


def test_spec_gates_apply_to_clean_and_cli_overrides(tmp_path):
    (tmp_path / "c.csv").write_text("customer_id,email,country\n1,a@b.co,Atlantis\n2,x@y.co,DE\n")
    spec = tmp_path / "s.yaml"
    spec.write_text("quality:\n  max_unknown_countries: 0.1\n")
    ws = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "c.csv"), "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["clean", "--spec", str(spec), "-w", str(ws)])
    assert r.exit_code == 2 and "max_unknown_countries" in r.output
    r = runner.invoke(
        app, ["clean", "--spec", str(spec), "-w", str(ws), "--max-invalid", "country=0.6"]
    )
    assert r.exit_code == 0, r.output


def test_segmentation_section_validates_every_entry(tmp_path):
    bad = tmp_path / "seg.yaml"
    bad.write_text(
        "segmentations:\n"
        "  - {name: a, method: kmean}\n"
        "  - {name: b, method: rules}\n"
        "  - {name: c, method: kmeans, k: 1}\n"
        "  - {name: c, method: rfm}\n"
        "ranking: {weights: {size: 1, luck: 2}}\n"
    )
    with pytest.raises(SpecError) as info:
        segmint.load_spec(bad)
    text = "\n".join(info.value.problems)
    assert "segmentations[0].method" in text and "'kmean' is not a method" in text
    assert "a rules segmentation needs rules" in text
    assert "segmentations[2].k" in text
    assert "ranking.weights" in text and "luck" in text
    good = tmp_path / "good.yaml"
    good.write_text(
        "segmentations:\n  - name: lifestyle\n    method: rules\n    rules:\n"
        "      Young Professionals: age between 22 and 35 and income > 50000\n"
        "      Families: children > 0\n  - {name: clusters, method: kmeans, k: 4}\n"
    )
    spec = segmint.load_spec(good)
    assert list(spec.segmentations[0].rules or {}) == ["Young Professionals", "Families"]
    assert spec.segmentations[1].k == 4
