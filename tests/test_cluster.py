"""Clustering segmenters (M6) and the segment guard (M18), on generated and real data.

Recovery of planted personas, a real data set with a held-out label (permutation test), the
guard's merges and messages, skew-aware scaling, and assignment in DuckDB equal to predict.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from segmint.datasets import make_retail
from segmint.exceptions import ModelError
from segmint.segment.base import UNASSIGNED, Segmentation
from segmint.segment.cluster import (
    GMMSegmenter,
    HDBSCANSegmenter,
    KMeansSegmenter,
    Scaler,
    guard_segments,
    guard_summary,
)
from segmint.segment.cluster._scores import jaccard_per_cluster, silhouettes
from tests.conftest import shared_file

SPEND = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]


# -- data --------------------------------------------------------------------------------
def retail_features(sample) -> pd.DataFrame:
    """Per-customer behaviour and demographics, computed with pandas from the raw tables."""
    o = sample.orders
    o = o[o["status"].isin(["paid", "refunded"]) & (o["amount"] >= 0)]
    as_of = sample.orders["ordered_at"].max()
    g = o.groupby("customer_id")
    f = pd.DataFrame(
        {
            "recency_days": (as_of - g["ordered_at"].max()).dt.days,
            "orders": g["order_id"].nunique(),
            "revenue": g["amount"].sum(),
            "discount_share": (o["discount"] > 0).groupby(o["customer_id"]).mean(),
        }
    )
    f["avg_order_value"] = f["revenue"] / f["orders"]
    for col in ("channel", "category"):
        f = f.join(pd.crosstab(o["customer_id"], o[col], normalize="index").add_prefix(col + "_"))
    c = sample.customers.set_index("customer_id")
    f = f.reindex(c.index)
    f["age"] = (as_of - pd.to_datetime(c["birth_date"], errors="coerce")).dt.days / 365.25
    f["income"] = c["income"]
    f["children"] = c["children"]
    f["tenure_days"] = (as_of - c["signup_at"]).dt.days
    return f


def blobs(sizes, centres, scale=1.0, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = [rng.normal(c, scale, (n, len(c))) for n, c in zip(sizes, centres, strict=True)]
    values = np.vstack(parts)
    index = pd.Index([f"C{i:05d}" for i in range(len(values))], name="customer_id")
    return pd.DataFrame(values, index=index, columns=[f"x{j}" for j in range(values.shape[1])])


@pytest.fixture(scope="module")
def retail():
    sample = make_retail(2000, seed=11)
    truth = sample.truth.set_index("customer_id")["persona"]
    return retail_features(sample), truth


# -- recovery ----------------------------------------------------------------------------
def test_kmeans_auto_finds_the_five_planted_personas(retail):
    X, truth = retail
    seg = KMeansSegmenter(k="auto").fit(X)
    ari = adjusted_rand_score(truth.reindex(X.index), seg.labels_)
    print(f"retail personas: k_={seg.k_}, ARI={ari:.4f}, stability={seg.stability_:.3f}")
    assert seg.k_ == 5
    assert ari >= 0.9
    curve = seg.k_scores_
    assert list(curve.columns) == [
        "k",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "inertia",
        "stability",
    ]
    assert curve["k"].tolist() == list(range(2, 11))
    # the documented rule, checked on the curve: smallest k within 0.01 of the best silhouette
    best = curve["silhouette"].max()
    assert seg.k_ == curve.loc[curve["silhouette"] >= best - 0.01, "k"].min()
    assert seg.stability_ == curve.set_index("k").loc[5, "stability"] > 0.9
    # labels "1".."5", "1" the largest; centres in original units
    sizes = seg.labels_.value_counts()
    assert sorted(sizes.index) == ["1", "2", "3", "4", "5"]
    assert sizes["1"] == sizes.max()
    assert list(seg.centers_.index) == ["1", "2", "3", "4", "5"]
    assert seg.centers_["income"].between(X["income"].min(), X["income"].max()).all()


def test_wholesale_clusters_match_the_held_out_channel_better_than_chance():
    path = shared_file("uci_wholesale_customers", "Wholesale customers data.csv")
    df = pd.read_csv(path)
    assert len(df) == 440
    X = df[SPEND].rename_axis("customer_id")
    seg = KMeansSegmenter(k=2).fit(X)
    labels = seg.labels_.to_numpy()
    channel = df["Channel"].to_numpy()
    ari = adjusted_rand_score(channel, labels)
    rng = np.random.default_rng(2024)
    null = np.array([adjusted_rand_score(rng.permutation(channel), labels) for _ in range(999)])
    p99 = float(np.quantile(null, 0.99))
    print(f"wholesale k=2: ARI vs Channel = {ari:.4f} (99th percentile of 999 shuffles: {p99:.4f})")
    assert ari > p99
    assert seg.k_scores_["k"].tolist() == [2]
    assert all(choice.startswith("log1p") for choice in seg.scaler_.choices_.values())


# -- the guard ---------------------------------------------------------------------------
TINY = blobs([400, 300, 290, 10], [(0, 0), (10, 0), (0, 10), (13, 13)], seed=3)


def test_a_planted_tiny_segment_is_merged_into_the_nearest_with_the_reason():
    seg = KMeansSegmenter(k=4, stability_runs=4).fit(TINY)
    assert seg.k_ == 3
    message = next(w for w in seg.warnings_ if "merged" in w)
    assert "had 1.0 % of customers (below the 2 % minimum) and was merged into segment" in message
    assert message.startswith("Segment 4 of the 4 found")
    tiny = seg.labels_.iloc[-10:]
    assert tiny.nunique() == 1
    # the nearest big blob to (13, 13) is the one at (10, 0) or (0, 10): equal raw distance,
    # so the target is whichever centre is nearer on the scaled features; it must be named
    target = tiny.iloc[0]
    assert f"merged into segment {target}, the nearest." in message
    assert seg.labels_.iloc[:400].eq(seg.labels_.iloc[0]).all()
    assert target != seg.labels_.iloc[0]  # never the far blob at the origin
    assert seg.segmentation("guarded").warnings == seg.warnings_
    assert seg.predict(TINY).equals(seg.labels_)


def test_guard_flag_keeps_the_segment_and_off_is_silent():
    flagged = KMeansSegmenter(k=4, stability_runs=0, guard="flag").fit(TINY)
    assert flagged.k_ == 4
    assert any("kept (flagged only, not merged)" in w for w in flagged.warnings_)
    off = KMeansSegmenter(k=4, stability_runs=0, guard="off").fit(TINY)
    assert off.k_ == 4 and off.warnings_ == []


def test_the_rules_k_and_the_merge_after_it_are_kept_apart():
    seg = KMeansSegmenter(k=4, stability_runs=0).fit(TINY)
    assert (seg.k_chosen_, seg.k_) == (4, 3)
    details = seg.segmentation("guarded").details
    assert (details["k_chosen"], details["k"]) == (4, 3)
    assert guard_summary(seg.k_chosen_, details["guard"]) == (
        "k = 4 chosen; 1 small segment merged → 3 segments"
    )
    flagged = KMeansSegmenter(k=4, stability_runs=0, guard="flag").fit(TINY)
    assert guard_summary(flagged.k_chosen_, flagged.guard_report_) == (
        "k = 4 chosen; 1 small segment flagged and kept"
    )
    unstable = [{"action": "merged", "reasons": ["was unstable (bootstrap Jaccard 0.3)"]}] * 2
    assert guard_summary(5, unstable) == "k = 5 chosen; 2 unstable segments merged → 3 segments"
    assert guard_summary(5, []) == "k = 5 chosen"


def test_guard_merges_unstable_segments_and_never_leaves_one():
    centroids = np.array([[0.0, 0.0], [5.0, 0.0], [5.0, 1.0]])
    g = guard_segments(np.array([500, 300, 200]), centroids, np.array([0.95, 0.9, 0.3]))
    assert g.labels == ["1", "2", "2"]
    assert g.warnings == [
        "Segment 3 of the 3 found was unstable (bootstrap Jaccard similarity 0.30, below the "
        "0.5 minimum) and was merged into segment 2, the nearest."
    ]
    two = guard_segments(np.array([990, 10]), centroids[:2])
    assert two.labels == ["1", "2"]
    assert "merging would leave a single segment" in two.warnings[0]
    assert two.report[0]["action"] == "kept"


def test_per_cluster_jaccard_against_a_hand_count():
    ref = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    other = np.array([5, 5, 5, 2, 2, 2, 2, -1])
    # cluster 0 = {0,1,2,3}: best match {0,1,2} -> 3/4; cluster 1 = {4..7}: {3,4,5,6} -> 3/5
    assert jaccard_per_cluster(ref, other, 2).tolist() == [0.75, 0.6]


# -- scaling -----------------------------------------------------------------------------
def test_scaling_is_chosen_per_column_from_the_shape_of_the_data():
    rng = np.random.default_rng(5)
    n = 4000
    X = pd.DataFrame(
        {
            "revenue": rng.lognormal(4, 1.2, n),  # right-skewed, >= 0
            "age": rng.normal(45, 12, n),  # symmetric
            "balance": rng.standard_t(2, n) * 100,  # heavy tails on both sides
            "returns": np.where(rng.random(n) < 0.9, 0.0, rng.integers(1, 4, n)),  # IQR 0
            "country_code": np.full(n, 49.0),  # constant
        }
    )
    X.loc[:9, "age"] = np.nan
    s = Scaler().fit(X)
    assert s.choices_ == {
        "revenue": "log1p+robust",
        "age": "robust",
        "balance": "signed-log+robust",
        "returns": "log1p+std",
        "country_code": "dropped (constant)",
    }
    assert s.features_ == ["revenue", "age", "balance", "returns"]
    assert any("'country_code' is constant" in w for w in s.warnings_)
    assert any("'age' 10 (0.2 %" in w for w in s.warnings_)
    Z = s.transform(X)
    # independent recomputation of the log column and the imputed symmetric one
    c = np.median(X["revenue"])
    t = np.log1p(X["revenue"] / c)
    q25, q50, q75 = np.quantile(t, [0.25, 0.5, 0.75])
    assert np.allclose(Z["revenue"], (t - q50) / (q75 - q25))
    filled = X["age"].fillna(X["age"].median())
    iqr = filled.quantile(0.75) - filled.quantile(0.25)
    assert np.allclose(Z["age"], (filled - filled.median()) / iqr)
    assert Z["revenue"].median() == pytest.approx(0.0, abs=1e-12)
    back = s.inverse_transform(Z.to_numpy())
    assert np.allclose(back["revenue"], X["revenue"]) and np.allclose(back["balance"], X["balance"])


def test_scaler_to_ibis_equals_transform_in_duckdb():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(
        {"spend": rng.lognormal(3, 1, 500), "delta": rng.standard_t(2, 500), "x": rng.random(500)}
    )
    X.loc[3, "spend"] = np.nan
    s = Scaler().fit(X)
    con = ibis.duckdb.connect()
    out = con.execute(s.to_ibis(con.create_table("t", X.assign(i=range(500))))).sort_values("i")
    assert np.allclose(out[s.features_].to_numpy(), s.transform(X).to_numpy(), atol=1e-9)


# -- assignment in the engine ------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: KMeansSegmenter(k_range=(2, 5), stability_runs=2),
        lambda: GMMSegmenter(k_range=(2, 4), stability_runs=2),
        lambda: HDBSCANSegmenter(stability_runs=2),
    ],
    ids=["kmeans", "gmm", "hdbscan"],
)
def test_to_ibis_equals_predict_on_a_duckdb_table(make):
    X = blobs([300, 200, 150], [(0, 0, 0), (6, 6, 0), (0, 6, 6)], seed=7)
    X["spend"] = np.exp(X["x0"] / 2)  # a skewed column, so the log transform runs in SQL
    seg = make().fit(X)
    rng = np.random.default_rng(8)
    new = X.sample(200, random_state=1) + rng.normal(0, 1.5, (200, 4))
    new.iloc[:5, 1] = np.nan  # missing values are imputed in SQL too
    new = new.reset_index()
    con = ibis.duckdb.connect()
    table = con.create_table("features", new)
    in_sql = con.execute(seg.to_ibis(table)).set_index("customer_id")["segment"]
    in_python = seg.predict(new)
    assert in_sql.reindex(in_python.index).tolist() == in_python.tolist()
    assert set(in_python) <= set(seg.labels_) | {UNASSIGNED}


# -- the other methods -------------------------------------------------------------------
def test_gmm_adds_bic_to_the_curve_and_chooses_its_minimum():
    X = blobs([300, 250, 200], [(0, 0), (7, 0), (0, 7)], seed=2)
    seg = GMMSegmenter(k_range=(1, 6), stability_runs=2).fit(X)
    curve = seg.k_scores_
    assert "bic" in curve.columns and curve["k"].tolist() == list(range(1, 7))
    assert seg.k_ == int(curve.loc[curve["bic"].idxmin(), "k"]) == 3
    assert seg.weights_.sum() == pytest.approx(1.0)
    assert "lowest BIC" in seg.k_rule_


def test_hdbscan_leaves_noise_unassigned_and_counts_its_clusters():
    X = blobs([300, 300], [(0, 0), (10, 10)], scale=0.7, seed=4)
    rng = np.random.default_rng(4)
    noise = pd.DataFrame(rng.uniform(-6, 16, (40, 2)), columns=X.columns)
    noise.index = pd.Index([f"N{i}" for i in range(40)], name="customer_id")
    X = pd.concat([X, noise])
    seg = HDBSCANSegmenter(stability_runs=2).fit(X)
    assert seg.k_ == 2
    assert UNASSIGNED in set(seg.labels_)
    far = np.minimum(np.hypot(noise.x0, noise.x1), np.hypot(noise.x0 - 10, noise.x1 - 10)) > 8
    assert far.sum() >= 10
    assert (seg.labels_.loc[noise.index[far]] == UNASSIGNED).all()
    assert (seg.labels_.iloc[:600] != UNASSIGNED).mean() > 0.95
    assert seg.k_scores_["k"].tolist() == [2]
    assert 0 < seg.k_scores_["unassigned_share"].iloc[0] < 0.2
    assert set(seg.centers_.index) == {"1", "2"}


def test_large_data_is_searched_on_a_sample_and_fitted_once_with_mini_batch():
    X = blobs([1000, 1000, 1000], [(0, 0), (8, 0), (0, 8)], seed=9)
    seg = KMeansSegmenter(sample_size=400, mini_batch=True, stability_runs=2).fit(X)
    assert seg.sample_size_ == 400 and len(seg.labels_) == 3000
    assert seg.k_ == 3
    truth = np.repeat([0, 1, 2], 1000)
    assert adjusted_rand_score(truth, seg.labels_) > 0.99
    assert seg.predict(X).equals(seg.labels_)


def test_stability_is_high_for_clear_clusters_and_lower_for_noise():
    clear = KMeansSegmenter(k=3, stability_runs=5).fit(
        blobs([200, 200, 200], [(0, 0), (9, 0), (0, 9)], seed=1)
    )
    noise = KMeansSegmenter(k=3, stability_runs=5, guard="off").fit(
        blobs([600], [tuple([0.0] * 6)], seed=1)
    )
    assert clear.stability_ > 0.98
    assert noise.stability_ < clear.stability_ - 0.2


def test_silhouette_of_many_labelings_matches_scikit_learn():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(700, 4))
    Z[:300] += 2.5
    labelings = [rng.integers(0, k, 700) for k in (2, 3, 5)] + [np.repeat([0, 1], [300, 400])]
    mine = silhouettes(Z, labelings)
    theirs = [silhouette_score(Z, lab) for lab in labelings]
    assert np.allclose(mine, theirs, atol=1e-9)


# -- input errors and the result -----------------------------------------------------------
def test_text_columns_get_a_clear_error_naming_them(retail):
    X, _ = retail
    mixed = X.assign(city="Berlin", tier=pd.Categorical(["a"] * len(X)))
    with pytest.raises(ModelError) as err:
        KMeansSegmenter(k=3).fit(mixed)
    text = str(err.value)
    assert "'city', 'tier' are not numeric" in text
    assert "KPrototypesSegmenter" in text and "columns=" in text
    seg = KMeansSegmenter(k=3, stability_runs=0, columns=["orders", "revenue"]).fit(mixed)
    assert seg.features_ == ["orders", "revenue"]


def test_other_bad_inputs_say_what_was_found():
    X = blobs([20], [(0, 0)])
    with pytest.raises(ModelError, match="only 20 customers"):
        KMeansSegmenter(k=25).fit(X)
    with pytest.raises(ModelError, match="infinite values, found in column\\(s\\) 'x1'"):
        KMeansSegmenter(k=2).fit(X.assign(x1=np.inf))
    with pytest.raises(ModelError, match="expects a pandas DataFrame"):
        KMeansSegmenter(k=2).fit(X.to_numpy())
    with pytest.raises(ModelError, match="needs column\\(s\\) 'x1'"):
        KMeansSegmenter(k=2, stability_runs=0).fit(X).predict(X[["x0"]])


def test_segmentation_carries_curve_rule_stability_and_scaling(retail):
    X, _ = retail
    seg = KMeansSegmenter(k_range=(4, 6), stability_runs=2).fit(X)
    result = seg.segmentation("personas")
    assert isinstance(result, Segmentation)
    assert result.method == "kmeans" and result.name == "personas"
    assert result.labels.equals(seg.labels_)
    assert result.features == seg.features_
    d = result.details
    assert d["k"] == seg.k_ and d["k_rule"] == seg.k_rule_
    assert [row["k"] for row in d["k_scores"]] == [4, 5, 6]
    assert d["stability"] == seg.stability_
    assert d["scaling"]["revenue"] == "log1p+robust"
    assert d["sample_size"] == len(X) and d["customers"] == len(X)
    assert set(d["segment_stability"]) == set(seg.centers_.index)
