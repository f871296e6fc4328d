"""k-prototypes (M6): recovery of planted mixed clusters, robust init at any k, the cost
definition checked by independent computations (pandas and the ``kmodes`` package), predict,
in-engine assignment on DuckDB, and clear errors."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from segmint.exceptions import ModelError, NotFittedError
from segmint.segment.base import UNASSIGNED, Segmentation
from segmint.segment.cluster._lloyd import _repair
from segmint.segment.cluster.kprototypes import KPrototypesSegmenter, _Data, _silhouettes
from tests.conftest import shared_file

NUM = [f"x{j}" for j in range(5)]
CAT = ["channel", "region", "tier"]
UNITS = np.array([1.0, 100.0, 0.01, 10.0, 1000.0])  # very different units: scaling matters
OFFSETS = np.array([0.0, 500.0, 1.0, -40.0, 20_000.0])


def make_mixed(
    sizes: list[int], seed: int = 0, p_dom: float = 0.8, min_gap: float = 8.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Planted clusters in 5 numeric + 3 categorical columns, separated in both parts.

    Numeric centres lie ≥ ``min_gap`` apart (unit noise) before the columns are put in very
    different units; every cluster has its own dominant category in each categorical column
    (a random permutation per column), taken with probability ``p_dom``, else uniform.
    """
    rng = np.random.default_rng(seed)
    k = len(sizes)
    centers: list[np.ndarray] = []
    while len(centers) < k:
        c = rng.uniform(-12, 12, 5)
        if all(np.linalg.norm(c - o) >= min_gap for o in centers):
            centers.append(c)
    truth = rng.permutation(np.repeat(np.arange(k), sizes))
    n = len(truth)
    num = (np.array(centers)[truth] + rng.normal(size=(n, 5))) * UNITS + OFFSETS
    X = pd.DataFrame(num, columns=NUM)
    for name in CAT:
        dominant = rng.permutation(k)
        level = np.where(rng.random(n) < p_dom, dominant[truth], rng.integers(k, size=n))
        X[name] = np.array([f"{name}-{v}" for v in range(k)], dtype=object)[level]
    X.index = pd.Index([f"cust{i:05d}" for i in range(n)], name="customer_id")
    return X, truth


def reference_cost(X: pd.DataFrame, labels: pd.Series, gamma: float) -> float:
    """The documented cost, computed independently with pandas from the labels alone:
    squared distances of standardized numeric values to their cluster means + γ × the
    number of values that differ from their cluster's most frequent category."""
    num = X[NUM]
    z = (num - num.mean()) / num.std(ddof=0)
    means = z.groupby(labels.to_numpy()).mean()
    cost = float(((z.to_numpy() - means.loc[labels.to_numpy()].to_numpy()) ** 2).sum())
    for c in CAT:
        top = X[c].groupby(labels.to_numpy()).agg(lambda s: s.value_counts().iloc[0])
        cost += gamma * float(len(X) - top.sum())
    return cost


def reference_predict(model: KPrototypesSegmenter, X_train: pd.DataFrame, X: pd.DataFrame):
    """Nearest prototype from the public ``centers_``, written independently (an unseen or
    missing category simply differs from every mode)."""
    mean, std = X_train[NUM].mean(), X_train[NUM].std(ddof=0)
    z = ((X[NUM] - mean) / std).to_numpy()
    zc = ((model.centers_[NUM] - mean) / std).to_numpy()
    d = ((z[:, None, :] - zc[None, :, :]) ** 2).sum(axis=2)
    modes = model.centers_[CAT].to_numpy()
    d += model.gamma_ * (X[CAT].to_numpy()[:, None, :] != modes[None, :, :]).sum(axis=2)
    return pd.Series(model.centers_.index[d.argmin(axis=1)], index=X.index)


@pytest.fixture(scope="module")
def three() -> tuple[pd.DataFrame, np.ndarray]:
    return make_mixed([300, 200, 100], seed=1)


@pytest.fixture(scope="module")
def fitted3(three) -> KPrototypesSegmenter:
    return KPrototypesSegmenter(k=3).fit(three[0])


# -- recovery and robust initialization ---------------------------------------------------------
@pytest.mark.parametrize("k", [3, 12])
def test_recovers_planted_clusters(k):
    sizes = [300, 200, 100] if k == 3 else [90 + 10 * i for i in range(12)]
    X, truth = make_mixed(sizes, seed=k)
    model = KPrototypesSegmenter(k=k).fit(X)
    assert adjusted_rand_score(truth, model.labels_) >= 0.9
    assert model.k_ == k and model.n_iter_ >= 1
    sizes_found = model.labels_.value_counts()
    assert list(sizes_found.index) == [str(i) for i in range(1, k + 1)]  # "1" is the largest
    assert sizes_found.is_monotonic_decreasing
    assert list(model.centers_.columns) == NUM + CAT
    assert model.numeric_ == NUM and model.categorical_ == CAT  # text columns found by type


@pytest.mark.parametrize(("planted", "k"), [(12, 12), (12, 20), (20, 20)])
def test_initialization_never_fails_at_large_k(planted, k):
    X, _ = make_mixed([60] * planted, seed=planted + k, p_dom=0.6, min_gap=4.0)
    model = KPrototypesSegmenter(k=k, n_init=2).fit(X)
    assert model.labels_.nunique() == k  # k non-empty segments
    prototypes = model.centers_.astype(str).agg("|".join, axis=1)
    assert prototypes.nunique() == k  # k distinct prototypes


def test_deterministic_by_seed(three):
    X, _ = three
    a = KPrototypesSegmenter(k=4, random_state=7).fit(X)
    b = KPrototypesSegmenter(k=4, random_state=7).fit(X)
    pd.testing.assert_series_equal(a.labels_, b.labels_)
    pd.testing.assert_frame_equal(a.centers_, b.centers_)
    assert a.cost_ == b.cost_ and a.n_iter_ == b.n_iter_


def test_empty_cluster_is_reseeded_at_the_farthest_point(three):
    X, truth = three
    # start with two prototypes on the two largest clusters and one far outside the data:
    # the far one gets no customer in the first assignment and must be reseeded
    start = X[NUM].groupby(truth).mean().join(X[CAT].groupby(truth).agg(lambda s: s.mode()[0]))
    start.iloc[2, :5] = 1e6
    start.iloc[2, 5:] = "never-seen"
    model = KPrototypesSegmenter(k=3, init=start).fit(X)
    assert model.labels_.nunique() == 3
    assert adjusted_rand_score(truth, model.labels_) >= 0.9

    labels = np.array([0, 0, 0, 1, 2])  # cluster 3 is empty
    nearest = np.array([0.5, 9.0, 1.0, 0.2, 7.0])  # row 4 is farthest but alone in cluster 2
    _repair(labels, nearest, k=4)
    assert labels.tolist() == [0, 3, 0, 1, 2]  # the farthest row of a shared cluster moves


# -- the cost and the prototypes, checked independently ---------------------------------------
def test_cost_matches_independent_computation(three, fitted3):
    X, _ = three
    assert fitted3.gamma_ == pytest.approx(0.5)  # Huang's default after standardization
    expected = reference_cost(X, fitted3.labels_, fitted3.gamma_)
    assert fitted3.cost_ == pytest.approx(expected, rel=1e-9)
    # numeric centres in original units are the cluster means; categorical ones are modes
    means = X[NUM].groupby(fitted3.labels_).mean()
    pd.testing.assert_frame_equal(fitted3.centers_[NUM], means, check_names=False, rtol=1e-9)
    for c in CAT:
        counts = X[c].groupby(fitted3.labels_).value_counts().unstack(fill_value=0)
        chosen = counts.to_numpy()[np.arange(3), counts.columns.get_indexer(fitted3.centers_[c])]
        assert (chosen == counts.max(axis=1).to_numpy()).all()


def test_cost_and_labels_agree_with_kmodes_package(three, fitted3):
    kp = pytest.importorskip("kmodes.kprototypes")
    from kmodes.util.dissim import euclidean_dissim, matching_dissim

    X, _ = three
    num = X[NUM]
    z = ((num - num.mean()) / num.std(ddof=0)).to_numpy()
    cats = [sorted(X[c].unique()) for c in CAT]
    xcat = np.column_stack([pd.Index(v).get_indexer(X[c]) for v, c in zip(cats, CAT, strict=True)])
    cz = ((fitted3.centers_[NUM] - num.mean()) / num.std(ddof=0)).to_numpy()
    ccat = np.column_stack(
        [pd.Index(v).get_indexer(fitted3.centers_[c]) for v, c in zip(cats, CAT, strict=True)]
    )
    labels, cost = kp.labels_cost(
        z, xcat, [cz, ccat], euclidean_dissim, matching_dissim, fitted3.gamma_
    )
    assert cost == pytest.approx(fitted3.cost_, rel=1e-9)
    assert (fitted3.centers_.index[labels.astype(int)] == fitted3.labels_.to_numpy()).all()


def test_gamma_weighs_the_categorical_part(three):
    X, _ = three
    model = KPrototypesSegmenter(k=3, gamma=2.0).fit(X)
    assert model.gamma_ == 2.0
    assert model.cost_ == pytest.approx(reference_cost(X, model.labels_, 2.0), rel=1e-9)


# -- predict and in-engine assignment ------------------------------------------------------------
def test_predict_unseen_rows_and_unseen_categories():
    X, truth = make_mixed([400, 300, 200], seed=5)
    train, test = X.iloc[:600], X.iloc[600:].copy()
    model = KPrototypesSegmenter(k=3).fit(train)
    pd.testing.assert_series_equal(model.predict(train), model.labels_)
    assert adjusted_rand_score(truth[600:], model.predict(test)) >= 0.9
    rng = np.random.default_rng(0)
    for c in CAT:  # a third of every categorical column becomes a category never seen in fit
        test.loc[rng.random(len(test)) < 0.33, c] = f"{c}-new"
    got = model.predict(test)
    pd.testing.assert_series_equal(got, reference_predict(model, train, test), check_names=False)
    assert adjusted_rand_score(truth[600:], got) >= 0.9


def test_unseen_category_counts_as_a_mismatch(fitted3):
    m = fitted3
    row = m.centers_.iloc[[0]].copy()  # exactly prototype "1"
    assert m.predict(row).tolist() == ["1"]
    # put the numeric part just past the midpoint towards prototype "2", so that numerically
    # it is γ/2 closer to "2": with the categories of "1" (at least one differs from "2") the
    # row stays "1"; with every category unseen both prototypes get 3 mismatches and "2" wins
    c1, c2 = m.centers_.loc[["1"], NUM].to_numpy(), m.centers_.loc[["2"], NUM].to_numpy()
    gap = float((((c2 - c1) / m.scale_) ** 2).sum())
    t = 0.5 + m.gamma_ / (4 * gap)
    row[NUM] = c1 + t * (c2 - c1)
    d1, d2 = (float((((row[NUM].to_numpy() - c) / m.scale_) ** 2).sum()) for c in (c1, c2))
    assert d1 - d2 == pytest.approx(m.gamma_ / 2)
    assert (m.centers_.loc["1", CAT] != m.centers_.loc["2", CAT]).any()
    assert m.predict(row).tolist() == ["1"]
    row[CAT] = "never-seen"
    assert m.predict(row).tolist() == ["2"]


def test_to_ibis_equals_predict_on_duckdb():
    X, _ = make_mixed([300, 200, 150, 100], seed=9)
    X.loc[X.index[::7], "channel"] = None  # missing categories, a category of their own
    model = KPrototypesSegmenter(k=4).fit(X.iloc[:600])
    test = X.iloc[600:].copy()
    test.loc[test.index[::5], "region"] = "region-unseen"
    con = ibis.duckdb.connect()
    table = con.create_table("features", test.reset_index())
    assigned = model.to_ibis(table)
    assert assigned.columns == (*table.columns, "segment")
    got = assigned.to_pandas().set_index("customer_id")["segment"]
    expected = model.predict(test)
    assert got.loc[expected.index].tolist() == expected.tolist()
    assert "CASE" in ibis.to_sql(model.to_ibis(table, column="seg")).upper()


def test_missing_numeric_values_are_unassigned_in_predict_and_sql(fitted3, three):
    X, _ = three
    rows = X.iloc[:3].copy()
    rows.iloc[1, 2] = np.nan
    expected = [fitted3.labels_.iloc[0], UNASSIGNED, fitted3.labels_.iloc[2]]
    assert fitted3.predict(rows).tolist() == expected
    table = ibis.memtable(rows.reset_index())
    out = ibis.duckdb.connect().execute(fitted3.to_ibis(table))
    assert out["segment"].tolist() == expected


# -- missing values, types, automatic k, larger data ---------------------------------------------
def test_missing_categories_form_their_own_category():
    X, truth = make_mixed([200, 200, 200], seed=3)
    X.loc[truth == 2, "tier"] = None  # cluster 2 has no tier at all
    model = KPrototypesSegmenter(k=3).fit(X)
    missing_mode = model.centers_["tier"].isna()
    assert missing_mode.sum() == 1
    label = model.centers_.index[missing_mode][0]
    assert (model.labels_[truth == 2] == label).mean() > 0.95
    row = model.centers_.loc[[label]].copy()
    assert model.predict(row).tolist() == [label]
    assert model.cost_ == pytest.approx(
        reference_cost(X.fillna({"tier": "<missing>"}), model.labels_, model.gamma_), rel=1e-9
    )


def test_missing_numeric_values_are_a_clear_error(three, fitted3):
    X = three[0].copy()
    X.iloc[[3, 8], 1] = np.nan
    with pytest.raises(ModelError, match=r"missing or infinite.*'x1': 2") as err:
        KPrototypesSegmenter(k=3).fit(X)
    assert "impute" in err.value.fix
    X.iloc[5, 0] = np.inf
    with pytest.raises(ModelError, match=r"infinite values \(per column: \{'x0': 1\}\)"):
        fitted3.predict(X.iloc[:10])


def test_booleans_and_category_dtype_are_categorical_by_default(three):
    X = three[0].copy()
    X["vip"] = X["x0"] > X["x0"].median()
    X["tier"] = X["tier"].astype("category")
    model = KPrototypesSegmenter(k=3).fit(X)
    assert model.categorical_ == ["channel", "region", "tier", "vip"]
    assert model.centers_["vip"].isin([True, False]).all()
    explicit = KPrototypesSegmenter(k=3, categorical=[*CAT, "vip"]).fit(X)
    pd.testing.assert_series_equal(model.labels_, explicit.labels_)


def test_automatic_k_by_silhouette(three):
    X, truth = three
    model = KPrototypesSegmenter(k="auto", k_range=(2, 6)).fit(X)
    scores = model.k_scores_
    assert list(scores.index) == [2, 3, 4, 5, 6]
    assert model.k_ == 3 == scores["silhouette"].idxmax()
    assert scores["cost"].is_monotonic_decreasing  # the elbow curve for the report
    assert adjusted_rand_score(truth, model.labels_) >= 0.9
    seg = model.segmentation("mixed")
    assert seg.details["k_rule"].startswith("highest mean silhouette")
    assert [r["k"] for r in seg.details["k_scores"]] == [2, 3, 4, 5, 6]


def test_silhouette_matches_scikit_learn(three, fitted3):
    X, _ = three
    rows = np.arange(0, 600, 2)
    z = ((X[NUM] - X[NUM].mean()) / X[NUM].std(ddof=0)).to_numpy()[rows]
    cats = X[CAT].to_numpy()[rows]
    g = fitted3.gamma_
    dist = np.sqrt(
        ((z[:, None] - z[None]) ** 2).sum(axis=2) + g * (cats[:, None] != cats[None]).sum(axis=2)
    )
    codes = np.column_stack([pd.factorize(X[c])[0] for c in CAT])[rows].astype(np.int32)
    data = _Data(np.ascontiguousarray(z), codes, [3, 3, 3])
    lab3 = fitted3.labels_.to_numpy().astype(int)[rows] - 1
    lab5 = np.arange(len(rows)) % 5
    got = _silhouettes(data, g, {3: lab3, 5: lab5})
    expected = [silhouette_score(dist, lab, metric="precomputed") for lab in (lab3, lab5)]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_sampled_fit_refined_on_all_rows_matches_full_fit():
    X, truth = make_mixed([900, 600, 300], seed=2)
    full = KPrototypesSegmenter(k=3, sample_size=None).fit(X)
    sampled = KPrototypesSegmenter(k=3, sample_size=200).fit(X)
    assert adjusted_rand_score(truth, sampled.labels_) >= 0.9
    assert sampled.cost_ <= full.cost_ * 1.001
    assert sampled.cost_ == pytest.approx(reference_cost(X, sampled.labels_, 0.5), rel=1e-9)
    auto = KPrototypesSegmenter(k="auto", k_range=(2, 5), sample_size=300).fit(X)
    assert auto.k_ == 3 and len(auto.labels_) == len(X)


# -- the estimator contract and the segmentation -------------------------------------------------
def test_estimator_contract_and_segmentation(three, fitted3):
    X, _ = three
    model = KPrototypesSegmenter(k=3, n_init=2)
    assert model.get_params()["n_init"] == 2 and "k=3" in repr(model)
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert model.fit(X) is model
    seg = fitted3.segmentation("mixed")
    assert isinstance(seg, Segmentation) and seg.method == "kprototypes"
    assert seg.segments == ["1", "2", "3"] and seg.features == NUM + CAT
    assert seg.details["cost"] == fitted3.cost_ and seg.details["gamma"] == fitted3.gamma_
    assert len(seg.details["centers"]) == 3
    assert fitted3.k_scores_ is None
    with_id = X.reset_index()  # a customer_id column becomes the index
    pd.testing.assert_series_equal(fitted3.predict(with_id), fitted3.labels_)


# -- bad input ------------------------------------------------------------------------------------
def test_k_larger_than_distinct_rows():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0] * 4, "c": ["a", "b", "c"] * 4})
    with pytest.raises(ModelError, match=r"only 3 distinct row\(s\) among 12") as err:
        KPrototypesSegmenter(k=5).fit(X)
    assert "k ≤ 3" in err.value.fix
    # a sample with too few distinct rows falls back to all rows
    Y = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 10, "c": list("abcd") * 10})
    model = KPrototypesSegmenter(k=4, sample_size=2).fit(Y)
    assert model.labels_.nunique() == 4 and model.cost_ == pytest.approx(0.0, abs=1e-12)


def test_numeric_only_features_point_to_kmeans():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]})
    with pytest.raises(ModelError, match="none of the columns") as err:
        KPrototypesSegmenter(k=2).fit(X)
    assert "KMeansSegmenter" in err.value.fix


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 1}, r"'k' parameter of KPrototypesSegmenter must be an int ≥ 2 or 'auto'. Got 1"),
        ({"k": "many"}, r"'k' parameter .* Got 'many'"),
        ({"gamma": 0}, r"'gamma' parameter .* > 0 or None. Got 0"),
        ({"gamma": float("nan")}, r"'gamma' parameter"),
        ({"n_init": 0}, r"'n_init' parameter .* ≥ 1. Got 0"),
        ({"init": "kmeans++"}, r"'init' parameter .* one of 'robust', 'random'"),
        ({"k_range": (1, 5)}, r"'k_range' parameter"),
        ({"categorical": "channel"}, r"'categorical' parameter .* list of column names"),
        ({"categorical": ["channel", "nope"]}, r"categorical column\(s\) \['nope'\]"),
        ({"categorical": ["channel"]}, r"\['region', 'tier'\] are not numeric"),
        ({"init": pd.DataFrame({"x0": [1.0]})}, r"one row per segment .* Got 1 row"),
        ({"k": "auto", "k_range": (2, 700)}, r"'k_range' .* below the number of customers"),
    ],
)
def test_bad_parameters(three, params, message):
    with pytest.raises(ModelError, match=message):
        KPrototypesSegmenter(**{"k": 3, **params}).fit(three[0])


def test_predict_needs_the_fitted_columns(fitted3, three):
    with pytest.raises(ModelError, match=r"\['tier'\] are missing"):
        fitted3.predict(three[0].drop(columns="tier"))
    with pytest.raises(ModelError, match="expects a pandas DataFrame"):
        KPrototypesSegmenter(k=2).fit(np.zeros((3, 2)))  # type: ignore[arg-type]


# -- real data --------------------------------------------------------------------------------------
def test_real_hillstrom_customers():
    """64,000 real customers: 2 numeric + 5 categorical attributes (0/1 flags as booleans)."""
    raw = pd.read_csv(shared_file("hillstrom_email_2008", "hillstrom.csv"))
    X = raw[["recency", "history", "zip_code", "channel"]].copy()
    for flag in ("mens", "womens", "newbie"):
        X[flag] = raw[flag].astype(bool)
    X.index = pd.Index([f"h{i}" for i in range(len(X))], name="customer_id")
    model = KPrototypesSegmenter(k=5).fit(X)  # sampled runs, refined on all rows
    assert model.numeric_ == ["recency", "history"]
    assert model.labels_.nunique() == 5 and model.labels_.value_counts().min() > 1000
    num = X[["recency", "history"]]
    z = (num - num.mean()) / num.std(ddof=0)
    cost = float(((z - z.groupby(model.labels_).transform("mean")) ** 2).to_numpy().sum())
    for c in model.categorical_:
        top = X[c].groupby(model.labels_).agg(lambda s: s.value_counts().iloc[0])
        cost += model.gamma_ * (len(X) - top.sum())
    assert model.cost_ == pytest.approx(cost, rel=1e-9)
    head = X.iloc[:5000]
    con = ibis.duckdb.connect()
    table = con.create_table("h", head.reset_index())
    sql = model.to_ibis(table).to_pandas().set_index("customer_id")["segment"]
    assert sql.loc[head.index].tolist() == model.predict(head).tolist()
    assert (model.predict(head) == model.labels_.iloc[:5000]).mean() > 0.999
