"""Survey factors and needs segments (issue 16): survey matrix (wide and long), Cronbach's alpha
against an independent formula, parallel analysis, factor recovery on a simulated 3-factor
structure, the iris golden case against scikit-learn, the NeedsSegmenter, and the planted needs
groups of the sample shop recovered through ``segmint run`` with ``method: needs``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.datasets import load_iris
from sklearn.decomposition import FactorAnalysis
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.exceptions import InputError, ModelError
from segmint.feedback.survey import (
    FactorSolution,
    cronbach_alpha,
    fit_factors,
    parallel_analysis,
    survey_matrix,
)
from segmint.segment.needs import NO_ANSWERS, NeedsSegmenter

runner = CliRunner()


def align(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """``got``'s columns reordered and sign-flipped to match ``want``'s (factor analysis
    identifies factors only up to order and sign)."""
    sim = np.abs(got.T @ want)
    rows, cols = linear_sum_assignment(-sim)
    out = np.empty_like(want)
    for r, c in zip(rows, cols, strict=True):
        out[:, c] = got[:, r] * np.sign(got[:, r] @ want[:, c])
    return out


# -- the survey matrix ---------------------------------------------------------------------
def test_wide_and_long_layouts_give_the_same_matrix_with_repeats_averaged():
    wide = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", None],
            "rating": [5.0, 4.0, 3.0, 1.0, 2.0],  # a star rating, not an item
            "q_price": [2, 4, 5, None, 1],
            "q_eco": [1, 1, None, None, 3],
        }
    )
    got = survey_matrix(wide)
    assert list(got.columns) == ["q_price", "q_eco"]
    assert got.index.tolist() == ["a", "b"]  # c answered nothing; no id is no respondent
    assert got.loc["a", "q_price"] == 3.0 and got.loc["a", "q_eco"] == 1.0
    assert np.isnan(got.loc["b", "q_eco"])
    long = wide.melt(
        id_vars=["customer_id"], value_vars=["q_price", "q_eco"], var_name="question"
    ).rename(columns={"value": "answer"})
    pd.testing.assert_frame_equal(
        survey_matrix(long)[got.columns].sort_index(), got, check_names=False
    )


def test_a_matrix_without_customer_id_is_a_user_error():
    with pytest.raises(InputError) as err:
        survey_matrix(pd.DataFrame({"q1": [1, 2]}))
    assert err.value.fix


# -- Cronbach's alpha ----------------------------------------------------------------------
def alpha_from_covariances(X: np.ndarray) -> float:
    """The covariance form: k·c̄ / (v̄ + (k − 1)·c̄) with c̄ the mean inter-item covariance and
    v̄ the mean item variance (an independent route to the same number)."""
    C = np.cov(X, rowvar=False)
    k = C.shape[0]
    v = np.trace(C) / k
    c = (C.sum() - np.trace(C)) / (k * (k - 1))
    return float(k * c / (v + (k - 1) * c))


def test_cronbach_alpha_equals_the_covariance_formula():
    rng = np.random.default_rng(3)
    for k, noise in ((3, 0.5), (5, 1.0), (8, 2.0)):
        X = rng.normal(size=(200, 1)) + rng.normal(0, noise, size=(200, k))
        assert cronbach_alpha(X) == pytest.approx(alpha_from_covariances(X), abs=1e-9)
    # the example in cronbach_alpha's docstring
    small = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 3, 3, 5], "c": [1, 3, 2, 4]})
    assert cronbach_alpha(small) == pytest.approx(alpha_from_covariances(small.to_numpy()))


def test_cronbach_alpha_limits():
    x = np.arange(10.0)
    assert cronbach_alpha(np.c_[x, x, x]) == pytest.approx(1.0)
    assert np.isnan(cronbach_alpha(np.c_[x]))  # one item: no alpha
    rng = np.random.default_rng(0)
    assert abs(cronbach_alpha(rng.normal(size=(5000, 4)))) < 0.05  # unrelated items


# -- factor analysis -----------------------------------------------------------------------
#: the planted structure: 12 items, 4 per factor, loadings 0.6-0.8 on their own factor only
TRUE_LOADINGS = np.kron(np.eye(3), np.array([[0.8], [0.7], [0.6], [0.75]]))


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 1500
    F = rng.normal(size=(n, 3))
    unique = np.sqrt(1 - (TRUE_LOADINGS**2).sum(axis=1))
    X = F @ TRUE_LOADINGS.T + rng.normal(size=(n, 12)) * unique
    return pd.DataFrame(X * 1.3 + 3, columns=[f"q{i:02d}" for i in range(12)])


def test_a_simulated_three_factor_structure_is_recovered(simulated):
    sol = fit_factors(simulated)
    assert sol.n_factors == 3
    assert sol.rule == "parallel" and "parallel analysis" in sol.rule_text
    sel = sol.selection
    assert sel["retained"].tolist() == [True] * 3 + [False] * 9
    assert (sel["eigenvalue"][:3] > sel["threshold"][:3]).all()
    assert sel.loc[3, "eigenvalue"] < sel.loc[3, "threshold"]
    got = align(sol.loadings.to_numpy(), TRUE_LOADINGS)
    assert np.abs(got - TRUE_LOADINGS).max() < 0.1
    planted = sorted(sorted(simulated.columns[4 * j : 4 * j + 4]) for j in range(3))
    assert sorted(sorted(v) for v in sol.scales.values()) == planted
    assert all(a > 0.7 for a in sol.alphas.values())
    # Kaiser's rule: the threshold is 1 and the same three factors pass here
    kaiser = fit_factors(simulated, rule="kaiser")
    assert kaiser.n_factors == 3 and (kaiser.selection["threshold"] == 1.0).all()


def test_scores_track_the_planted_factors_and_survive_json(simulated):
    sol = fit_factors(simulated)
    again = FactorSolution.from_json(json.loads(json.dumps(sol.to_json())))
    pd.testing.assert_frame_equal(again.scores(simulated), sol.scores(simulated))
    pd.testing.assert_frame_equal(again.loadings, sol.loadings)
    assert again.names == sol.names and again.alphas == sol.alphas


def test_iris_loadings_and_scores_match_scikit_learn_to_three_decimals():
    iris = load_iris(as_frame=True).data
    Z = StandardScaler().fit_transform(iris)
    fa = FactorAnalysis(n_components=2, rotation="varimax", random_state=0).fit(Z)
    sol = fit_factors(iris, n_factors=2)
    want = fa.components_.T
    got = align(sol.loadings.to_numpy(), want)
    np.testing.assert_allclose(got, want, atol=5e-4)
    want_scores = fa.transform(Z)
    got_scores = align(sol.scores(iris).to_numpy(), want_scores)
    np.testing.assert_allclose(got_scores, want_scores, atol=5e-4)
    assert "given" in sol.rule_text and sol.rule == "given"


def test_parallel_analysis_keeps_nothing_in_noise():
    rng = np.random.default_rng(7)
    pa = parallel_analysis(rng.normal(size=(500, 8)), n_iter=50, random_state=1)
    assert list(pa.columns) == ["factor", "eigenvalue", "threshold", "retained"]
    assert pa["threshold"].is_monotonic_decreasing
    assert pa["retained"].sum() <= 1  # the first noise eigenvalue passes 5 % of the time


def test_factor_names_come_from_the_top_loading_items(simulated):
    sol = fit_factors(simulated.rename(columns=lambda c: f"survey_q_item_{c}"))
    for f, items in sol.scales.items():
        top = sol.loadings[f].abs().sort_values(ascending=False).index[:2]
        assert sol.names[f] == " · ".join(
            t.removeprefix("survey_q_").replace("_", " ") for t in top
        )
        assert set(top) <= set(items)


def test_bad_factor_settings_are_user_errors(simulated):
    with pytest.raises(ModelError, match="from 1 to 11"):
        fit_factors(simulated, n_factors=12)
    with pytest.raises(ModelError, match="parallel, kaiser"):
        fit_factors(simulated, rule="scree")
    with pytest.raises(InputError, match="at least 2 varying survey items"):
        fit_factors(simulated[["q00"]])


# -- the segmenter -------------------------------------------------------------------------
def test_non_respondents_get_their_own_segment_and_names_say_the_need(simulated):
    X = simulated.add_prefix("survey_")
    X.index = pd.Index([f"C{i}" for i in range(len(X))], name="customer_id")
    silent = pd.DataFrame(np.nan, index=["N1", "N2"], columns=X.columns)
    seg = NeedsSegmenter(k=3, stability_runs=0).fit(pd.concat([X, silent]))
    assert seg.labels_[["N1", "N2"]].tolist() == [NO_ANSWERS] * 2
    assert seg.predict(silent).tolist() == [NO_ANSWERS] * 2
    result = seg.segmentation("needs")
    assert result.names[NO_ANSWERS] == NO_ANSWERS
    assert result.details["respondents"] == len(X)
    assert result.details["factors"]["loadings"]
    assert any("2 of" in w and NO_ANSWERS in w for w in result.warnings)
    named = [n for label, n in result.names.items() if label != NO_ANSWERS]
    assert len(set(named)) == len(named) and all(n for n in named)


# -- the sample shop through `segmint run` -------------------------------------------------
@pytest.fixture(scope="module")
def shop_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("needs")
    sample = segmint.datasets.make_retail(3000, seed=0)
    files = sample.to_files(d, format="csv")
    spec = d / "spec.yaml"
    spec.write_text(
        "sources:\n"
        f"  - {{path: {files['customers']}, as: customers, replace: true}}\n"
        f"  - {{path: {files['orders']}, as: orders}}\n"
        f"  - {{path: {files['feedback']}, as: feedback}}\n"
        "features:\n  as_of: 2024-12-31\n"
        "segmentations:\n  - name: needs\n    method: needs\n"
    )
    ws, out = d / "w.duckdb", d / "out"
    r = runner.invoke(app, ["run", "--spec", str(spec), "-w", str(ws), "--out", str(out)])
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    return {"ws": ws, "out": out, "sample": sample, "report": report, "output": r.output}


def test_planted_needs_groups_are_recovered_by_a_needs_segmentation(shop_run):
    with segmint.Workspace(shop_run["ws"], read_only=True) as ws:
        a = ws.table("segment_assignments").to_pandas()
    labels = a.set_index("customer_id")["segment"].astype(str)
    respondents = labels[labels != NO_ANSWERS]
    truth = shop_run["sample"].truth.set_index("customer_id")["need"]
    assert len(respondents) > 400
    assert adjusted_rand_score(truth[respondents.index], respondents) >= 0.8
    # the groups' own words: the price group's segment is named after the price items
    section = shop_run["report"]["segmentations"][0]
    needs = section["needs"]
    assert len(needs["factors"]) == 3 and needs["rule"] == "parallel"
    names = {p["label"]: p["name"] for p in section["profiles"]["segments"]}
    price_label = respondents[truth == "Price first"].mode()[0]
    price_segment = truth[respondents.index][respondents == price_label]
    assert (price_segment == "Price first").mean() > 0.8
    assert "sales" in names[price_label] or "prices" in names[price_label]


def test_the_report_draws_the_loadings_heat_map(shop_run):
    html = (shop_run["out"] / "report.html").read_text()
    assert "Needs: what the survey items measure" in html
    assert "Heat map of the loadings of 9 survey items on 3 factors" in html
    assert "Cronbach" in html
    # each factor's row lists its items in words (not a Python repr)
    assert "built-in method" not in html
    assert "price sensitive, waits for sales" in html or "waits for sales, price" in html


def test_segmint_needs_prints_the_factor_solution(shop_run):
    ws = str(shop_run["ws"])
    r = runner.invoke(app, ["needs", "-w", ws])
    assert r.exit_code == 0, r.output
    assert "3 factor(s) from 9 items" in r.output and "parallel analysis" in r.output
    assert "alpha" in r.output and "waits for sales" in r.output
    r = runner.invoke(app, ["needs", "-w", ws, "--factors", "2", "--rule", "kaiser", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert len(doc["factors"]) == 2 and doc["rule"] == "given"
    assert len(doc["loadings"]) == 9 and len(doc["loadings"][0]) == 2
    bad = runner.invoke(app, ["needs", "-w", ws, "--factors", "many"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert "--factors must be 'auto'" in " ".join(bad.output.split())


def test_workspace_needs_matches_the_run(shop_run):
    with segmint.Workspace(shop_run["ws"], read_only=True) as ws:
        sol = ws.needs()
    section = shop_run["report"]["segmentations"][0]["needs"]
    assert sol.n_factors == len(section["factors"])
    assert sol.n_respondents == section["respondents"]


def test_the_modules_examples_run():
    import doctest

    from segmint.feedback import survey
    from segmint.report import _needs
    from segmint.segment import needs

    for module in (survey, needs, _needs):
        assert doctest.testmod(module).failed == 0, module.__name__
