"""``segmint export --engine spark``: an audience file from a Spark workspace is the file the
embedded workspace writes from the same data, byte for byte.

Both workspaces run the same spec on the same Parquet files of the sample shop, whose
customers carry missing e-mail consent (NULL: no consent unless assumed); after the runs some
customers object to profiling in both workspaces (``consent_profiling`` false), which every
export must honour. One Spark session is shared by the suite (fixture ``spark``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint._run import run_pipeline
from segmint.activate.export import latest_run, segmentation_result
from segmint.cli import app
from segmint.datasets import make_retail
from segmint.spec.model import Spec

pytestmark = pytest.mark.spark

#: every 7th customer has no e-mail consent value, every 11th objects after the run
NO_VALUE, OBJECTS = 7, 11


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Any:
    """(embedded workspace, Spark workspace, the rfm segments' labels, largest first)."""
    tmp = tmp_path_factory.mktemp("export")
    files = make_retail(600, seed=7).to_files(tmp / "data", "parquet")
    people = pd.read_parquet(files["customers"])
    people["consent_email"] = people["consent_email"].astype("boolean")
    people.loc[people.index % NO_VALUE == 0, "consent_email"] = pd.NA
    people["consent_profiling"] = pd.Series(True, index=people.index, dtype="boolean")
    people.to_parquet(files["customers"], index=False)
    sources = [{"path": str(files[n]), "as": n} for n in ("customers", "orders")]
    spec = Spec.model_validate(
        {"sources": sources, "segmentations": [{"name": "rfm", "method": "rfm"}]}
    )
    duck = segmint.Workspace(tmp / "duck.duckdb")
    run_pipeline(duck, spec, out_dir=tmp / "report-duckdb")
    ews = segmint.Workspace.spark(spark, tmp / "spark")
    ews.run(spec, out_dir=tmp / "report-spark")
    objecting = [str(i) for i in people["customer_id"][people.index % OBJECTS == 0]]
    duck.store.db.execute(
        "UPDATE customers SET consent_profiling = false WHERE CAST(customer_id AS VARCHAR) "
        "IN (SELECT unnest(?))",
        [objecting],
    )
    c = ews.table("customers")
    objected = c.customer_id.cast("string").isin(objecting)
    ews.engine.write(
        {"customers": c.mutate(consent_profiling=objected.ifelse(False, c.consent_profiling))}
    )
    result = segmentation_result(duck.store, latest_run(duck.store, "rfm"), "rfm")
    labels = [s.label for s in sorted(result.profiles.segments, key=lambda s: -s.size)]
    yield duck, ews, labels
    duck.close()
    ews.close()


@pytest.mark.parametrize(
    ("to", "options"),
    [
        ("mailchimp", {}),
        ("google-ads", {"min_size": 1}),  # hashed: SHA-256 in DuckDB on both sides
        ("mailchimp", {"assume_consent": True}),
    ],
)
def test_the_spark_file_equals_the_embedded_file(shop, tmp_path, to, options):
    duck, ews, labels = shop
    chosen = labels[:3]
    ours = ews.export("rfm", chosen, to=to, out=tmp_path / "spark.csv", **options)
    theirs = duck.export("rfm", chosen, to=to, out=tmp_path / "duck.csv", **options)
    data = (tmp_path / "spark.csv").read_bytes()
    assert data == (tmp_path / "duck.csv").read_bytes()
    assert ours.rows_written == theirs.rows_written > 0
    assert ours.left_out == theirs.left_out
    assert ours.left_out["objected to profiling"] > 0  # the objections made after the run
    assert ours.left_out["no consent"] > 0  # explicit no's count even when NULL is assumed
    assert ours.hashed == theirs.hashed == (to == "google-ads")
    assert ours.sha256 == hashlib.sha256(data).hexdigest()
    logged = ews.exports()[0]
    assert (logged.export_id, logged.sha256, logged.rows_written) == (
        ours.export_id,
        ours.sha256,
        ours.rows_written,
    )
    members = ews.store.db.execute(
        "SELECT count(*) FROM export_members WHERE export_id = ?", [ours.export_id]
    ).fetchone()
    assert members == (ours.rows_written,)
    # nothing of the customers stays on the driver after the export
    assert "customers" not in ews.store.table_names()
    assert ews.store.db.execute("SELECT count(*) FROM segment_assignments").fetchone() == (0,)


def test_export_errors_leave_no_file_and_no_log_row(shop, tmp_path):
    from segmint.exceptions import ExportError

    _duck, ews, _labels = shop
    before = len(ews.exports())
    with pytest.raises(ExportError, match="no segment 'Nobody'"):
        ews.export("rfm", "Nobody", to="csv", out=tmp_path / "x.csv")
    with pytest.raises(ExportError, match="No run has a segmentation named 'clusters'"):
        ews.export("clusters", "1", to="csv", out=tmp_path / "x.csv")
    with pytest.raises(ExportError, match="cannot take hashed"):
        ews.export("rfm", _labels[0], to="mailchimp", out=tmp_path / "x.csv", hashed=True)
    assert not (tmp_path / "x.csv").exists() and len(ews.exports()) == before
    assert "customers" not in ews.store.table_names()


def test_cli_export_and_exports_on_the_spark_workspace(shop, tmp_path):
    duck, ews, labels = shop
    runner = CliRunner()
    out = tmp_path / "cli.csv"
    args = ["export", "--engine", "spark", "-w", str(ews.path), "-s", "rfm", "--to", "csv"]
    done = runner.invoke(app, [*args, "--segment", labels[0], "--out", str(out)])
    assert done.exit_code == 0, done.output
    embedded = duck.export("rfm", labels[0], to="csv", out=tmp_path / "duck.csv")
    assert out.read_bytes() == (tmp_path / "duck.csv").read_bytes()
    assert f"Wrote {embedded.rows_written:,} rows" in done.output
    done = runner.invoke(app, ["exports", "--engine", "spark", "-w", str(ews.path), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)[0]["path"] == str(out.resolve())
    # a folder that is no Spark workspace, an unknown engine, an unknown segment: exit 2
    missing = ["export", "--engine", "spark", "-w", str(tmp_path / "nothing"), "-s", "rfm"]
    done = runner.invoke(app, [*missing, "--segment", "x", "--to", "csv", "--out", str(out)])
    assert done.exit_code == 2 and "no Spark workspace" in done.output
    done = runner.invoke(
        app, [*args, "--engine", "flink", "--segment", "x", "--out", str(tmp_path / "y.csv")]
    )
    assert done.exit_code == 2 and "--engine must be one of" in done.output
    done = runner.invoke(app, [*args, "--segment", "Nobody", "--out", str(tmp_path / "y.csv")])
    assert done.exit_code == 2 and "no segment 'Nobody'" in done.output
    assert not (tmp_path / "y.csv").exists()


def test_only_the_chosen_segments_rows_leave_the_engine(shop):
    """What comes to the driver: the chosen segments' assignments of that run, and the
    customers columns the destination reads (Google Ads: no names of a plain csv)."""
    from segmint.activate.engine import audience_rows
    from segmint.activate.exporters import lookup

    _duck, ews, labels = shop
    run = latest_run(ews.store, "rfm")
    assigned, customers = audience_rows(ews.engine, run, "rfm", labels[:1], lookup("meta"))
    a = ews.table("segment_assignments")
    n = a.filter((a.run_id == run) & (a.segment == labels[0])).count().to_pyarrow().as_py()
    assert assigned.num_rows == n and set(assigned["segment"].to_pylist()) == {labels[0]}
    assert customers is not None and customers.num_rows == n
    assert set(assigned["customer_id"].to_pylist()) == set(customers["customer_id"].to_pylist())
    assert "consent_ads" in customers.column_names and "consent_email" not in customers.column_names
    assert "consent_profiling" in customers.column_names
    _, everything = audience_rows(ews.engine, run, "rfm", labels[:1], lookup("csv"))
    assert everything is not None and "first_name" in everything.column_names
