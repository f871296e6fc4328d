"""Designing a split test (segmint.measure.design) on real DuckDB workspaces: the hash in SQL
equals the pure Python one, arm shares follow the weights, the same salt gives the same arms
and another reshuffles them, what is stored, every refusal, and one audience file per variant
through the activation exporters (the hold-out gets none; the export log labels each)."""

from __future__ import annotations

import csv
import doctest
import hashlib
import math
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import segmint
from segmint.exceptions import ExperimentError, ExportError, SegmintError, SpecError
from segmint.measure import bucket as bucket_module
from segmint.measure.bucket import (
    SCALE,
    bucket,
    hash32,
    hash32_sql,
    thresholds,
    variant_of,
    variant_sql,
)
from segmint.measure.design import design_experiment, list_experiments, load_design
from segmint.store import Store
from tests.activate_support import make_workspace

N = 3000  # customers: 2,000 in "Weekend buyers" (A), 1,000 in "Lapsed" (B)
NAMES = {"A": "Weekend buyers", "B": "Lapsed"}


def _customers(n: int = N) -> tuple[pd.DataFrame, dict[str, str]]:
    ids = [f"C{i:05d}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "email": [f"p{i}@example.org" for i in range(n)],
            "first_name": ["Ann"] * n,
            "last_name": [f"Lee{i}" for i in range(n)],
            "country": ["GB"] * n,
            "consent_email": [i % 4 != 0 for i in range(n)],  # a quarter said no
            "consent_ads": [True] * n,
        }
    )
    return frame, {cid: ("A" if i % 3 else "B") for i, cid in enumerate(ids)}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    customers, segments = _customers()
    s = make_workspace(tmp_path / "w.duckdb", customers, segments, names=NAMES)
    yield s
    s.close()


def _arms(store: Store, experiment_id: str) -> dict[str, str]:
    rows = store.db.execute(
        "SELECT customer_id, variant FROM experiment_assignments WHERE experiment_id = ?",
        [experiment_id],
    ).fetchall()
    return dict(rows)


# -- the hash ---------------------------------------------------------------------------------


def test_the_bucket_is_md5_as_documented() -> None:
    digest = hashlib.md5(b"spring:C001").hexdigest()
    assert hash32("spring", "C001") == int(digest[:8], 16)
    assert bucket("spring", "C001") == int(digest[:8], 16) / 2**32
    assert 0 <= bucket("", "") < 1
    assert doctest.testmod(bucket_module).failed == 0


def test_sql_hash_and_variant_equal_the_python_ones() -> None:
    odd = ["", " ", "é", "Zoë", "O'Brien", "a:b", "日本", "🙂", "x" * 300, "NULL", "0"]
    ids = [f"C{i}" for i in range(20_000)] + odd
    variants, weights = ["A", "B's", "control"], [45, 45, 10]
    con = duckdb.connect()
    con.register("ids", pd.DataFrame({"customer_id": ids}))
    for salt in ("spring", "", "ünï:cødé"):
        rows = con.execute(
            f"SELECT customer_id, h, {variant_sql('h', variants, weights)} FROM "
            f"(SELECT customer_id, {hash32_sql('?', 'customer_id')} AS h FROM ids)",
            [salt],
        ).fetchall()
        assert len(rows) == len(ids)
        for cid, h, variant in rows:
            assert h == hash32(salt, cid), (salt, cid)
            assert variant == variant_of(salt, cid, variants, weights), (salt, cid)


def test_thresholds_split_the_range_by_cumulative_weight() -> None:
    assert thresholds([1, 1]) == [SCALE // 2, SCALE]
    assert thresholds([0.45, 0.45, 0.1]) == thresholds([45, 45, 10])
    edges = thresholds([45, 45, 10])
    assert [e / SCALE for e in edges] == pytest.approx([0.45, 0.9, 1.0], abs=1e-9)
    assert variant_sql("h", ["only"], [1]) == "'only'"


@pytest.mark.parametrize("weights", [[45, 45, 10], [1, 1], [70, 20, 5, 5]])
def test_arm_shares_on_100k_ids_are_within_1_percent_of_the_weights(weights: list[int]) -> None:
    ids = [f"cust-{i}" for i in range(100_000)]
    variants = [f"v{i}" for i in range(len(weights))]
    expected = {v: w / sum(weights) for v, w in zip(variants, weights, strict=True)}
    python = Counter(variant_of("exp-1", cid, variants, weights) for cid in ids)
    con = duckdb.connect()
    con.register("ids", pd.DataFrame({"customer_id": ids}))
    sql = dict(
        con.execute(
            f"SELECT {variant_sql('h', variants, weights)} AS v, count(*) FROM "
            f"(SELECT {hash32_sql('?', 'customer_id')} AS h FROM ids) GROUP BY v",
            ["exp-1"],
        ).fetchall()
    )
    assert sql == dict(python)
    for v, share in expected.items():
        assert abs(python[v] / len(ids) - share) < 0.01, (v, python[v])


# -- designing and storing ------------------------------------------------------------------


def test_a_design_stores_one_row_per_customer_with_its_hash(store: Store) -> None:
    d = design_experiment(
        store, name="spring", segmentation="seg", segments=["Weekend buyers", "B"],
        weights=[45, 45, 10],
    )  # fmt: skip
    assert d.experiment_id == "e0001" and d.salt == "spring" and d.control == "control"
    assert d.segments == ["A", "B"] and d.segment_names == ["Weekend buyers", "Lapsed"]
    assert d.weights == pytest.approx([0.45, 0.45, 0.1]) and d.stratified
    assert {s: sum(by.values()) for s, by in d.counts.items()} == {"A": 2000, "B": 1000}
    rows = store.db.execute(
        "SELECT customer_id, segment, variant, bucket FROM experiment_assignments"
    ).fetchall()
    assert len(rows) == N == d.n_customers
    found: Counter[tuple[str, str]] = Counter()
    for cid, seg, variant, b in rows:
        assert b == bucket("spring", cid) and 0 <= b < 1
        assert variant == variant_of("spring", cid, d.variants, [45, 45, 10])
        found[(seg, variant)] += 1
    assert {(s, v): n for s, by in d.counts.items() for v, n in by.items()} == dict(found)
    # each segment is split with the weights on its own: shares within a few points
    for by in d.counts.values():
        total = sum(by.values())
        assert abs(by["control"] / total - 0.1) < 0.03
    assert list_experiments(store) == [d]
    assert load_design(store, "e0001") == load_design(store, "spring") == d


def test_huge_weights_still_give_shares(store: Store) -> None:
    d = design_experiment(store, name="big", segmentation="seg", weights=[1e308, 1e308, 1e308])
    assert d.weights == pytest.approx([1 / 3] * 3)


def test_every_segment_by_default_and_equal_weights(store: Store) -> None:
    d = design_experiment(store, name="all", segmentation="seg", variants=["x", "y"])
    assert d.segments == ["A", "B"] and d.weights == [0.5, 0.5] and d.control is None
    assert d.variant_counts()["x"] + d.variant_counts()["y"] == N


def test_the_same_salt_gives_the_same_arms_and_another_reshuffles(store: Store) -> None:
    first = design_experiment(store, name="t", segmentation="seg", weights=[45, 45, 10])
    arms = _arms(store, first.experiment_id)
    again = design_experiment(
        store, name="t", segmentation="seg", weights=[45, 45, 10], replace=True
    )
    assert again.experiment_id == first.experiment_id  # the same test, designed again
    assert _arms(store, again.experiment_id) == arms and again.counts == first.counts
    assert [d.name for d in list_experiments(store)] == ["t"]  # replaced, not added
    other = design_experiment(store, name="t2", segmentation="seg", weights=[45, 45, 10])
    assert other.salt == "t2"
    moved = _arms(store, other.experiment_id)
    same = sum(arms[c] == moved[c] for c in arms) / len(arms)
    # independent hashes agree by chance with probability 0.45² + 0.45² + 0.1² = 0.415
    assert abs(same - 0.415) < 0.05
    salted = design_experiment(store, name="t3", segmentation="seg", salt="t", weights=[45, 45, 10])
    assert _arms(store, salted.experiment_id) == arms  # the salt, not the name, decides
    redone = design_experiment(store, name="t", segmentation="seg", segments=["A"], replace=True)
    assert redone.experiment_id == first.experiment_id and redone.segments == ["A"]
    assert {d.experiment_id for d in list_experiments(store)} == {"e0001", "e0002", "e0003"}
    assert _count(store, "experiment_assignments") == 2 * N + 2000  # t now holds segment A only


# -- refusals ---------------------------------------------------------------------------------


def _count(store: Store, table: str) -> int:
    return store.count(table) if store.has_table(table) else 0


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"weights": [50, 50]}, "one weight per variant: 3 variants"),
        ({"weights": [50, 0, 50]}, "positive"),
        ({"weights": [50, -1, 50]}, "positive"),
        ({"weights": [50, math.nan, 50]}, "positive"),
        ({"weights": [50, math.inf, 50]}, "positive"),
        ({"weights": [50, True, 50]}, "positive"),
        ({"weights": [5e-324, 1, 1]}, "leave a variant no customer"),
        ({"variants": ["A", "a", "control"]}, "must differ"),
        ({"variants": ["only"]}, "at least 2 variants"),
        ({"variants": ["A", " "]}, "1 to 100 characters"),
        ({"name": "  "}, "needs a name"),
        ({"control": "holdout"}, "'holdout' is not a variant"),
    ],
)
def test_invalid_settings_are_a_spec_error_and_store_nothing(
    store: Store, settings: dict[str, object], words: str
) -> None:
    kwargs: dict[str, object] = {"name": "x", "segmentation": "seg", **settings}
    with pytest.raises(SpecError) as err:
        design_experiment(store, **kwargs)  # type: ignore[arg-type]
    assert any(words in p for p in err.value.problems), err.value.problems
    assert err.value.fix and "--weights" in err.value.fix
    assert _count(store, "experiments") == 0


def test_all_problems_come_at_once(store: Store) -> None:
    with pytest.raises(SpecError) as err:
        design_experiment(
            store, name="x", segmentation="seg", variants=["A", "A"], weights=[1, 2, 0]
        )
    assert len(err.value.problems) == 3
    assert all(p in err.value.problem for p in err.value.problems)  # the API shows problem


def test_an_unknown_segment_lists_the_segments(store: Store) -> None:
    with pytest.raises(ExperimentError) as err:
        design_experiment(store, name="x", segmentation="seg", segments=["Whales"])
    assert "'Whales'" in err.value.problem
    assert "A (Weekend buyers)" in str(err.value.fix) and "B (Lapsed)" in str(err.value.fix)
    with pytest.raises(ExperimentError, match="No run has a segmentation named 'nope'"):
        design_experiment(store, name="x", segmentation="nope")
    with pytest.raises(ExperimentError, match="has no segmentation named"):
        design_experiment(store, name="x", segmentation="seg", run="0009-segment")
    assert _count(store, "experiments") == 0


def test_an_empty_segment_is_refused(store: Store) -> None:
    store.db.execute("DELETE FROM segment_assignments WHERE segment = 'B'")
    with pytest.raises(ExperimentError, match=r"no customer in segment Lapsed \(B\)"):
        design_experiment(store, name="x", segmentation="seg", segments=["A", "B"])
    assert (
        design_experiment(store, name="x", segmentation="seg", segments=["A"]).n_customers == 2000
    )


def test_a_used_name_is_refused_unless_replaced(store: Store) -> None:
    first = design_experiment(store, name="spring", segmentation="seg")
    with pytest.raises(ExperimentError) as err:
        design_experiment(store, name="spring", segmentation="seg", segments=["A"])
    assert "exists already (e0001" in err.value.problem and "--replace" in str(err.value.fix)
    assert list_experiments(store) == [first] and _count(store, "experiment_assignments") == N
    with pytest.raises(ExperimentError, match="no experiment 'autumn'"):
        load_design(store, "autumn")


def test_a_workspace_without_runs_says_so(tmp_path: Path) -> None:
    with segmint.Workspace(tmp_path / "empty.duckdb") as ws:
        with pytest.raises(SegmintError, match="no segment runs"):
            ws.design_experiment("x", "seg")
        assert ws.experiments() == []


# -- audience files per variant -----------------------------------------------------------


def _file_ids(path: Path, column: str) -> set[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return {row[column] for row in csv.DictReader(f)}


def test_each_variant_but_the_hold_out_gets_an_audience_file(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "audiences"
    d = design_experiment(
        store, name="spring sale", segmentation="seg", weights=[45, 45, 10],
        export="mailchimp", out=out,
    )  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == [
        "spring_sale-A-mailchimp.csv",
        "spring_sale-B-mailchimp.csv",
    ]
    arms = _arms(store, d.experiment_id)
    emails = dict(store.db.execute("SELECT lower(email), customer_id FROM customers").fetchall())
    assert [r.label for r in d.exports] == [
        f"experiment spring sale ({d.experiment_id}), variant A",
        f"experiment spring sale ({d.experiment_id}), variant B",
    ]
    counts = d.variant_counts()
    for r, variant in zip(d.exports, ["A", "B"], strict=True):
        in_file = {emails[e] for e in _file_ids(Path(r.path), "Email Address")}
        assert in_file and all(arms[c] == variant for c in in_file)
        assert r.rows_written == len(in_file)
        # a quarter of the customers said no to e-mail: counted, never silently dropped
        assert r.rows_written + r.left_out["no consent"] == counts[variant]
        members = store.db.execute(
            "SELECT customer_id FROM export_members WHERE export_id = ?", [r.export_id]
        ).fetchall()
        assert {m[0] for m in members} == in_file
    logged = store.db.execute("SELECT export_id, label FROM exports ORDER BY export_id").fetchall()
    assert logged == [(r.export_id, r.label) for r in d.exports]


def test_a_refused_variant_file_leaves_the_design_stored(store: Store, tmp_path: Path) -> None:
    # 50 customers: each variant is under Google's minimum audience of 100
    store.db.execute("DELETE FROM segment_assignments WHERE customer_id >= 'C00050'")
    with pytest.raises(ExportError) as err:
        design_experiment(
            store, name="small", segmentation="seg", export="google-ads", out=tmp_path / "o"
        )
    assert "is stored" in err.value.problem and "needs at least 100 people" in err.value.problem
    assert "--min-size" in str(err.value.fix) and "--replace" in str(err.value.fix)
    assert [d.name for d in list_experiments(store)] == ["small"]
    assert not list((tmp_path / "o").iterdir())
    d = design_experiment(
        store, name="small", segmentation="seg", export="google-ads", out=tmp_path / "o",
        replace=True, min_size=1,
    )  # fmt: skip
    assert len(d.exports) == 2 and sum(r.rows_written for r in d.exports) == d.n_customers - sum(
        by["control"] for by in d.counts.values()
    )


def test_an_unknown_destination_or_no_folder_stores_nothing(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="myspace"):
        design_experiment(store, name="x", segmentation="seg", export="myspace", out=tmp_path)
    with pytest.raises(ExportError, match="plain text"):
        design_experiment(
            store, name="x", segmentation="seg", export="mailchimp", out=tmp_path, hashed=True
        )
    with pytest.raises(SpecError, match="must be 0 or more"):
        design_experiment(
            store, name="x", segmentation="seg", export="csv", out=tmp_path, min_size=-1
        )
    with pytest.raises(SpecError, match="needs a folder"):
        design_experiment(store, name="x", segmentation="seg", export="csv")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(SpecError, match="is a file"):
        design_experiment(
            store, name="x", segmentation="seg", export="csv", out=tmp_path / "file.txt"
        )
    assert _count(store, "experiments") == 0


def test_the_workspace_method_designs_and_lists(tmp_path: Path) -> None:
    customers, segments = _customers(300)
    make_workspace(tmp_path / "w.duckdb", customers, segments, names=NAMES).close()
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        d = ws.design_experiment("promo", "seg", "Lapsed", variants=["mail", "control"])
        assert d.segments == ["B"] and d.n_customers == 100 and not d.stratified
        assert [e.experiment_id for e in ws.experiments()] == [d.experiment_id]
        assert d.to_dict()["n_customers"] == 100
