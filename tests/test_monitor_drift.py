"""Feature drift: each statistic against an independent computation (scipy, statsmodels and a
hand-written PSI) on seeded samples, Evidently's choice of test on both sides of 1,000 baseline
rows, thresholds on both sides, and real snapshots of two identical runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance
from statsmodels.stats.proportion import proportions_ztest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.monitor.drift import FeatureDrift, drift_table, feature_drift, snapshot_drift


def normal(n: int, shift: float = 0.0, seed: int = 0) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).normal(10 + shift, 2, n))


def choice(values: list, n: int, p: list[float], seed: int = 0) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).choice(values, n, p=p))


def hand_psi(base: list[float], cur: list[float]) -> float:
    """PSI written out: Σ (c − b) · ln(c / b), an empty share counted as 0.0001."""
    total = 0.0
    for b, c in zip(base, cur, strict=True):
        b, c = b or 0.0001, c or 0.0001
        total += (c - b) * math.log(c / b)
    return total


# ------------------------------------------------------------------ small baseline: tests


def test_ks_on_a_small_numeric_sample_is_scipys():
    base, cur = normal(400, seed=1), normal(300, 0.5, seed=2)
    r = feature_drift("spend", base, cur)
    ks = stats.ks_2samp(base, cur)
    assert (r.kind, r.method, r.threshold) == ("numeric", "ks", 0.05)
    assert r.statistic == pytest.approx(ks.statistic, rel=1e-9)
    assert r.p_value == pytest.approx(ks.pvalue, rel=1e-6)
    assert r.drifted and r.p_value < 0.001
    assert (r.n_baseline, r.n_current) == (400, 300)


def test_ks_verdict_is_p_at_or_below_005_on_both_sides():
    verdicts = set()
    for i, shift in enumerate([0.0, 0.1, 0.2, 0.3, 0.4, 0.6]):
        base, cur = normal(300, seed=10 + i), normal(300, shift, seed=20 + i)
        r = feature_drift("x", base, cur)
        p = stats.ks_2samp(base, cur).pvalue
        assert r.drifted == (p <= 0.05)
        verdicts.add(r.drifted)
    assert verdicts == {True, False}


def test_chisquare_on_a_small_categorical_sample_is_scipys_goodness_of_fit():
    base = choice(["a", "b", "c"], 600, [0.5, 0.3, 0.2], seed=1)
    cur = choice(["a", "b", "c"], 400, [0.4, 0.3, 0.3], seed=2)
    r = feature_drift("channel", base, cur)
    expected = base.value_counts(normalize=True)[["a", "b", "c"]] * len(cur)
    observed = cur.value_counts()[["a", "b", "c"]]
    want = stats.chisquare(observed, expected)
    assert (r.kind, r.method) == ("categorical", "chisquare")
    assert r.statistic == pytest.approx(want.statistic, rel=1e-9)
    assert r.p_value == pytest.approx(want.pvalue, rel=1e-6)
    assert r.drifted == (want.pvalue < 0.05)


def test_chisquare_verdict_on_both_sides():
    verdicts = set()
    for i, moved in enumerate([0.0, 0.02, 0.05, 0.1, 0.2]):
        base = choice(["a", "b", "c"], 500, [0.4, 0.3, 0.3], seed=30 + i)
        cur = choice(["a", "b", "c"], 500, [0.4 - moved, 0.3, 0.3 + moved], seed=40 + i)
        r = feature_drift("x", base, cur)
        assert r.drifted == (r.p_value is not None and r.p_value < 0.05)
        verdicts.add(r.drifted)
    assert verdicts == {True, False}


def test_binary_categorical_gets_the_two_proportion_z_test():
    base = choice(["no", "yes"], 800, [0.7, 0.3], seed=1)
    cur = choice(["no", "yes"], 500, [0.6, 0.4], seed=2)
    r = feature_drift("opted_in", base, cur)
    z, p = proportions_ztest([(base == "yes").sum(), (cur == "yes").sum()], [800, 500])
    assert (r.kind, r.method) == ("categorical", "z")
    assert abs(r.statistic) == pytest.approx(abs(z), rel=1e-9)
    assert r.p_value == pytest.approx(p, rel=1e-6)
    assert r.drifted == (p < 0.05)
    assert feature_drift("opted_in", base, base.copy()).p_value == pytest.approx(1.0)


def test_booleans_and_small_integers_are_categorical_as_in_evidently():
    flags = choice([True, False], 300, [0.5, 0.5])
    assert feature_drift("flag", flags, flags).kind == "categorical"
    stars = choice([1, 2, 3, 4, 5], 300, [0.2] * 5)
    assert (feature_drift("stars", stars, stars).kind, stars.dtype.kind) == ("categorical", "i")
    counts = pd.Series(np.arange(300) % 7)
    assert feature_drift("orders", counts, counts).kind == "numeric"
    # a float with at most five values stays numeric but is tested as categories
    few = pd.Series([0.0, 0.5, 1.0] * 100)
    r = feature_drift("share", few, few)
    assert (r.kind, r.method) == ("numeric", "chisquare")
    assert feature_drift("share", few, few, kind="categorical").kind == "categorical"


# ------------------------------------------------------------------ large baseline: distances


def test_normed_wasserstein_on_a_large_numeric_sample_is_scipys():
    base, cur = normal(5000, seed=1), normal(3000, 0.3, seed=2)
    r = feature_drift("spend", base, cur)
    want = stats.wasserstein_distance(base, cur) / np.std(base)
    assert (r.kind, r.method, r.threshold, r.p_value) == ("numeric", "wasserstein", 0.1, None)
    assert r.statistic == pytest.approx(want, rel=1e-9)
    assert r.drifted and r.statistic == pytest.approx(0.15, abs=0.05)


def test_wasserstein_verdict_is_at_or_above_01_on_both_sides():
    verdicts = set()
    for i, shift in enumerate([0.0, 0.1, 0.15, 0.3, 0.5]):
        base, cur = normal(2000, seed=50 + i), normal(2000, shift, seed=60 + i)
        r = feature_drift("x", base, cur)
        assert r.drifted == (stats.wasserstein_distance(base, cur) / np.std(base) >= 0.1)
        verdicts.add(r.drifted)
    assert verdicts == {True, False}


def test_jensen_shannon_on_a_large_categorical_sample_is_scipys():
    base = choice(["a", "b", "c", "d"], 4000, [0.4, 0.3, 0.2, 0.1], seed=1)
    cur = choice(["a", "b", "c", "d"], 2000, [0.25, 0.25, 0.25, 0.25], seed=2)
    r = feature_drift("region", base, cur)
    keys = ["a", "b", "c", "d"]
    want = distance.jensenshannon(
        base.value_counts(normalize=True)[keys], cur.value_counts(normalize=True)[keys]
    )
    assert (r.kind, r.method, r.threshold, r.p_value) == ("categorical", "jensenshannon", 0.1, None)
    assert r.statistic == pytest.approx(want, rel=1e-9)
    assert r.drifted and want >= 0.1


def test_jensen_shannon_verdict_on_both_sides():
    verdicts = set()
    for i, moved in enumerate([0.0, 0.05, 0.1, 0.2, 0.3]):
        base = choice(["a", "b"], 3000, [0.5, 0.5], seed=70 + i)
        cur = choice(["a", "b"], 3000, [0.5 - moved, 0.5 + moved], seed=80 + i)
        r = feature_drift("x", base, cur)
        shares = [base.value_counts(normalize=True), cur.value_counts(normalize=True)]
        want = distance.jensenshannon(*(s.reindex(["a", "b"], fill_value=0) for s in shares))
        assert r.method == "jensenshannon"
        assert r.drifted == (want >= 0.1)
        verdicts.add(r.drifted)
    assert verdicts == {True, False}


@pytest.mark.parametrize(
    ("sample", "small", "large"),
    [
        (lambda n: normal(n), "ks", "wasserstein"),
        (lambda n: choice(["a", "b", "c"], n, [0.5, 0.3, 0.2]), "chisquare", "jensenshannon"),
        (lambda n: choice(["a", "b"], n, [0.5, 0.5]), "z", "jensenshannon"),
    ],
)
def test_the_test_switches_above_1000_baseline_values(sample, small, large):
    cur = sample(500)
    assert feature_drift("x", sample(1000), cur).method == small
    assert feature_drift("x", sample(1001), cur).method == large
    # the count is of values, after missing ones are dropped
    padded = pd.concat([sample(1000), pd.Series([None])], ignore_index=True)
    assert feature_drift("x", padded, cur).method == small


# ------------------------------------------------------------------ PSI and its bins


def test_psi_numeric_uses_the_baselines_deciles():
    base, cur = normal(2000, seed=3), normal(1500, 0.8, seed=4)
    r = feature_drift("spend", base, cur)
    edges = [float(np.quantile(base, q / 10)) for q in range(1, 10)]
    lows, highs = [-math.inf, *edges], [*edges, math.inf]
    base_shares = [
        sum(lo < x <= hi for x in base) / len(base) for lo, hi in zip(lows, highs, strict=True)
    ]
    cur_shares = [
        sum(lo < x <= hi for x in cur) / len(cur) for lo, hi in zip(lows, highs, strict=True)
    ]
    assert [b["low"] for b in r.bins] == pytest.approx(lows)
    assert [b["high"] for b in r.bins] == pytest.approx(highs)
    assert [b["baseline_share"] for b in r.bins] == pytest.approx(base_shares)
    assert [b["current_share"] for b in r.bins] == pytest.approx(cur_shares)
    assert all(b == pytest.approx(0.1, abs=0.001) for b in base_shares)
    assert r.psi == pytest.approx(hand_psi(base_shares, cur_shares), rel=1e-9)
    assert r.psi > 0.1  # a 0.4-sd shift: past the usual 0.1 "watch" mark


def test_psi_of_a_new_category_counts_the_empty_baseline_share_as_epsilon():
    base = choice(["a", "b"], 2000, [0.6, 0.4], seed=5)
    cur = pd.concat([choice(["a", "b"], 900, [0.6, 0.4], seed=6), pd.Series(["new"] * 100)])
    r = feature_drift("plan", base, cur)
    shares = {b["value"]: (b["baseline_share"], b["current_share"]) for b in r.bins}
    assert set(shares) == {"a", "b", "new"}
    assert shares["new"] == (0.0, pytest.approx(0.1))
    assert r.psi == pytest.approx(hand_psi(*zip(*shares.values(), strict=True)), rel=1e-9)
    assert r.method == "jensenshannon" and r.statistic > 0
    # on a small baseline the new category has an expected count of 0: chi-square p = 0
    small = feature_drift("plan", base[:500], cur)
    assert (small.method, small.p_value, small.drifted) == ("chisquare", 0.0, True)
    assert json.dumps(small.to_dict(), allow_nan=False)


# ------------------------------------------------------------------ missing and degenerate


def test_missing_values_are_dropped_and_counted():
    base, cur = normal(700, seed=7), normal(600, 0.2, seed=8)
    holes_b = base.copy()
    holes_b[::7] = np.nan
    holes_c = pd.concat([cur, pd.Series([np.nan, np.inf, -np.inf])], ignore_index=True)
    r = feature_drift("x", holes_b, holes_c)
    clean = feature_drift("x", holes_b.dropna(), cur)
    assert (r.missing_baseline, r.missing_current) == (100, 3)
    assert (r.n_baseline, r.n_current) == (600, 600)
    assert (r.statistic, r.p_value, r.psi) == (clean.statistic, clean.p_value, clean.psi)
    cats = pd.Series(["a", None, "b", "a", np.nan] * 50)
    r = feature_drift("c", cats, cats)
    assert (r.n_baseline, r.missing_baseline, r.drifted) == (150, 100, False)


def test_empty_or_all_missing_columns_are_a_coded_result():
    for base, cur, side in [
        (pd.Series([None] * 10, dtype=object), pd.Series(["a"] * 5), "baseline"),
        (normal(50), pd.Series([np.nan] * 5), "current"),
        (pd.Series([], dtype=float), pd.Series([], dtype=float), "either"),
    ]:
        r = feature_drift("x", base, cur)
        assert (r.method, r.drifted, r.bins) == ("none", False, [])
        assert side in (r.reason or "")
        d = r.to_dict()
        assert d["statistic"] is None and d["psi"] is None
        json.dumps(d, allow_nan=False)


def test_constant_columns():
    same = pd.Series([3.0] * 300)
    r = feature_drift("x", same, same)
    assert (r.method, r.p_value, r.drifted, r.psi) == ("z", 1.0, False, 0.0)
    big = pd.Series([3.0] * 1500)
    r = feature_drift("x", big, big)
    assert (r.method, r.statistic, r.drifted) == ("jensenshannon", 0.0, False)
    # normed Wasserstein on a constant baseline: the std is floored at 0.001, as Evidently does
    spread = normal(800, seed=9)
    r = feature_drift("x", big, spread)
    assert r.method == "wasserstein" and r.drifted
    assert r.statistic == pytest.approx(stats.wasserstein_distance(big, spread) / 0.001)
    assert [b["baseline_share"] for b in r.bins] == [1.0, 0.0]  # one edge: (-inf, 3], (3, inf)


def test_dates_are_not_tested_as_in_evidently():
    days = pd.Series(pd.date_range("2024-01-01", periods=100))
    r = feature_drift("first_order_at", days, days + pd.Timedelta(days=90))
    assert (r.kind, r.method, r.drifted) == ("datetime", "none", False)


def test_a_wrong_kind_is_a_user_error():
    words = pd.Series(["a", "b"] * 10)
    with pytest.raises(segmint.SegmintError, match="numeric"):
        feature_drift("x", words, words, kind="numeric")
    with pytest.raises(segmint.SegmintError, match="kind"):
        feature_drift("x", words, words, kind="ordinal")


# ------------------------------------------------------------------ the table


def mixed_frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "spend": rng.gamma(2, 50 * (1 + shift), n),
            "orders": rng.poisson(3, n),
            "region": rng.choice(["n", "s", "e", "w"], n),
            "vip": rng.random(n) < 0.1,
        }
    )


@pytest.mark.parametrize("n", [600, 3000])
def test_identical_samples_drift_nowhere_and_a_shifted_one_is_flagged_first(n):
    base = mixed_frame(n, seed=1)
    table = drift_table(base, base.copy())
    assert {r.feature for r in table} == {"spend", "orders", "region", "vip"}
    assert not any(r.drifted for r in table) and all(r.psi == 0 for r in table)
    moved = drift_table(base, mixed_frame(n, seed=2, shift=0.5))
    assert moved[0].feature == "spend" and moved[0].drifted
    assert not any(r.drifted for r in moved[1:])
    assert moved == sorted(moved, key=lambda r: (not r.drifted, -r.severity))


def test_table_order_and_features_on_one_side_only():
    base = mixed_frame(500, seed=1).assign(old=1.0)
    cur = mixed_frame(500, seed=2, shift=1.0).assign(vip=lambda d: d["vip"] | (d.index < 200))
    table = drift_table(base, cur)
    drifted = [r.feature for r in table if r.drifted]
    assert drifted[:2] in (["spend", "vip"], ["vip", "spend"])
    assert table[-1].feature == "old" and table[-1].reason == "not in the current sample"
    assert [r.feature for r in drift_table(base, cur, features=["region"])] == ["region"]
    with pytest.raises(segmint.SegmintError, match="'nope'"):
        drift_table(base, cur, features=["nope"])


def test_to_dict_is_json_with_the_issue_fields():
    r = feature_drift("spend", normal(200), normal(200, 1.0, seed=3))
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    for key in ["feature", "kind", "method", "statistic", "threshold", "p_value", "drifted"]:
        assert key in d
    assert {"n_baseline", "n_current", "psi", "bins"} <= set(d)
    assert d["bins"][0]["low"] is None and d["bins"][-1]["high"] is None
    assert isinstance(r, FeatureDrift) and d["drifted"] is True


# ------------------------------------------------------------------ real snapshots


def test_two_runs_on_the_same_shop_drift_nowhere(tmp_path):
    files = segmint.datasets.make_retail(300, seed=4).to_files(tmp_path / "shop", format="csv")
    spec = tmp_path / "spec.yaml"
    spec.write_text("segmentations:\n  - name: rfm\n    method: rfm\n")  # one quick method
    ws_path, cli = tmp_path / "w.duckdb", CliRunner()
    for out in ("r1", "r2"):
        args = ["run", str(files["orders"]), "--spec", str(spec), "-w", str(ws_path)]
        args += ["--out", str(tmp_path / out)]
        result = cli.invoke(app, args)
        assert result.exit_code == 0, result.output
    ws = segmint.Workspace(ws_path)
    try:
        first, second = [r["run_id"] for r in ws.runs() if r["kind"] == "segment"][-2:]
        table = snapshot_drift(ws.store, first, second)
        tested = [r for r in table if r.method != "none"]
        assert len(tested) >= 10 and {"recency_days", "frequency"} <= {r.feature for r in tested}
        assert not any(r.drifted for r in table)
        assert all(r.psi == 0 for r in tested)
        with pytest.raises(segmint.SegmintError, match="no feature snapshot") as error:
            snapshot_drift(ws.store, "0001-ingest", second)
        assert "baseline" in (error.value.where or "")
    finally:
        ws.close()
