"""Persons on a Spark workspace: ``segmint dedupe --engine spark`` links the customer records in
Spark, keeps the identity map there, and the next features count each person once.

A sample shop of 300 people, 40 of whom also appear under a second id (name, e-mail and a
later sign-up, as a newsletter tool would hold them) with half of their orders filed under
it. The same files go into an embedded workspace and a Spark one; the embedded dedupe (Splink
on DuckDB) is the reference: the Spark dedupe must find the identical persons, and the
features built on them must be equal. The planted duplicates say the reference is not
empty: the linker must find nearly all of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import segmint
from segmint.privacy.linked import MAP

pytestmark = pytest.mark.spark

N = 300
LINKED = [f"C{i:06d}" for i in range(1, 81, 2)]


def _second(cid: str) -> str:
    return "D" + cid[1:]


def _files(root: Path) -> tuple[Path, Path]:
    sample = segmint.datasets.make_retail(N, seed=5)
    people, orders = sample.customers.copy(), sample.orders.copy()
    first = people[people["customer_id"].isin(LINKED)]
    second = pd.DataFrame(
        {
            "customer_id": [_second(c) for c in first["customer_id"]],
            "email": first["email"].to_numpy(),
            "first_name": first["first_name"].to_numpy(),
            "last_name": first["last_name"].to_numpy(),
            "signup_at": (pd.to_datetime(first["signup_at"]) + pd.Timedelta(days=30)).to_numpy(),
        }
    )
    moved = orders["customer_id"].isin(LINKED) & (
        orders.groupby("customer_id")["order_id"].rank(method="dense") % 2 == 0
    )
    orders.loc[moved, "customer_id"] = orders.loc[moved, "customer_id"].map(_second)
    root.mkdir(parents=True, exist_ok=True)
    pd.concat([people, second], ignore_index=True).to_csv(root / "customers.csv", index=False)
    orders.to_csv(root / "orders.csv", index=False)
    return root / "customers.csv", root / "orders.csv"


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Any:
    """(embedded workspace, its dedupe, Spark workspace, the CLI's JSON of its dedupe)."""
    from typer.testing import CliRunner

    from segmint.cli import app

    tmp = tmp_path_factory.mktemp("spark-dedupe")
    customers, orders = _files(tmp / "data")
    duck = segmint.Workspace(tmp / "duck.duckdb")
    ews = segmint.Workspace.spark(spark, tmp / "spark")
    for ws in (duck, ews):
        ws.ingest(customers, into="customers")
        ws.ingest(orders, into="orders")
        ws.clean()
    reference = duck.dedupe(incremental=False)
    done = CliRunner().invoke(
        app, ["dedupe", "--engine", "spark", "-w", str(ews.path), "--json", "-"]
    )
    assert done.exit_code == 0, done.output
    # the command wrote through a handle of its own: open the workspace again to see it
    ews = segmint.Workspace.spark(spark, tmp / "spark")
    yield duck, reference, ews, json.loads(done.output[done.output.index("{") :])
    duck.close()


def _map(table: Any) -> dict[str, str]:
    frame = table.to_pandas()
    return dict(zip(frame["customer_id"].astype(str), frame["person_id"].astype(str), strict=True))


def test_spark_dedupe_finds_the_embedded_persons(linked):
    duck, reference, ews, result = linked
    on_spark = _map(ews.table(MAP))
    embedded = _map(duck.store.table(MAP))
    assert len(on_spark) == N + len(LINKED) == len(embedded)
    assert on_spark == embedded
    found = sum(on_spark[_second(c)] == on_spark[c] for c in LINKED)
    assert found >= 36, f"only {found} of {len(LINKED)} planted duplicates linked"
    assert result["persons"] == reference.persons == len(set(on_spark.values()))
    assert result["records"] == N + len(LINKED) and result["mode"] == "full"
    # the model and the run are on the driver, as an embedded dedupe keeps them
    run = ews.runs()[-1]
    assert run["kind"] == "dedupe" and run["spec"]["engine"] == "spark"
    assert ews.store.count("identity_models") == 1


def test_features_on_spark_count_each_person_once(linked):
    duck, _reference, ews, _ = linked
    as_of = "2025-01-01"
    spark_rows = ews.features(as_of=as_of).to_pandas().set_index("customer_id").sort_index()
    duck_rows = duck.features(as_of=as_of).to_pandas().set_index("customer_id").sort_index()
    assert len(spark_rows) == len(duck_rows) <= N + len(LINKED) - 36
    assert not spark_rows.index.str.startswith("D").any()
    assert list(spark_rows.index) == list(duck_rows.index)
    for col in duck_rows.columns:
        a, b = spark_rows[col], duck_rows[col]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            pd.testing.assert_series_equal(
                a.astype(float), b.astype(float), check_exact=False, rtol=1e-9, atol=1e-9
            )
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), col


def test_review_tools_are_refused_on_spark(linked):
    from typer.testing import CliRunner

    from segmint.cli import app

    _duck, _reference, ews, _ = linked
    done = CliRunner().invoke(
        app, ["dedupe", "--engine", "spark", "-w", str(ews.path), "--review", "5"]
    )
    assert done.exit_code == 2
    assert "--review cannot be used with --engine spark" in " ".join(done.output.split())


def test_a_spark_run_and_its_export_are_by_person(linked, tmp_path):
    """After the dedupe, the Spark run assigns persons (no second ids), as the embedded run
    does after its own, and an audience file holds one row per person: the same file."""
    from segmint._run import run_pipeline
    from segmint.spec.model import SegmentationSpec, Spec

    duck, _reference, ews, _ = linked
    spec = Spec(segmentations=[SegmentationSpec(name="rfm", method="rfm")])
    spec.features.as_of = "2025-01-01"
    out_duck = run_pipeline(duck, spec, out_dir=tmp_path / "duck")
    out_spark = ews.run(spec, out_dir=tmp_path / "spark")
    frames = []
    for ws, out in ((duck, out_duck), (ews, out_spark)):
        t = ws.table("segment_assignments")
        t = t.filter(t.run_id == out.run_id).to_pyarrow().to_pandas()
        frames.append(t.set_index("customer_id")["segment"].astype(str).sort_index())
    assert frames[0].equals(frames[1])
    assert not frames[1].index.str.startswith("D").any()
    label = frames[1].value_counts().index[0]
    files = [tmp_path / "duck.csv", tmp_path / "spark.csv"]
    duck.export("rfm", label, "csv", files[0], assume_consent=True)
    ews.export("rfm", label, "csv", files[1], assume_consent=True)
    assert files[0].read_bytes() == files[1].read_bytes()
    rows = pd.read_csv(files[1], dtype=str)
    assert len(rows) == (frames[1] == label).sum() and rows["customer_id"].is_unique
