"""Profiles (M10) and key variables (M3), checked against independent computations."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import f_oneway

from segmint.datasets import make_retail
from segmint.exceptions import ModelError
from segmint.profile import Profiles, key_variables, profile
from segmint.profile._frame import prepare
from segmint.profile.stats import f_statistics, segment_stats
from segmint.segment.base import UNASSIGNED, Segmentation
from tests.conftest import shared_file

NUMERIC = [
    "recency_days",
    "frequency",
    "monetary_total",
    "tenure_days",
    "avg_order_value",
    "discount_share",
    "channel_share_app",
    "channel_share_store",
    "channel_share_web",
    "income",
    "children",
    "age",
]


def _retail_features(sample) -> pd.DataFrame:
    """Per-customer features computed with plain pandas (independent of segmint.features)."""
    o = sample.orders[sample.orders["status"] == "paid"]
    as_of = o["ordered_at"].max()
    g = o.groupby("customer_id")
    f = pd.DataFrame(
        {
            "recency_days": (as_of - g["ordered_at"].max()).dt.days,
            "frequency": g["order_id"].nunique(),
            "monetary_total": g["amount"].sum(),
            "tenure_days": (as_of - g["ordered_at"].min()).dt.days,
            "discount_share": (o["discount"] > 0).groupby(o["customer_id"]).mean(),
        }
    )
    f["avg_order_value"] = f["monetary_total"] / f["frequency"]
    orders = o.drop_duplicates("order_id")
    mix = pd.crosstab(orders["customer_id"], orders["channel"], normalize="index")
    for channel in mix.columns:
        f[f"channel_share_{channel}"] = mix[channel]
    people = sample.customers.set_index("customer_id")
    f = f.join(people[["income", "children", "urban_rural", "gender"]], how="left")
    born = pd.to_datetime(people["birth_date"]).reindex(f.index)
    f["age"] = ((as_of - born).dt.days / 365.25).round()
    return f


@pytest.fixture(scope="module")
def retail() -> tuple[pd.DataFrame, Segmentation]:
    sample = make_retail(2000, seed=3)
    features = _retail_features(sample)
    truth = sample.truth.set_index("customer_id")["persona"]
    return features, Segmentation("personas", "truth", truth.loc[features.index])


@pytest.fixture(scope="module")
def retail_profiles(retail) -> Profiles:
    features, seg = retail
    return profile(features, Segmentation(seg.name, seg.method, seg.labels))


# -- statistics ---------------------------------------------------------------------------------
def test_stats_match_an_independent_pandas_computation(retail, retail_profiles):
    features, seg = retail
    frame = features.assign(segment=seg.labels)
    g = frame.groupby("segment")
    total = features["monetary_total"].sum()
    assert retail_profiles.population["customers"] == len(features)
    assert retail_profiles.population["revenue"] == pytest.approx(total)
    assert [s.label for s in retail_profiles.segments] == list(
        g.size().sort_values(ascending=False, kind="stable").index
    )
    for sp in retail_profiles.segments:
        part = frame[frame["segment"] == sp.label]
        assert sp.size == len(part)
        assert sp.share == pytest.approx(len(part) / len(frame))
        assert sp.revenue == pytest.approx(part["monetary_total"].sum())
        assert sp.revenue_share == pytest.approx(part["monetary_total"].sum() / total)
        assert sp.avg_value == pytest.approx(part["monetary_total"].mean())
        for col in NUMERIC:
            assert sp.means[col] == pytest.approx(part[col].mean(), rel=1e-9), col
            assert sp.medians[col] == pytest.approx(part[col].median(), rel=1e-9), col
    assert sum(s.revenue_share for s in retail_profiles.segments) == pytest.approx(1.0)


def test_lift_is_the_standardized_difference_of_means(retail, retail_profiles):
    features, seg = retail
    for sp in retail_profiles.segments:
        part = features[seg.labels == sp.label]
        for col in NUMERIC:
            expected = (part[col].mean() - features[col].mean()) / features[col].std(ddof=1)
            assert sp.lift[col] == pytest.approx(expected, rel=1e-9, abs=1e-12), col
    for col in NUMERIC:
        assert retail_profiles.population["stds"][col] == pytest.approx(features[col].std())


def test_lift_handles_missing_values_and_constant_columns():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"spend": rng.gamma(2.0, 50.0, 300), "flat": np.full(300, 7.0)})
    X.loc[X.index[::7], "spend"] = np.nan
    y = pd.Series(np.where(np.arange(300) < 100, "A", "B"))
    st = segment_stats(prepare(X, y))
    part = X[y == "A"]["spend"]
    assert st.segments["A"]["means"]["spend"] == pytest.approx(part.mean())
    assert st.segments["A"]["medians"]["spend"] == pytest.approx(part.median())
    expected = (part.mean() - X["spend"].mean()) / X["spend"].std()
    assert st.segments["A"]["lift"]["spend"] == pytest.approx(expected)
    assert st.segments["A"]["lift"]["flat"] == 0.0


def test_segment_moments_with_gaps_match_pandas_per_segment():
    """Counts of known values, means, sample variances, medians and quartiles per segment,
    on features with gaps, an all-missing segment column and a constant, against pandas."""
    rng = np.random.default_rng(7)
    n = 3000
    X = pd.DataFrame(
        {
            "spend": rng.gamma(2.0, 50.0, n),
            "visits": rng.poisson(3.0, n).astype(float),
            "flat": np.full(n, 2.0),
            "sparse": rng.normal(size=n),
        }
    )
    X.loc[rng.random(n) < 0.2, "spend"] = np.nan
    y = pd.Series(rng.choice(list("ABCD"), size=n, p=[0.5, 0.3, 0.15, 0.05]))
    X.loc[(y == "D").to_numpy(), "sparse"] = np.nan  # no known value in segment D
    X.loc[X.index[(y == "C").to_numpy()][1:], "visits"] = np.nan  # one known value in C
    st = segment_stats(prepare(X, y), quartiles=["spend", "visits"])
    g = X.groupby(y)
    for i, label in enumerate(st.segments):
        part = g.get_group(label)
        assert list(st.counts[i]) == [int(part[c].notna().sum()) for c in st.numeric]
        for j, c in enumerate(st.numeric):
            known = part[c].dropna()
            want = [known.mean(), known.var(ddof=1), known.median()] if len(known) else [np.nan] * 3
            got = [st.means[i, j], st.variances[i, j], st.segments[label]["medians"][c]]
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12, nan_ok=True), (label, c)
        for c in ("spend", "visits"):
            known = part[c].dropna()
            want = tuple(known.quantile([0.25, 0.75])) if len(known) else (np.nan, np.nan)
            assert st.quartiles[label][c] == pytest.approx(want, rel=1e-12, nan_ok=True)


def test_f_statistic_equals_scipy_f_oneway():
    rng = np.random.default_rng(2)
    y = pd.Series(rng.choice(["a", "b", "c"], 500))
    X = pd.DataFrame(
        {
            "x": rng.normal(size=500) + (y == "b") * 0.8,
            "w": rng.exponential(size=500),
        }
    )
    X.loc[X.index[::11], "w"] = np.nan
    f = f_statistics(segment_stats(prepare(X, y)))
    for col in X.columns:
        groups = [X.loc[(y == g).to_numpy(), col].dropna() for g in ["a", "b", "c"]]
        assert f[col] == pytest.approx(f_oneway(*groups).statistic, rel=1e-9)


def test_over_represented_categories_against_crosstab():
    rng = np.random.default_rng(3)
    n = 1000
    y = pd.Series(np.where(np.arange(n) < 300, "app fans", "others"))
    channel = np.where(
        y == "app fans",
        rng.choice(["app", "web"], n, p=[0.8, 0.2]),
        rng.choice(["app", "web", "store"], n, p=[0.2, 0.5, 0.3]),
    )
    X = pd.DataFrame({"spend": rng.normal(size=n), "channel": channel, "vip": channel == "app"})
    st = segment_stats(prepare(X, y))
    found = {(d["column"], d["value"]): d for d in st.segments["app fans"]["over_represented"]}
    share = pd.crosstab(y, X["channel"], normalize="index")
    pop = X["channel"].value_counts(normalize=True)
    app = found[("channel", "app")]
    assert app["share"] == pytest.approx(share.loc["app fans", "app"])
    assert app["population_share"] == pytest.approx(pop["app"])
    assert app["lift"] == pytest.approx(share.loc["app fans", "app"] / pop["app"])
    assert ("vip", True) in found
    assert ("channel", "web") not in found  # under-represented
    others = {(d["column"], d["value"]) for d in st.segments["others"]["over_represented"]}
    assert ("channel", "store") in others and ("channel", "app") not in others


def test_without_value_column_revenue_is_zero_with_a_note():
    X = pd.DataFrame({"frequency": [1, 2, 3, 10, 11, 12]}, index=list("abcdef"))
    p = profile(X, Segmentation("s", "rules", pd.Series(list("LLLHHH"), index=X.index)))
    assert all(s.revenue == 0 and s.revenue_share == 0 and s.avg_value == 0 for s in p.segments)
    assert any("monetary_total" in note for note in p.notes)


# -- names ----------------------------------------------------------------------------------------
def test_names_are_unique_short_deterministic_and_reflect_the_personas(retail, retail_profiles):
    features, seg = retail
    names = {s.label: s.name for s in retail_profiles.segments}
    assert len(set(names.values())) == len(names)
    assert all(0 < len(n) <= 60 for n in names.values())
    again = profile(features, Segmentation(seg.name, seg.method, seg.labels))
    assert {s.label: s.name for s in again.segments} == names
    lower = {k: v.lower() for k, v in names.items()}
    assert re.search(r"frequent|spend", lower["Champions"])
    assert "deal" in lower["Bargain Hunters"]
    assert "lapsed" in lower["Lapsed"]
    assert re.search(r"app|new|aged 2", lower["Young Professionals"])
    assert re.search(r"store|children", lower["Families"])


def test_user_names_win_and_missing_names_are_filled_in(retail):
    features, seg = retail
    mine = Segmentation(seg.name, seg.method, seg.labels, names={"Champions": "Our VIPs"})
    p = profile(features, mine)
    assert p.segment("Champions").name == "Our VIPs"
    assert mine.names["Champions"] == "Our VIPs"
    assert set(mine.names) == set(seg.labels.unique())
    assert len({s.name for s in p.segments}) == len(p.segments)


def test_identical_segments_get_distinct_names():
    rng = np.random.default_rng(4)
    n = 400
    X = pd.DataFrame({"frequency": rng.poisson(3, n).astype(float), "spend": rng.normal(50, 5, n)})
    X.iloc[:100, 0] += 30  # one clearly frequent group, split in two identical halves
    labels = pd.Series(["a"] * 50 + ["b"] * 50 + ["c"] * 300, index=X.index)
    p = profile(X, Segmentation("twins", "test", labels))
    names = [s.name for s in p.segments]
    assert len(set(names)) == 3
    assert p.segment("a").name.startswith("Frequent") and p.segment("b").name.startswith("Frequent")


def test_unassigned_keeps_its_name():
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"frequency": rng.normal(size=300)})
    labels = pd.Series(np.where(np.arange(300) < 20, UNASSIGNED, "core"))
    p = profile(X, Segmentation("hdb", "hdbscan", labels))
    assert p.segment(UNASSIGNED).name == UNASSIGNED


# -- key variables --------------------------------------------------------------------------------
def test_key_variables_rank_the_separating_features_first_and_flag_useless_ones():
    rng = np.random.default_rng(6)
    n = 3000
    y = pd.Series(rng.choice(["a", "b", "c"], n))
    code = y.map({"a": 0, "b": 1, "c": 2}).to_numpy()
    noise = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "noise_a": noise,
            "constant": np.full(n, 3.0),
            "sep_one": code * 2.0 + rng.normal(size=n),
            "noise_b": rng.normal(size=n),
            "noise_a_copy": noise * 10 + 5 + rng.normal(scale=0.01, size=n),
            "sep_two": (code == 1) * 3.0 + rng.normal(size=n),
        }
    )
    kv = {k["feature"]: k for k in key_variables(X, y)}
    assert {f for f, k in kv.items() if k["rank"] <= 2} == {"sep_one", "sep_two"}
    assert kv["constant"]["flag"] == "constant" and kv["constant"]["rank"] == 6
    flagged = [f for f in ("noise_a", "noise_a_copy") if kv[f]["flag"]]
    assert len(flagged) == 1
    other = ({"noise_a", "noise_a_copy"} - set(flagged)).pop()
    assert kv[flagged[0]]["flag"].startswith(f"redundant with {other} (r = 1.00")
    assert kv["sep_one"]["flag"] is None and kv["sep_two"]["flag"] is None
    groups = [X.loc[(y == g).to_numpy(), "sep_one"] for g in "abc"]
    assert kv["sep_one"]["f_stat"] == pytest.approx(f_oneway(*groups).statistic)
    assert all(0.0 <= k["importance"] <= 1.0 for k in kv.values())


def test_key_variables_on_real_wholesale_channels():
    """UCI Wholesale: Retail clients buy far more Detergents_Paper and Grocery than Horeca."""
    df = pd.read_csv(shared_file("uci_wholesale_customers", "Wholesale customers data.csv"))
    labels = df["Channel"].map({1: "Horeca", 2: "Retail"})
    X = df.drop(columns=["Channel"]).assign(Region=df["Region"].astype(str))
    kv = key_variables(X, labels)
    spend = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    scipy_f = {
        c: f_oneway(*[X.loc[labels == g, c] for g in ("Horeca", "Retail")]).statistic for c in spend
    }
    assert {k["feature"]: k["f_stat"] for k in kv} == pytest.approx(scipy_f)
    top_f = sorted(scipy_f, key=scipy_f.get, reverse=True)[:2]
    assert {k["feature"] for k in kv[:2]} == set(top_f) == {"Detergents_Paper", "Grocery"}
    p = profile(X, Segmentation("channel", "known", labels), value="Grocery")
    assert p.fidelity >= 0.9
    retail = p.segment("Retail")
    assert max(retail.lift, key=retail.lift.get) in {"Detergents_Paper", "Grocery"}
    assert retail.revenue_share > 0.5  # 142 of 440 clients, most of the grocery spend


# -- explanation rules and reasons --------------------------------------------------------------
def _rule_data(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "recency_days": rng.integers(0, 400, n),
            "frequency": rng.integers(1, 40, n),
            "monetary_total": rng.gamma(2.0, 200.0, n).round(2),
            "discount_share": rng.random(n),
        },
        index=pd.Index([f"C{i:06d}" for i in range(n)], name="customer_id"),
    )
    labels = np.select(
        [
            (X["recency_days"] <= 30) & (X["frequency"] > 12),
            X["recency_days"] > 200,
        ],
        ["Loyal", "Lapsed"],
        default="Regular",
    )
    return X, pd.Series(labels, index=X.index)


def test_surrogate_rules_reproduce_rule_generated_labels():
    X, labels = _rule_data(6000, seed=7)
    p = profile(X, Segmentation("rules", "rules", labels))
    assert p.fidelity >= 0.95
    best = p.segment("Loyal").rules[0]
    assert best["precision"] >= 0.95 and best["recall"] >= 0.95
    assert set(best["rule"].split(" and ")) == {"recency_days <= 30", "frequency > 12"}
    assert p.segment("Lapsed").rules[0]["rule"] == "recency_days > 200"
    for seg in p.segments:  # reported numbers are those of the rule as written
        for r in seg.rules:
            hit = X.query(r["rule"]).index
            assert r["support"] == len(hit)
            assert r["precision"] == pytest.approx((labels[hit] == seg.label).mean())
            assert r["recall"] == pytest.approx(
                (labels[hit] == seg.label).sum() / (labels == seg.label).sum()
            )


def test_rules_are_valid_rule_language_and_match_what_they_report():
    from segmint.segment.rules import RulesSegmenter

    df = pd.read_csv(shared_file("uci_wholesale_customers", "Wholesale customers data.csv"))
    labels = df["Channel"].map({1: "Horeca", 2: "Retail"})
    X = df.drop(columns=["Channel", "Region"]).rename(columns={"Fresh": "Fresh Food"})
    X["Fresh Food"] = X["Fresh Food"] / 7.0  # continuous values: thresholds get decimals
    p = profile(X, Segmentation("channel", "known", labels), max_depth=4)
    found = [(f"{s.label} {i}", r) for s in p.segments for i, r in enumerate(s.rules)]
    assert found
    seg = RulesSegmenter([(name, r["rule"]) for name, r in found], mode="overlapping").fit(X)
    for name, r in found:
        assert int(seg.matches_[name].sum()) == r["support"], r["rule"]


def test_small_segments_are_still_explained_when_the_tree_is_fitted_on_a_sample():
    X, labels = _rule_data(80_000, seed=8)
    vip = X.index[:40]
    X.loc[vip, "monetary_total"] = 50_000.0
    labels = labels.copy()
    labels[vip] = "VIP"
    p = profile(X, Segmentation("rules", "rules", labels), examples=2)
    assert p.segment("VIP").rules, "the 40 VIPs should get a leaf of their own"
    assert p.segment("VIP").rules[0]["recall"] == 1.0
    assert len(p.segment("VIP").examples) == 2


def test_reasons_point_at_the_planted_feature():
    rng = np.random.default_rng(9)
    n = 2000
    X = pd.DataFrame(
        {
            "frequency": rng.poisson(4, n).astype(float),
            "tenure_days": rng.normal(500, 100, n),
            "discount_share": rng.random(n),
        },
        index=[f"C{i}" for i in range(n)],
    )
    heavy = X.index[:300]
    X.loc[heavy, "frequency"] += 25
    labels = pd.Series("rest", index=X.index)
    labels[heavy] = "heavy"
    p = profile(X, Segmentation("planted", "test", labels))
    r = p.reasons.set_index("customer_id")
    assert list(p.reasons.columns) == ["customer_id", "segment", "reason_1", "reason_2", "reason_3"]
    first = r.loc[heavy, "reason_1"].astype(str)
    assert first.str.startswith("frequency ").all()
    assert first.str.endswith("sd above average").all()
    cid = heavy[0]
    z = (X.loc[cid, "frequency"] - X["frequency"].mean()) / X["frequency"].std()
    assert r.loc[cid, "reason_1"] == (
        f"frequency {int(X.loc[cid, 'frequency'])}, {abs(z):.1f} sd above average"
    )
    assert r.loc[heavy, "reason_2"].isna().all()  # only frequency characterizes "heavy"
    assert p.segment("heavy").examples[0]["reasons"][0].startswith("frequency ")
    assert p.key_variables[0]["feature"] == "frequency"


# -- output shape and bad input ---------------------------------------------------------------
def test_to_dict_is_json_ready_at_full_precision(retail_profiles):
    d = retail_profiles.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "reason_1" not in text
    assert set(d) >= {"segmentation", "method", "population", "segments", "key_variables"}
    seg = d["segments"][0]
    assert set(seg) >= {"label", "name", "size", "share", "lift", "rules", "examples"}

    def floats(x):
        if isinstance(x, float):
            yield x
        elif isinstance(x, dict):
            for v in x.values():
                yield from floats(v)
        elif isinstance(x, list):
            for v in x:
                yield from floats(v)

    # full precision: the stored revenue is the exact sum, not one cut to 4 significant digits
    for seg_dict, seg_obj in zip(d["segments"], retail_profiles.segments, strict=True):
        assert seg_dict["revenue"] == float(seg_obj.revenue)
        assert seg_dict["avg_value"] == float(seg_obj.avg_value)
    assert any(f != float(f"{f:.4g}") for f in floats(d))
    p = retail_profiles.segments[0]
    p.means["nan_feature"] = math.nan
    assert p.to_dict()["means"]["nan_feature"] is None
    del p.means["nan_feature"]


def test_bad_input_says_what_and_how_to_fix():
    X = pd.DataFrame({"frequency": [1, 2, 3]}, index=list("abc"))
    seg = Segmentation("s", "rules", pd.Series(list("xyx"), index=X.index))
    with pytest.raises(ModelError, match=r"must be an int ≥ 1\. Got 0"):
        profile(X, seg, max_depth=0)
    with pytest.raises(ModelError, match="needs a Segmentation"):
        profile(X, seg.labels)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="share no customer_id"):
        profile(X.set_axis(list("pqr")), seg)
    with pytest.raises(ModelError, match="at least one numeric feature"):
        profile(pd.DataFrame({"city": ["A", "B", "C"]}, index=list("abc")), seg)
    partial = Segmentation("s", "rules", pd.Series(list("xyxy"), index=list("abcd")))
    assert any("1 labeled customers" in n for n in profile(X, partial).notes)


def test_surrogate_predictions_and_constants_match_the_imputed_matrix(retail):
    """predict_all and the constant check never build the imputed matrix, but agree with it."""
    from segmint.profile.explain import fit_surrogate, predict_all
    from segmint.profile.keyvars import _constant

    features, seg = retail
    gappy = features["monetary_total"].where(np.arange(len(features)) % 7 != 0)
    X = features.assign(
        empty=np.nan, one=1.0, gappy=gappy, spiky=features["income"].replace(np.nan, np.inf)
    )
    P = prepare(X, seg.labels)
    assert np.isnan(P.M).any()
    surrogate = fit_surrogate(P, max_depth=5)
    full = P.imputed()
    assert np.array_equal(predict_all(surrogate.tree, P), surrogate.tree.predict(full))
    assert np.array_equal(_constant(P), full.max(axis=0) == full.min(axis=0))
    assert _constant(P)[P.numeric.index("one")]
    assert "empty" not in P.numeric  # no value at all: nothing to profile


def test_a_column_without_any_value_is_not_profiled(retail):
    """A feature the source never had (all missing) gets no mean, lift or heat-map row."""
    features, seg = retail
    X = features.assign(annual_revenue=np.nan, segment_note=None)
    prof = profile(X, Segmentation(seg.name, seg.method, seg.labels))
    for s in prof.segments:
        assert "annual_revenue" not in s.means and "annual_revenue" not in s.lift
    assert "annual_revenue" not in prof.population["means"]
    assert all(k["feature"] != "segment_note" for k in prof.to_dict()["key_variables"])


def test_names_read_labels_not_column_names():
    """'low interpurchase std days' and 'high mens' leaked column names into segment names."""
    from segmint.profile._types import SegmentProfile
    from segmint.profile.naming import name_segments

    gaps = SegmentProfile(
        "1",
        "",
        10,
        0.5,
        lift={"interpurchase_std_days": -0.9},
        means={"interpurchase_std_days": 3.0},
    )
    shop = SegmentProfile(
        "2",
        "",
        10,
        0.3,
        lift={"mens": 1.1, "womens": -0.8},
        means={"mens": 1.0, "womens": 0.05},
        medians={"mens": 1.0, "womens": 0.0},
    )
    paper = SegmentProfile(
        "3", "", 10, 0.2, lift={"detergents_paper": 0.7}, means={"detergents_paper": 4000.0}
    )
    names = name_segments([gaps, shop, paper])
    assert names["1"] == "Customers with low variation in days between orders"
    assert names["2"] == "Mostly Mens customers, with few Womens"
    assert names["3"] == "Customers with high Detergents paper"


def test_typical_customers_are_the_nearest_to_their_segment_centre(retail, retail_profiles):
    """Each segment's examples are its customers nearest (Euclidean, in z-scores over the
    features the segment stands out on) to the segment's mean there, nearest first."""
    from segmint.profile.reasons import MIN_LIFT

    X, seg = retail
    pop = retail_profiles.population
    cols = [c for c in pop["means"] if pop["stds"][c] > 0]
    z = (X[cols] - pd.Series(pop["means"])[cols]) / pd.Series(pop["stds"])[cols]
    for sp in retail_profiles.segments:
        use = [c for c in cols if abs(sp.lift[c]) >= MIN_LIFT] or cols
        part = z.loc[seg.labels == sp.label, use].fillna(0.0)
        dist = np.sqrt(((part - part.mean()) ** 2).sum(axis=1))
        ids = [e["customer_id"] for e in sp.examples]
        assert len(ids) == min(5, len(part))
        got = dist.loc[ids].to_numpy()
        assert np.all(np.diff(got) >= -1e-6 * max(1.0, got.max()))  # nearest first (float32 z)
        assert got == pytest.approx(np.sort(dist.to_numpy())[: len(ids)], rel=1e-6, abs=1e-9)


def test_typical_reasons_only_equal_the_full_computation(retail, retail_profiles):
    """What a run keeps (every_reason=False): the same typical customers with the same
    reasons, the same profile otherwise; nobody else gets a reason."""
    X, seg = retail
    lean = profile(X, seg, every_reason=False)
    assert lean.to_dict() == retail_profiles.to_dict()
    typical = {e["customer_id"] for s in lean.segments for e in s.examples}
    cols = ["reason_1", "reason_2", "reason_3"]
    full = retail_profiles.reasons.set_index("customer_id")[cols]
    mine = lean.reasons.set_index("customer_id")[cols]
    assert len(typical) > 0
    picked = mine.index.isin(list(typical))
    pd.testing.assert_frame_equal(
        mine[picked].astype(object), full[picked].astype(object), check_categorical=False
    )
    assert mine[~picked].isna().all().all()
