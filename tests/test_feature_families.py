"""Feature families (M5) against independent pandas computations on generated shop data."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import segmint
from segmint.datasets import make_retail
from segmint.exceptions import InputError, SpecError
from segmint.features import FAMILIES, FEATURE_CATALOG, build_features, lookup
from segmint.features.catalog import KINDS, render_markdown
from tests.conftest import shared_file
from tests.test_features import pandas_basics

ROOT = Path(__file__).resolve().parents[1]
MID = datetime(2024, 6, 30, 23, 59, 59)  # the sample runs from 2023-01-01 to 2024-12-31
TOP = 3  # fewer than the 6 categories, so "other" is exercised


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):
    """A cleaned workspace holding every table of a 300-customer sample, and its frames."""
    base = tmp_path_factory.mktemp("shop")
    ws = segmint.Workspace(base / "shop.duckdb")
    for name, path in make_retail(300, seed=7).to_files(base / "files").items():
        ws.ingest(path, into=name)
    ws.clean()
    frames = {n: ws.table(n).to_pandas() for n in ("customers", "orders", "events", "feedback")}
    yield ws, frames
    ws.close()


def wide(ws: segmint.Workspace, as_of: datetime, **kw) -> pd.DataFrame:
    tables = {n: ws.table(n) for n in ("customers", "orders", "events", "feedback")}
    return build_features(tables, as_of, **kw).to_pandas().set_index("customer_id")


def close(got: pd.Series, exp: pd.Series, name: str, atol: float = 1e-9) -> None:
    exp = exp.reindex(got.index)
    np.testing.assert_allclose(
        got.astype(float).to_numpy(), exp.astype(float).to_numpy(), atol=atol, equal_nan=True,
        err_msg=name,
    )  # fmt: skip


# -- independent pandas definitions ------------------------------------------------------------
def pandas_spine(f: dict[str, pd.DataFrame], as_of: datetime) -> list[str]:
    o, c = f["orders"], f["customers"]
    buyers = set(o[o.customer_id.notna() & (o.ordered_at <= as_of)].customer_id)
    dated = c.signup_at.notna() & (c.signup_at <= as_of)
    undated = c.signup_at.isna() & ~c.customer_id.isin(o.customer_id)
    return sorted(buyers | set(c[dated | undated].customer_id))


def pandas_behavior(o: pd.DataFrame, as_of: datetime, top: int) -> pd.DataFrame:
    o = o[o.customer_id.notna() & (o.ordered_at <= as_of)].copy()
    o["purchase"] = o.status.isin(["paid", "refunded"]) & (o.amount >= 0)
    o["revenue"] = (o.status == "paid") | (o.amount < 0)
    p = o[o.purchase].copy()
    out = pandas_basics(o, as_of)
    starts = p.groupby(["customer_id", "order_id"]).ordered_at.min().reset_index()
    starts = starts.sort_values(["customer_id", "ordered_at", "order_id"])
    starts["gap"] = starts.groupby("customer_id").ordered_at.diff().dt.total_seconds() / 86400
    out["interpurchase_mean_days"] = starts.groupby("customer_id").gap.mean()
    out["interpurchase_std_days"] = starts.groupby("customer_id").gap.std()  # ddof = 1
    rev = o[o.revenue]
    for name, lo, hi in (("last", 90, 0), ("prev", 180, 90)):
        inside = (rev.ordered_at > as_of - pd.Timedelta(days=lo)) & (
            rev.ordered_at <= as_of - pd.Timedelta(days=hi)
        )
        s = rev[inside].groupby("customer_id").amount.sum()
        out[f"revenue_{name}_90d"] = s.reindex(out.index).fillna(0).round(2)
    n = p.groupby("customer_id").size().reindex(out.index)
    disc = p.discount.fillna(0)
    out["discount_share"] = (
        p[disc > 0].groupby("customer_id").size().reindex(out.index).fillna(0) / n
    )
    gross = p.amount + disc
    out["discount_rate"] = disc.groupby(p.customer_id).sum() / gross.groupby(p.customer_id).sum()
    ret = o[o.returned.fillna(False).astype(bool)].groupby("customer_id").size()
    out["return_rate"] = ret.reindex(out.index).fillna(0) / n
    spend = p.groupby("customer_id").amount.sum()
    for col, prefix in (("category", "cat"), ("channel", "channel")):
        tops = p.groupby(col).amount.sum().sort_values(ascending=False).index[:top]
        for value in tops:
            out[f"{prefix}_{value}_share"] = p[p[col] == value].groupby("customer_id").amount.sum()
            out[f"{prefix}_{value}_share"] = out[f"{prefix}_{value}_share"].fillna(0) / spend
        other = p[~p[col].isin(tops)].groupby("customer_id").amount.sum()
        out[f"{prefix}_other_share"] = other.reindex(out.index).fillna(0) / spend
    return out


# -- behavioral --------------------------------------------------------------------------------
@pytest.mark.parametrize("as_of", [datetime(2024, 12, 31, 23, 59, 59), MID])
def test_behavioral_family_matches_pandas(shop, as_of):
    ws, f = shop
    got = wide(ws, as_of, families=["behavioral"], top_categories=TOP)
    exp = pandas_behavior(f["orders"], as_of, TOP)
    assert list(got.index) == pandas_spine(f, as_of)
    cat_cols = [c for c in got.columns if c.startswith(("cat_", "channel_"))]
    assert len([c for c in cat_cols if c.startswith("cat_")]) == TOP + 1
    assert sorted(cat_cols) == sorted(c for c in exp.columns if c.startswith(("cat_", "channel_")))
    never_bought = got.index.difference(exp.index)
    for col in exp.columns:
        close(got.loc[exp.index, col], exp[col], col, atol=0.011 if "share" not in col else 1e-9)
        if col in ("frequency", "monetary_total", "revenue_last_90d", "revenue_prev_90d"):
            assert (got.loc[never_bought, col] == 0).all(), col
        else:
            assert got.loc[never_bought, col].isna().all(), col
    shares = got[[c for c in got.columns if c.startswith("cat_")]].dropna()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    if as_of == MID:
        assert len(never_bought) > 0  # signed up before MID, first order after it


def test_web_events_match_pandas(shop):
    ws, f = shop
    got = wide(ws, MID, families=["behavioral"], top_categories=TOP)
    e = f["events"]
    e = e[e.customer_id.notna() & (e.occurred_at <= MID)]
    tops = e.event_name.value_counts().index[:TOP]
    assert sorted(c for c in got.columns if c.startswith("events_")) == sorted(
        [*(f"events_{n}" for n in tops), "events_total"]
    )
    for name in tops:
        exp = e[e.event_name == name].groupby("customer_id").size()
        close(got[f"events_{name}"], exp.reindex(got.index).fillna(0), name)
    close(got.events_total, e.groupby("customer_id").size().reindex(got.index).fillna(0), "total")
    assert (got.events_total == 0).any()  # no events counts 0, not empty


# -- customer-based families -------------------------------------------------------------------
def test_demographic_geographic_firmographic_match_pandas(shop):
    ws, f = shop
    fams = ["demographic", "geographic", "firmographic"]
    got = wide(ws, MID, families=fams)
    c = f["customers"].set_index("customer_id").loc[got.index]
    b = pd.to_datetime(c.birth_date)
    later = (b.dt.month * 100 + b.dt.day) > (MID.month * 100 + MID.day)
    close(got.age, MID.year - b.dt.year - later.astype(int), "age", atol=0)
    bins = [-np.inf, 25_000, 50_000, 75_000, 100_000, 150_000, np.inf]
    labels = ["<25k", "25k-50k", "50k-75k", "75k-100k", "100k-150k", "150k+"]
    band = pd.cut(c.income, bins, right=False, labels=labels).astype(object)
    assert (got.income_band.astype(object) == band).all()
    assert got.income_band.nunique() >= 3
    for col in ("income", "children", "household_size", "company_size", "annual_revenue"):
        close(got[col], c[col], col)
    for col in ("gender", "education", "country", "region", "city", "urban_rural", "industry"):
        assert (got[col].fillna("∅").astype(str) == c[col].fillna("∅").astype(str)).all(), col
    for col in ("consent_email", "consent_sms", "consent_ads"):
        assert (got[col] == c[col].fillna(False).astype(bool)).all(), col
    assert (got.has_email == c.email.str.contains("@").fillna(False).astype(bool)).all()
    assert (got.has_phone == (c.phone.str.strip().str.len() > 0).fillna(False)).all()
    assert not got.has_phone.all()  # the sample leaves ≈ 3 % of phones empty
    assert [col for col in got.columns] == [
        *["age", "income", "income_band", "gender", "education", "children", "household_size"],
        *["consent_email", "consent_sms", "consent_ads", "has_email", "has_phone"],
        *["country", "region", "city", "urban_rural", "industry", "company_size", "annual_revenue"],
    ]


def test_psychographic_family_matches_pandas(shop):
    ws, f = shop
    got = wide(ws, MID, families=["psychographic"])
    fb = f["feedback"]
    fb = fb[fb.customer_id.notna() & (fb.answered_at.isna() | (fb.answered_at <= MID))]
    items = [c for c in fb.columns if c.startswith("q_")]
    assert len(items) == 9  # three items for each of three needs (datasets/_personas.py)
    assert list(got.columns) == ["rating_mean", "feedback_count", *(f"survey_{i}" for i in items)]
    g = fb.groupby("customer_id")
    close(got.rating_mean, g.rating.mean(), "rating_mean")
    close(got.feedback_count, g.size().reindex(got.index).fillna(0), "feedback_count")
    for item in items:
        close(got[f"survey_{item}"], g[item].mean(), item)
    assert got[f"survey_{items[0]}"].notna().sum() > 5


# -- edge cases on a hand-made shop ------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> segmint.Workspace:
    d = tmp_path_factory.mktemp("tiny")
    (d / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount,category,channel,status,discount\n"
        "A,ONE,2024-01-01 10:00,10,Toys & Games,Web,paid,0\n"
        "B,TWO,2024-01-01 12:00,10,toys-games,Web,paid,2\n"
        "C,TWO,2024-01-11 12:00,30,Books,Store,paid,0\n"
        "D,THREE,2024-01-01 00:00,5,Books,Web,paid,0\n"
        "E,THREE,2024-01-03 00:00,5,Books,Web,paid,0\n"
        "F,THREE,2024-01-07 00:00,5,Books,Web,cancelled,0\n"
        "G,THREE,2024-01-07 00:00,5,Books,Web,paid,0\n"
        "H,LATE,2024-05-01 00:00,99,Books,Web,paid,0\n"
    )
    (d / "customers.csv").write_text(
        "customer_id,signup_at,income,consent_email\nONE,2023-06-01,24999.99,\n"
        "NOBUY,2023-01-01,150000,true\nFUTURE,2024-03-01,1,true\nUNDATED,,,\n"
    )
    (d / "events.csv").write_text(
        "customer_id,occurred_at,event_name\nTWO,2024-01-02,Page View\nTWO,2024-01-03,page_view\n"
    )
    ws = segmint.Workspace(d / "w.duckdb")
    for name in ("orders", "customers", "events"):
        ws.ingest(d / f"{name}.csv", into=name)
    ws.clean()
    return ws


def test_edge_cases_one_purchase_no_events_no_orders(tiny):
    got = tiny.features(as_of="2024-01-31", top_categories=2).to_pandas().set_index("customer_id")
    # LATE bought after the as-of date; FUTURE signed up after it: neither existed yet.
    assert sorted(got.index) == ["NOBUY", "ONE", "THREE", "TWO", "UNDATED"]
    one, two, three = got.loc["ONE"], got.loc["TWO"], got.loc["THREE"]
    assert np.isnan(one.interpurchase_mean_days) and np.isnan(one.interpurchase_std_days)
    assert two.interpurchase_mean_days == 10.0 and np.isnan(two.interpurchase_std_days)
    assert three.frequency == 3  # the cancelled line F is no purchase
    assert three.interpurchase_mean_days == 3.0
    assert three.interpurchase_std_days == pytest.approx(np.std([2.0, 4.0], ddof=1))
    assert one.events_total == 0 and got.loc["NOBUY"].events_total == 0
    assert two.events_page_view == 1 and two.events_page_view_2 == 1  # two names, one slug
    nobuy = got.loc["NOBUY"]
    assert nobuy.frequency == 0 and nobuy.monetary_total == 0 and np.isnan(nobuy.recency_days)
    assert np.isnan(nobuy.cat_books_share) and np.isnan(nobuy.return_rate)
    # top 2 by spend: Books (45), then "Toys & Games" before the tie "toys-games" (→ other)
    assert two.cat_books_share == 0.75 and two.cat_other_share == 0.25
    assert one.cat_toys_games_share == 1.0 and "cat_toys_games_2_share" not in got.columns
    assert two.discount_share == 0.5 and two.discount_rate == pytest.approx(2 / 42)
    assert one.income_band == "<25k" and nobuy.income_band == "150k+"
    assert not one.consent_email and nobuy.consent_email  # missing consent is no consent


def test_as_of_changes_every_family_consistently(tiny):
    early = tiny.features(as_of="2024-01-02").to_pandas().set_index("customer_id")
    assert early.loc["THREE", "frequency"] == 1 and early.loc["TWO", "events_total"] == 1
    run = tiny.runs()[-1]
    assert run["spec"]["as_of"] == "2024-01-02T23:59:59"
    assert run["spec"]["features"] == [c for c in early.columns]
    assert run["row_counts"] == {"customers": len(early)}
    late = tiny.features().to_pandas().set_index("customer_id")  # default: the last order
    assert "LATE" in late.index and late.loc["LATE", "recency_days"] == 0


def test_families_subset_and_missing_tables(tiny, tmp_path):
    geo = tiny.features(families=["geographic"]).to_pandas()
    assert list(geo.columns) == ["customer_id", "country", "region", "city", "urban_rural"]
    assert tiny.runs()[-1]["spec"]["families"] == ["geographic"]
    ws = segmint.Workspace(tmp_path / "o.duckdb")
    (tmp_path / "o.csv").write_text("order_id,customer_id,ordered_at,amount\nA,C1,2024-01-01,5\n")
    ws.ingest(tmp_path / "o.csv")
    cols = ws.features().columns  # no customers, events or feedback: those families are skipped
    assert all(lookup(c).family == "behavioral" for c in cols[1:])
    assert not any(c.startswith(("cat_", "events_")) for c in cols)


def test_bad_parameters_say_what_was_expected(tiny):
    with pytest.raises(SpecError, match=r"families.*Got 'psycho'"):
        tiny.features(families=["psycho"])
    with pytest.raises(SpecError, match=r"'top_categories'.*int ≥ 1\. Got 0"):
        tiny.features(top_categories=0)
    with pytest.raises(SpecError, match=r"as-of date.*Got '31/01/2024'"):
        tiny.features(as_of="31/01/2024")
    with pytest.raises(InputError, match="'customers', an 'orders' or a 'feedback' table"):
        build_features({"events": tiny.table("events")}, datetime(2024, 1, 1))


# -- the catalog -------------------------------------------------------------------------------
def test_every_built_column_is_in_the_catalog(shop):
    ws, _ = shop
    for col in ws.features().columns[1:]:
        info = lookup(col)
        assert info.family in FAMILIES and info.kind in KINDS, col
    with pytest.raises(KeyError):
        lookup("no_such_feature")


def test_features_doc_lists_the_catalog():
    doc = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- catalog:start -->\n(.*)<!-- catalog:end -->", doc, re.S)
    assert block, "docs/features.md lacks the <!-- catalog:start/end --> markers"
    assert block.group(1).strip() == render_markdown().strip(), (
        "docs/features.md is stale: paste python -m segmint.features.catalog between the markers"
    )
    for name in FEATURE_CATALOG:
        assert f"| `{name}` |" in block.group(1)


def test_customers_only_and_repeated_ids_without_clean(tmp_path):
    ws = segmint.Workspace(tmp_path / "c.duckdb")
    for income in (10_000, 60_000):  # imported twice, not cleaned: the last row wins
        path = tmp_path / f"c{income}.csv"
        path.write_text(f"customer_id,income,country\nC1,{income},DE\nC2,1,FR\n")
        ws.ingest(path, into="customers")
    got = ws.features().to_pandas().set_index("customer_id")  # no orders: as of now
    assert list(got.index) == ["C1", "C2"] and got.loc["C1", "income_band"] == "50k-75k"
    assert not any(lookup(c).family == "behavioral" for c in got.columns)


def test_interpurchase_time_matches_the_published_cdnow_summary(tmp_path):
    """Fader & Hardie's CDNOW sample summary (weeks, same-day purchases merged) at 1997-09-30:
    repeat purchases x = frequency − 1, recency = x × mean gap, T = tenure."""
    raw = pd.read_csv(
        shared_file("cdnow", "CDNOW_sample.txt"), sep=r"\s+", header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"], dtype={"date": str},
    )  # fmt: skip
    raw["ordered_at"] = pd.to_datetime(raw.date, format="%Y%m%d").dt.strftime("%Y-%m-%d")
    raw[["customer_id", "ordered_at", "amount"]].to_csv(tmp_path / "o.csv", index=False)
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(tmp_path / "o.csv")
    got = ws.features(as_of="1997-09-30").to_pandas()
    got = got.set_index(got.customer_id.astype(int))
    summary = pd.read_csv(shared_file("cdnow", "cdnow_customers_summary.csv")).set_index("ID")
    got = got.loc[summary.index]
    x = got.frequency - 1
    assert (x == summary.frequency).all()
    close(got.tenure_days / 7, summary["T"], "T", atol=0.005 + 1e-9)
    repeat = x > 0
    assert repeat.sum() == 946  # the published number of repeat buyers
    close(got.interpurchase_mean_days[repeat] * x[repeat] / 7, summary.recency[repeat], "recency",
          atol=0.005 + 1e-9)  # fmt: skip
    assert got.interpurchase_mean_days[~repeat].isna().all()


def test_projections_of_customers_joined_once_give_the_same_table(shop, monkeypatch):
    """Demographic, geographic and firmographic columns are projections of the customers
    table, joined as one (each join holds a hash table: on 10M customers three of them passed
    DuckDB's cap): the table equals the one built with a join per family, column order too."""
    from segmint.features import build

    ws, _f = shop
    merged = wide(ws, MID)
    sql = str(ws.store.ibis.compile(build_features(
        {n: ws.table(n) for n in ("customers", "orders", "events", "feedback")}, MID
    )))  # fmt: skip
    monkeypatch.setattr(build, "_merged", lambda parts, people: parts)
    separate = wide(ws, MID)
    unmerged = str(ws.store.ibis.compile(build_features(
        {n: ws.table(n) for n in ("customers", "orders", "events", "feedback")}, MID
    )))  # fmt: skip
    pd.testing.assert_frame_equal(merged, separate)
    assert sql.count(" JOIN ") < unmerged.count(" JOIN ")


def test_feature_table_is_sorted_in_a_statement_of_its_own(tmp_path):
    """The features are written unsorted, then sorted by customer id into the table (a sort in
    the statement that joins them held both in memory): sorted, no staging table left."""
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    for name, path in make_retail(120, seed=3).to_files(tmp_path / "files").items():
        ws.ingest(path, into=name)
    ws.clean()
    ws.features()
    ids = [
        r[0] for r in ws.store.db.execute("SELECT customer_id FROM customer_features").fetchall()
    ]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) > 100
    assert not [t for t in ws.tables() if t.startswith("_segmint_stage")]
    ws.close()
