"""RFM scores and segments against an independent pandas computation on real data (M7)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

import segmint
from segmint.datasets import make_retail
from segmint.exceptions import ModelError, NotFittedError
from segmint.segment.rfm import DEFAULT_SEGMENT_MAP, NO_PURCHASE, OTHER, RFMSegmenter
from tests.conftest import shared_file

# The documented default map (docs/rfm.md) as a grid: R → names for FM = 1..5.
GRID = {
    5: ["New", "Potential Loyalist", "Potential Loyalist", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalist", "Loyal", "Champions", "Champions"],
    3: ["About to Sleep", "Need Attention", "Need Attention", "Loyal", "Loyal"],
    2: ["About to Sleep", "Hibernating", "At Risk", "At Risk", "Can't Lose"],
    1: ["Lost", "Hibernating", "At Risk", "Can't Lose", "Can't Lose"],
}


def expected_rfm(features: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """The documented rule, written independently: pandas' min-rank counts the values below."""
    out = pd.DataFrame(index=features.index)
    buyers = features[features.frequency > 0]
    n = len(buyers)
    for letter, col, sign in (("r", "recency_days", -1), ("f", "frequency", 1),
                              ("m", "monetary_total", 1)):  # fmt: skip
        worse = (sign * buyers[col].astype(float)).rank(method="min").astype(int) - 1
        out[letter] = (1 + (bins * worse) // n).reindex(out.index).fillna(0).astype(int)
    fm = [math.ceil((f + m) / 2) for f, m in zip(out.f, out.m, strict=True)]
    out["segment"] = [
        GRID[r][k - 1] if r > 0 else NO_PURCHASE for r, k in zip(out.r, fm, strict=True)
    ]
    return out


@pytest.fixture(scope="module")
def retail_features(tmp_path_factory) -> pd.DataFrame:
    ws = segmint.Workspace(tmp_path_factory.mktemp("uci") / "w.duckdb")
    ws.ingest(shared_file("uci_online_retail_head", "Online Retail.xlsx"))
    f = ws.features().to_pandas().set_index("customer_id")
    ws.close()
    return f


@pytest.fixture(scope="module")
def cdnow_features(tmp_path_factory) -> pd.DataFrame:
    ws = segmint.Workspace(tmp_path_factory.mktemp("cdnow") / "w.duckdb")
    ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
    f = ws.features().to_pandas().set_index("customer_id")
    ws.close()
    return f


@pytest.mark.parametrize("dataset", ["retail", "cdnow"])
def test_scores_and_segments_match_pandas_on_real_data(dataset, retail_features, cdnow_features):
    feats = retail_features if dataset == "retail" else cdnow_features
    model = RFMSegmenter().fit(feats)
    exp = expected_rfm(feats)
    assert list(model.scores_.index) == list(exp.index)
    for letter in "rfm":
        np.testing.assert_array_equal(model.scores_[letter].to_numpy(), exp[letter].to_numpy())
    assert (model.labels_ == exp.segment).all()
    # the data are non-trivial: several segments, every score level of R and M is used
    assert model.labels_.nunique() >= 7
    assert set(model.scores_.r[model.scores_.r > 0]) == {1, 2, 3, 4, 5}
    assert set(model.scores_.m[model.scores_.m > 0]) == {1, 2, 3, 4, 5}
    # equal values share a score
    for letter, col in (("r", "recency_days"), ("f", "frequency"), ("m", "monetary_total")):
        scored = model.scores_[letter] > 0
        assert (model.scores_[scored].groupby(feats.loc[scored, col])[letter].nunique() == 1).all()
    # predicting the training customers with the fitted cut points gives the same labels
    assert (model.predict(feats) == model.labels_).all()


def test_real_data_edge_facts(retail_features, cdnow_features):
    # Online Retail: customers with only cancellations have frequency 0 → "No purchase"
    retail = RFMSegmenter().fit(retail_features)
    none = retail_features.frequency == 0
    assert none.sum() > 0
    assert (retail.labels_[none] == NO_PURCHASE).all()
    assert (retail.scores_.loc[none, "rfm"] == "000").all()
    # CDNOW: half the customers bought once; they all get F = 1 and F = 2 is never used
    cd = RFMSegmenter().fit(cdnow_features)
    once = cdnow_features.frequency == 1
    assert once.mean() > 0.5 and (cd.scores_.f[once] == 1).all()
    assert 2 not in set(cd.scores_.f)


def test_generated_personas_land_in_the_expected_scores(tmp_path):
    sample = make_retail(600, seed=1)
    paths = sample.to_files(tmp_path / "shop", format="csv")
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(paths["orders"])
    feats = ws.features().to_pandas().set_index("customer_id")
    ws.close()
    model = RFMSegmenter().fit(feats)
    persona = sample.truth.set_index("customer_id").persona.reindex(feats.index)
    s = model.scores_
    assert (s.fm[persona == "Champions"] >= 4).mean() >= 0.95
    assert (s.r[persona == "Lapsed"] <= 2).mean() >= 0.95
    assert (model.labels_ == expected_rfm(feats).segment).all()


def test_default_map_is_the_documented_grid():
    for r, names in GRID.items():
        for fm, name in enumerate(names, start=1):
            hits = [n for p, n in DEFAULT_SEGMENT_MAP.items() if re.fullmatch(p, f"{r}{fm}")]
            assert hits[:1] == [name], (r, fm, hits)
            assert len(hits) == 1, (r, fm, hits)
    assert len(set(DEFAULT_SEGMENT_MAP.values())) == 11


def frame(recency, frequency, monetary) -> pd.DataFrame:
    idx = pd.Index([f"c{i}" for i in range(len(recency))], name="customer_id")
    return pd.DataFrame(
        {"recency_days": recency, "frequency": frequency, "monetary_total": monetary}, index=idx
    )


def test_all_equal_column_scores_one_and_warns():
    X = frame([1, 2, 3, 4, 5, 6], [1] * 6, [10.0, 20, 30, 40, 50, 60])
    model = RFMSegmenter().fit(X)
    assert (model.scores_.f == 1).all()
    assert model.scores_.r.tolist() == [5, 4, 3, 2, 1, 1]  # 1 + floor(5 × worse / 6)
    assert any("same frequency" in w for w in model.warnings_)
    assert model.segmentation("rfm").warnings == model.warnings_


def test_two_distinct_values_never_split():
    X = frame(list(range(10)), [1] * 7 + [2] * 3, [5.0] * 10)
    model = RFMSegmenter().fit(X)
    assert model.scores_.f.tolist() == [1] * 7 + [4] * 3  # 1 + floor(5 × 7 / 10) = 4
    assert (model.scores_.m == 1).all()
    assert model.thresholds_["f"][:3] == [2.0, 2.0, 2.0]
    assert math.isnan(model.thresholds_["f"][3])  # nobody reaches F = 5


def test_fewer_customers_than_bins():
    model = RFMSegmenter().fit(frame([3, 1, 2], [1, 3, 2], [5.0, 7.0, 6.0]))
    # worse counts 0, 1, 2 of n = 3 → 1, 1 + floor(5/3), 1 + floor(10/3)
    assert model.scores_.r.tolist() == [1, 4, 2]
    assert model.scores_.f.tolist() == [1, 4, 2]
    assert any("cannot be reached" in w for w in model.warnings_)
    one = RFMSegmenter().fit(frame([0], [1], [5.0]))
    assert one.scores_.rfm.tolist() == ["111"] and one.labels_.tolist() == ["Lost"]


def test_predict_uses_fitted_cut_points():
    X = frame(
        [0, 10, 20, 30, 40, 50, 60, 70, 80, 90],
        list(range(10, 0, -1)),
        [float(v) for v in range(100, 0, -10)],
    )
    model = RFMSegmenter().fit(X)
    new = frame([0, 15, 1000, np.nan], [50, 9, 1, 0], [1e6, 95.0, -5.0, 0.0])
    s = model.score(new)
    assert s.r.tolist() == [5, 4, 1, 0]  # 15 days scores like 20 (the training value above)
    assert s.f.tolist() == [5, 5, 1, 0]
    assert s.m.tolist() == [5, 5, 1, 0]
    assert model.predict(new).tolist() == ["Champions", "Champions", "Lost", NO_PURCHASE]
    with pytest.raises(NotFittedError):
        RFMSegmenter().predict(X)


def test_customer_id_column_and_segmentation():
    X = frame([1, 50, 300], [5, 2, 1], [500.0, 60.0, 10.0]).reset_index()
    model = RFMSegmenter().fit(X)
    seg = model.segmentation("rfm")
    assert seg.method == "rfm" and seg.name == "rfm"
    assert list(seg.labels.index) == ["c0", "c1", "c2"]
    assert seg.features == ["recency_days", "frequency", "monetary_total"]
    assert sum(r["matched"] for r in seg.details["rules"]) == 3
    assert seg.details["rules"][0]["rule"].endswith("(55, 54, 45, 44)")


def test_custom_map_first_match_and_other():
    X = frame([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [50.0, 40, 30, 20, 10])
    model = RFMSegmenter(segment_map={"5.": "Recent", "[45].": "Fairly recent", ".*": "Rest"}).fit(
        X
    )
    assert model.labels_.tolist() == ["Recent", "Fairly recent", "Rest", "Rest", "Rest"]
    gappy = RFMSegmenter(segment_map={"5.": "Recent"}).fit(X)
    assert gappy.labels_.tolist() == ["Recent"] + [OTHER] * 4
    assert any("match no pattern" in w for w in gappy.warnings_)
    three = RFMSegmenter(bins=3, segment_map={"3.": "Top", ".*": "Rest"}).fit(X)
    assert three.scores_.r.tolist() == [3, 2, 2, 1, 1]  # 1 + floor(3 × worse / 5)


@pytest.mark.parametrize(
    ("kwargs", "X", "needle"),
    [
        ({"bins": 1}, None, "must be an int from 2 to 9. Got 1."),
        ({"bins": True}, None, "Got True"),
        ({"bins": 4}, None, "written for bins=5"),
        ({"segment_map": {"[45": "x"}}, None, "not a valid regular expression"),
        ({"segment_map": {}}, None, "non-empty dict"),
        ({"monetary": "spend"}, None, "needs the columns 'spend'"),
        ({}, frame([1, np.nan], [1, 2], [5.0, 6.0]), "1 customers with purchases have no"),
        ({}, frame([np.nan, np.nan], [0, 0], [0.0, 0.0]), "all 2 have frequency 0"),
        ({}, frame([1, 2], [1, 2], ["a", "b"]), "must be numeric"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, X, needle):
    X = frame([1, 2, 3], [1, 2, 3], [1.0, 2.0, 3.0]) if X is None else X
    model = RFMSegmenter(**kwargs)
    assert model.get_params() | kwargs == model.get_params()  # stored unchanged
    with pytest.raises(ModelError, match=re.escape(needle)) as info:
        model.fit(X)
    assert info.value.fix
