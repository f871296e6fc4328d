"""Customer attributes beyond the canonical columns (M4, M5) on real data: Hillstrom's
``history``, ``mens``, … and UCI Wholesale's spend columns are usable in rules, clustering and
profiles, a customers-only file segments with ``segmint run``, names read as labels, and a
misspelt name stops the run before any work, with "did you mean"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint._run import run_pipeline
from segmint.cli import app
from segmint.features.catalog import header_label, label
from segmint.ingest.mapping import guess_entity
from segmint.spec.model import SegmentationSpec, Spec
from tests.conftest import shared_file

runner = CliRunner()
HILLSTROM_ROWS = 4000  # the first rows of the 64,000: enough for every check, and fast


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def hillstrom(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    raw = pd.read_csv(shared_file("hillstrom_email_2008", "hillstrom.csv"), nrows=HILLSTROM_ROWS)
    raw.insert(0, "customer_id", [f"H{i}" for i in range(1, len(raw) + 1)])  # generated id
    return raw


@pytest.fixture(scope="module")
def hillstrom_csv(hillstrom: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hillstrom") / "hillstrom_customers.csv"
    hillstrom.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def wholesale_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = pd.read_csv(shared_file("uci_wholesale_customers", "Wholesale customers data.csv"))
    raw.insert(0, "customer_id", [f"W{i}" for i in range(1, len(raw) + 1)])
    path = tmp_path_factory.mktemp("wholesale") / "wholesale.csv"
    raw.to_csv(path, index=False)
    return path


def raw_names(columns: list[str]) -> list[str]:
    """Column names as a name could leak them: snake_case, or with the underscores as spaces."""
    multi = [c for c in columns if "_" in c]
    return multi + [c.replace("_", " ") for c in multi]


def assert_plain_names(names: list[str], columns: list[str]) -> None:
    for name in names:
        leaked = [c for c in raw_names(columns) if c in name.lower()]
        assert not leaked, f"segment name {name!r} leaks column name(s) {leaked}"


# -- features ----------------------------------------------------------------------------------
def test_hillstrom_attributes_join_the_feature_table(hillstrom_csv, hillstrom, tmp_path):
    ws = segmint.Workspace(tmp_path / "h.duckdb")
    ws.ingest(hillstrom_csv, into="customers")
    got = ws.features().to_pandas().set_index("customer_id")
    for col in ("history", "mens", "womens", "newbie", "recency"):
        assert pd.api.types.is_numeric_dtype(got[col]), col
    assert got.loc["H1", "history"] == pytest.approx(hillstrom.history.iloc[0])
    assert (got.mens.sum(), got.womens.sum()) == (hillstrom.mens.sum(), hillstrom.womens.sum())
    # the family can be left out like any other
    assert "history" not in ws.features(families=["demographic"]).columns
    ws.close()


# -- rules, clustering and profiles on Hillstrom --------------------------------------------
def test_a_rule_on_history_and_clusters_on_chosen_attributes(hillstrom_csv, hillstrom, tmp_path):
    ws = segmint.Workspace(tmp_path / "h.duckdb")
    ws.ingest(hillstrom_csv, into="customers")
    spec = Spec(
        segmentations=[
            SegmentationSpec(name="spend", method="rules", rules={"Big spenders": "history > 500"}),
            SegmentationSpec(
                name="clusters",
                method="kmeans",
                k=4,
                features=["history", "mens", "womens", "newbie"],
            ),
        ]
    )
    report = run_pipeline(ws, spec, out_dir=tmp_path / "report").report.to_json()
    rules, clusters = report["segmentations"]
    assert rules["rules"][0]["matched"] == int((hillstrom.history > 500).sum()) > 0
    assert clusters["features"] == ["history", "mens", "womens", "newbie"]
    segments = clusters["profiles"]["segments"]
    assert sum(p["size"] for p in segments) == HILLSTROM_ROWS and len(segments) >= 2
    assert all("history" in p["means"] for p in segments)  # profiles show the attributes
    # the clusters differ on what they were built from
    mens = [p["means"]["mens"] for p in segments]
    assert max(mens) - min(mens) > 0.3
    names = [p["name"] for seg in report["segmentations"] for p in seg["profiles"]["segments"]]
    assert_plain_names(names, list(hillstrom.columns))
    # 0/1 flags read by their share ("mostly Mens", "with few Womens"), never "high mens"
    flags = r"(Mens|Womens|Newbie)"
    assert any(re.search(rf"(mostly|more|few|fewer) {flags}", n) for n in names), names
    assert not any(re.search(rf"(high|low) {flags}", n, re.I) for n in names), names
    ws.close()


# -- customers-only files through `segmint run` ----------------------------------------------
def test_wholesale_segments_with_zero_config_on_its_spend_columns(wholesale_csv, tmp_path):
    ws, out = tmp_path / "w.duckdb", tmp_path / "report"
    r = runner.invoke(app, ["run", str(wholesale_csv), "-w", str(ws), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "RFM and value segments were skipped" in flat(r.output)
    data = json.loads((out / "report.json").read_text())
    assert [s["name"] for s in data["segmentations"]] == ["clusters"]
    assert any("No orders" in n for n in data["notes"])
    clusters = data["segmentations"][0]
    spend = ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]
    assert clusters["features"] == spend  # Channel's codes 1/2 are not an amount
    assert sum(p["size"] for p in clusters["profiles"]["segments"]) == 440
    names = [p["name"] for p in clusters["profiles"]["segments"]]
    assert_plain_names(names, ["detergents_paper", *spend])
    w = segmint.Workspace(ws)
    assert "orders" not in w.tables()  # Channel did not make the file read as order lines
    assert "channel" in w.table("customers").columns  # kept as the customer's attribute
    feats = w.table("customer_features")
    assert feats.schema()["channel"].is_string()  # its codes are a category, not an amount
    assert feats.filter(feats.channel == "2").count().execute() == 142  # README: 298 / 142
    assert feats.schema()["fresh"].is_integer()  # amounts stay numbers
    w.close()
    # the clusters follow the known Horeca / Retail split (README: "check cluster purity")
    shares = [p["over_represented"] for p in clusters["profiles"]["segments"]]
    assert any(o["column"] == "channel" and o["share"] > 0.75 for s in shares for o in s)


def test_segmint_features_on_a_customers_file_summarizes_its_attributes(wholesale_csv, tmp_path):
    ws = tmp_path / "w.duckdb"
    assert runner.invoke(app, ["ingest", str(wholesale_csv), "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["features", "-w", str(ws)])
    assert r.exit_code == 0, r.output  # was an IbisTypeError: no recency_days without orders
    assert "440 customers" in r.output and "fresh" in r.output and "delicassen" in r.output
    assert "recency_days" not in r.output and "age" not in r.output  # empty columns left out


def test_channel_codes_next_to_a_customer_id_make_a_customers_file(wholesale_csv):
    headers = pd.read_csv(wholesale_csv, nrows=0).columns.tolist()
    assert guess_entity(headers) == "customers"
    # without an id the rows are still customers (numbered 1…N on import)
    assert guess_entity(headers[1:]) == "customers"
    # a file with order indicators is still orders, and its missing columns get named
    assert guess_entity(["customer_id", "Channel", "InvoiceDate", "Quantity"]) == "orders"


def test_run_features_option_on_a_customers_file(hillstrom_csv, tmp_path):
    ws, out = tmp_path / "h.duckdb", tmp_path / "report"
    args = ["run", str(hillstrom_csv), "-w", str(ws), "--out", str(out)]
    r = runner.invoke(app, [*args, "--features", "history, mens,womens,newbie"])
    assert r.exit_code == 0, r.output
    data = json.loads((out / "report.json").read_text())
    (clusters,) = data["segmentations"]
    assert clusters["features"] == ["history", "mens", "womens", "newbie"]
    names = [p["name"] for p in clusters["profiles"]["segments"]]
    assert_plain_names(names, pd.read_csv(hillstrom_csv, nrows=0).columns.tolist())
    # a typo stops the next run before any work, with "did you mean"
    runs = len(segmint.Workspace(ws, read_only=True).runs())
    bad = runner.invoke(app, ["run", "-w", str(ws), "--out", str(out), "--features", "histroy"])
    assert bad.exit_code == 2 and "did you mean 'history'" in flat(bad.output)
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "segmentations:\n"
        "  - {name: r, method: rules, rules: {VIP: 'history > 500', Men: 'mns = 1'}}\n"
    )
    bad = runner.invoke(app, ["run", "-w", str(ws), "--out", str(out), "--spec", str(spec)])
    assert bad.exit_code == 2 and "Did you mean 'mens'" in flat(bad.output)
    assert len(segmint.Workspace(ws, read_only=True).runs()) == runs  # nothing was done


def test_a_spec_asking_for_rfm_without_orders_says_so(hillstrom_csv, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("segmentations:\n  - {name: rfm, method: rfm}\n")
    args = ["run", str(hillstrom_csv), "-w", str(tmp_path / "h.duckdb"), "--spec", str(spec)]
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "need order lines" in flat(r.output)


# -- names ---------------------------------------------------------------------------------------
def test_labels_read_as_words():
    assert label("interpurchase_std_days") == "variation in days between orders"
    assert label("cat_home_garden_share") == "home garden share of spend"
    assert label("events_page_view") == "page view events"
    assert (header_label("mens"), header_label("Delicassen")) == ("Mens", "Delicassen")
    assert header_label("Detergents_Paper") == "Detergents paper"
    assert header_label("detergents_paper") == "Detergents paper"
    assert header_label("c_2nd_phone") == "2nd phone"


def test_cdnow_cluster_names_use_catalog_labels(tmp_path):
    raw = pd.read_csv(
        shared_file("cdnow", "CDNOW_sample.txt"), sep=r"\s+", header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"], dtype={"date": str},
    )  # fmt: skip
    raw["ordered_at"] = pd.to_datetime(raw.date, format="%Y%m%d").dt.strftime("%Y-%m-%d")
    raw[["customer_id", "ordered_at", "amount"]].to_csv(tmp_path / "o.csv", index=False)
    ws = segmint.Workspace(tmp_path / "c.duckdb")
    ws.ingest(tmp_path / "o.csv")
    active = {"Active": "last_order_at within 90 days"}  # docs/rules.md's example
    spec = Spec(
        segmentations=[
            SegmentationSpec(name="clusters", method="kmeans", k=5),
            SegmentationSpec(name="recent", method="rules", rules=active),
        ]
    )
    report = run_pipeline(ws, spec, out_dir=tmp_path / "report").report.to_json()
    clusters, recent = report["segmentations"]
    last = pd.to_datetime(raw.groupby("customer_id").ordered_at.max())
    since = last.max() - pd.Timedelta(days=90)
    assert recent["rules"][0]["matched"] == int((last >= since).sum()) > 0
    columns = list(ws.table("customer_features").columns)
    names = [p["name"] for p in clusters["profiles"]["segments"]]
    assert len(set(names)) == len(names) == 5
    assert_plain_names(names, columns)
    assert not any(re.search(r"\b[a-z]+_[a-z_]+\b", n) for n in names), names
    ws.close()


def test_the_live_rule_check_knows_hillstrom_attributes(hillstrom_csv, tmp_path):
    """The web form's check (services.validate_rules with the workspace's columns)."""
    from segmint.api import services

    ws = segmint.Workspace(tmp_path / "h.duckdb")
    ws.ingest(hillstrom_csv, into="customers")
    columns = services.rule_columns(ws)
    assert columns is not None and columns["history"].is_numeric()
    ok = services.validate_rules({"Big": "history > 500", "Web": "channel = 'Web'"}, columns)
    assert ok == {"ok": True, "errors": [], "columns_checked": True}
    bad = services.validate_rules({"Big": "histroy > 500"}, columns)
    assert not bad["ok"] and "Did you mean 'history'" in bad["errors"][0]["message"]
    # without a value step there are no value columns, with one there are
    assert not services.validate_rules({"L": "p_alive > 0.5"}, columns)["ok"]
    assert services.validate_rules({"L": "p_alive > 0.5"}, services.rule_columns(ws, value=True))[
        "ok"
    ]
    ws.close()
