"""Split-test analysis on the real Hillstrom e-mail test, checked against independent code.

The independent computation works on the raw rows with numpy/scipy (Welch's t-test from
``scipy.stats.ttest_ind``, the delta-method lift written out here), never through segmint's
sufficient statistics; Hillstrom's README gives the published per-arm means.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from typer.testing import CliRunner

from segmint.cli import app
from segmint.exceptions import ExperimentError
from segmint.measure.analyze import ALL, analyze
from segmint.measure.verdict import chance, p_value, percent

from .activate_support import make_workspace

HILLSTROM = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "hillstrom_email_2008"
    / "hillstrom.csv"
)
CONTROL = "No E-Mail"
ARMS = ("Mens E-Mail", "Womens E-Mail")
METRICS = ("visit", "conversion", "spend")

pytestmark = pytest.mark.skipif(not HILLSTROM.exists(), reason="shared data not present")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(HILLSTROM)


@pytest.fixture(scope="module")
def result():
    return analyze(
        HILLSTROM,
        variant_column="segment",
        control=CONTROL,
        metrics=list(METRICS),
        by="channel",
    )


def _independent(c: np.ndarray, t: np.ndarray, proportion: bool) -> dict[str, float]:
    """Welch on the raw values; the lift's delta-method variance written out."""
    mc, mt = c.mean(), t.mean()
    # GrowthBook's proportion variance is p(1-p) (population form); a mean uses n - 1.
    vc = mc * (1 - mc) if proportion else c.var(ddof=1)
    vt = mt * (1 - mt) if proportion else t.var(ddof=1)
    nc, nt = len(c), len(t)
    se_abs = math.sqrt(vc / nc + vt / nt)
    df = (vc / nc + vt / nt) ** 2 / ((vc / nc) ** 2 / (nc - 1) + (vt / nt) ** 2 / (nt - 1))
    lift = mt / mc - 1
    se_rel = math.sqrt(vt / (nt * mc**2) + vc * mt**2 / (nc * mc**4))
    q = sps.t.ppf(0.975, df)
    return {
        "abs": mt - mc,
        "abs_lo": mt - mc - q * se_abs,
        "abs_hi": mt - mc + q * se_abs,
        "abs_p": 2 * sps.t.sf(abs(mt - mc) / se_abs, df),
        "rel": lift,
        "rel_lo": lift - q * se_rel,
        "rel_hi": lift + q * se_rel,
        "rel_p": 2 * sps.t.sf(abs(lift) / se_rel, df),
    }


def test_published_means(result) -> None:
    """Hillstrom's README: spend per customer 1.4226 (Mens) / 1.0772 (Womens) / 0.6528."""
    spend = {
        c.variant: (
            c.treatment_stat.sum / c.treatment_stat.n,
            c.control_stat.sum / c.control_stat.n,
        )
        for c in result.comparisons
        if c.metric == "spend" and c.segment == ALL
    }
    assert spend["Mens E-Mail"][0] == pytest.approx(1.4226, abs=5e-5)
    assert spend["Womens E-Mail"][0] == pytest.approx(1.0772, abs=5e-5)
    assert spend["Mens E-Mail"][1] == pytest.approx(0.6528, abs=5e-5)
    assert result.metrics == {"visit": "proportion", "conversion": "proportion", "spend": "mean"}


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("arm", ARMS)
def test_matches_independent_computation(raw, result, metric, arm) -> None:
    proportion = metric != "spend"
    groups = [(ALL, raw)] + [(ch, g) for ch, g in raw.groupby("channel")]
    for scope, g in groups:
        c = g.loc[g["segment"] == CONTROL, metric].to_numpy(float)
        t = g.loc[g["segment"] == arm, metric].to_numpy(float)
        want = _independent(c, t, proportion)
        got = next(
            x
            for x in result.comparisons
            if (x.metric, x.variant, x.segment) == (metric, arm, scope)
        )
        assert got.absolute.estimate == pytest.approx(want["abs"], rel=1e-9)
        assert got.absolute.ci_low == pytest.approx(want["abs_lo"], rel=1e-6)
        assert got.absolute.ci_high == pytest.approx(want["abs_hi"], rel=1e-6)
        assert got.absolute.p_value == pytest.approx(want["abs_p"], rel=1e-4, abs=1e-12)
        assert got.relative.estimate == pytest.approx(want["rel"], rel=1e-9)
        assert got.relative.ci_low == pytest.approx(want["rel_lo"], rel=1e-6)
        assert got.relative.ci_high == pytest.approx(want["rel_hi"], rel=1e-6)
        assert got.relative.p_value == pytest.approx(want["rel_p"], rel=1e-4, abs=1e-12)
        if not proportion:  # for means Welch here is scipy's Welch exactly
            scipy_p = sps.ttest_ind(t, c, equal_var=False).pvalue
            assert got.absolute.p_value == pytest.approx(scipy_p, rel=1e-6)


def test_holm_across_segments(result) -> None:
    for metric in METRICS:
        for arm in ARMS:
            segs = [
                c
                for c in result.comparisons
                if c.metric == metric and c.variant == arm and c.segment != ALL
            ]
            assert [c.segment for c in segs] == ["Multichannel", "Phone", "Web"]
            raw_p = [c.relative.p_value for c in segs]
            want = multipletests(raw_p, method="holm")[1]
            assert [c.p_adjusted for c in segs] == pytest.approx(list(want), rel=1e-12)
            for c in segs:
                assert c.significant == (c.p_adjusted < 0.05)


def test_sample_ratio_not_flagged(result) -> None:
    """The three arms 21,306 / 21,307 / 21,387 were split evenly by design."""
    check = result.srm[ALL]
    assert dict(zip(result.variants, check.observed, strict=True)) == {
        "Mens E-Mail": 21307,
        "No E-Mail": 21306,
        "Womens E-Mail": 21387,
    }
    assert check.p_value == pytest.approx(sps.chisquare([21307, 21306, 21387]).pvalue, rel=1e-9)
    assert not check.flagged
    assert not result.srm_flagged()


def test_sample_ratio_flags_a_skewed_split(tmp_path) -> None:
    rows = ["arm,converted"] + ["A,1"] * 600 + ["A,0"] * 5400 + ["B,0"] * 3600 + ["B,1"] * 400
    path = tmp_path / "skewed.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    a = analyze(path, variant_column="arm", control="A", metrics=["converted"])
    assert a.srm[ALL].flagged and a.srm[ALL].p_value < 0.001
    b = analyze(
        path, variant_column="arm", control="A", metrics=["converted"], weights={"A": 60, "B": 40}
    )
    assert not b.srm[ALL].flagged


def test_verdicts_read_right(result) -> None:
    """The sentences agree with the numbers and say when a segment result did not survive Holm."""
    for c in result.comparisons:
        if c.significant:
            verb = "lifts" if c.relative.estimate > 0 else "lowers"
            assert f"{c.variant} {verb} {c.metric}" in c.verdict
        else:
            assert "no significant effect" in c.verdict
            if c.segment != ALL:
                assert "after Holm" in c.verdict
    mens_web = next(
        c
        for c in result.comparisons
        if (c.metric, c.variant, c.segment) == ("conversion", "Mens E-Mail", "Web")
    )
    assert mens_web.significant and mens_web.verdict.startswith(
        "Mens E-Mail lifts conversion in Web: +"
    )


def test_json_holds_full_precision(result, tmp_path) -> None:
    data = json.loads(json.dumps(result.to_dict()))
    first = data["comparisons"][0]
    orig = result.comparisons[0]
    assert first["relative"]["p_value"] == orig.relative.p_value
    assert first["control_stat"]["sum"] == orig.control_stat.sum
    assert data["srm"][ALL]["flagged"] is False


def test_bayesian_only_and_no_correction() -> None:
    a = analyze(
        HILLSTROM,
        variant_column="segment",
        control=CONTROL,
        metrics=["conversion"],
        by="channel",
        engine="bayesian",
        correction="none",
    )
    assert all(c.relative is None and c.bayesian is not None for c in a.comparisons)
    assert all("chance to beat control" in c.verdict for c in a.comparisons)
    b = analyze(
        HILLSTROM,
        variant_column="segment",
        control=CONTROL,
        metrics=["conversion"],
        by="channel",
        correction="none",
    )
    assert all(c.p_adjusted == c.relative.p_value for c in b.comparisons), (
        "no correction keeps the raw p-values"
    )


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"control": "no e-mail"}, "did you mean 'No E-Mail'"),
        ({"metrics": ["spnd"]}, "not a column"),
        ({"metrics": ["history_segment"]}, "not numbers"),
        ({"variant_column": "history"}, "different values"),
        ({"by": "nope"}, "not a column"),
        ({"weights": {"Mens E-Mail": 1}}, "do not match"),
        ({"correction": "bonferroni"}, "Unknown correction"),
    ],
)
def test_user_errors(kwargs, needle) -> None:
    settings = {
        "variant_column": "segment",
        "control": CONTROL,
        "metrics": ["conversion"],
        **kwargs,
    }
    with pytest.raises(ExperimentError, match=needle):
        analyze(HILLSTROM, **settings)


def test_campaign_by_segmentation(tmp_path) -> None:
    """A campaign in the workspace, split by the segments a run stored for its customers."""
    rng = np.random.default_rng(7)
    ids = [f"c{i:04d}" for i in range(2000)]
    segments = {cid: ("gold" if i % 3 == 0 else "silver") for i, cid in enumerate(ids)}
    store = make_workspace(tmp_path / "ws.duckdb", pd.DataFrame({"customer_id": ids}), segments)
    arm = rng.choice(["A", "control"], size=len(ids))
    converted = rng.random(len(ids)) < np.where(arm == "A", 0.12, 0.08)
    contacts = pd.DataFrame(
        {
            "campaign_id": "spring",
            "customer_id": ids,
            "variant": arm,
            "converted": converted,
            "revenue": np.where(converted, 40.0, 0.0),
        }
    )
    store.ensure("campaign_contacts")
    store.db.register("_c", contacts)
    store.db.execute(
        "INSERT INTO campaign_contacts (campaign_id, customer_id, variant, converted, revenue) "
        "SELECT * FROM _c"
    )
    store.db.unregister("_c")
    a = analyze("spring", store=store, by="seg")
    assert a.metrics == {"converted": "proportion", "revenue": "mean"}
    assert a.segments == ("gold", "silver")
    gold = [cid for cid in ids if segments[cid] == "gold"]
    assert sum(a.counts["gold"].values()) == len(gold)
    want = contacts[contacts.customer_id.isin(gold) & (contacts.variant == "A")]
    got = next(
        c for c in a.comparisons if (c.metric, c.segment) == ("converted", "gold")
    ).treatment_stat
    assert (got.n, got.sum) == (len(want), float(want.converted.sum()))
    with pytest.raises(ExperimentError, match="neither a column"):
        analyze("spring", store=store, by="nothing")
    with pytest.raises(ExperimentError, match="no campaign with that id"):
        analyze("autumn", store=store)
    store.close()


def test_cli_prints_and_writes(tmp_path) -> None:
    out = tmp_path / "a.json"
    page = tmp_path / "a.html"
    r = CliRunner().invoke(
        app,
        [
            "experiment", "analyze", str(HILLSTROM), "--variant-column", "segment",
            "--control", CONTROL, "--metrics", "conversion,spend", "--by", "channel",
            "--json", str(out), "--html", str(page), "-w", str(tmp_path / "none.duckdb"),
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Mens E-Mail lifts conversion overall" in r.output
    assert "no mismatch" in r.output
    assert json.loads(out.read_text())["control"] == CONTROL
    html = page.read_text()
    assert "Forest plot of the lift in conversion of Mens E-Mail" in html
    assert "Plotly" in html
    bad = CliRunner().invoke(
        app,
        ["experiment", "analyze", str(HILLSTROM), "--variant-column", "segment",
         "--control", "Nobody", "--metrics", "conversion", "-w", str(tmp_path / "none.duckdb")],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output and "the variants found are" in bad.output


def test_numbers_never_round_across_alpha() -> None:
    for p in np.linspace(0.0401, 0.0599, 397):
        shown = float(p_value(float(p)).split("= ")[1])
        assert (shown < 0.05) == (p < 0.05), (p, shown)
    assert percent(0.0042) == "+0.420 %"
    assert percent(1.2543) == "+125 %"
    assert chance(0.99996) == "> 99.9 %" and chance(0.00001) == "< 0.1 %"


def test_the_docs_command_runs(tmp_path, monkeypatch) -> None:
    """docs/experiments.md, "Analyzing a test": the shell example as written (from the repo)."""
    import re
    import shlex

    doc = (Path(__file__).parents[1] / "docs" / "experiments.md").read_text(encoding="utf-8")
    section = doc.split("## Analyzing a test", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[0].replace("\\\n", " ")
    argv = shlex.split(block)
    assert argv[:3] == ["segmint", "experiment", "analyze"]
    monkeypatch.chdir(Path(__file__).parents[1])
    argv = [a.replace("hillstrom.json", str(tmp_path / "h.json"))
            .replace("hillstrom.html", str(tmp_path / "h.html")) for a in argv]  # fmt: skip
    r = CliRunner().invoke(app, [*argv[1:], "-w", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "h.json").exists() and (tmp_path / "h.html").exists()


def test_a_designed_test_end_to_end(tmp_path) -> None:
    """Design (45/45/10) → results in campaign_contacts under the design's name → analysis
    whose sample-ratio check expects the design's split, not an equal one."""
    from segmint.measure.design import design_experiment

    ids = [f"c{i:05d}" for i in range(12000)]
    segments = {cid: ("gold" if i % 3 == 0 else "silver") for i, cid in enumerate(ids)}
    store = make_workspace(tmp_path / "ws.duckdb", pd.DataFrame({"customer_id": ids}), segments)
    design_experiment(
        store,
        name="summer",
        segmentation="seg",
        weights=[45, 45, 10],
        variants=["A", "B", "control"],
    )
    rng = np.random.default_rng(1)
    store.db.execute(
        "CREATE TEMP TABLE a AS SELECT customer_id, variant FROM experiment_assignments"
    )
    assigned = store.db.execute("SELECT customer_id, variant FROM a ORDER BY 1").fetchdf()
    conv = rng.random(len(assigned)) < np.where(assigned.variant == "B", 0.14, 0.10)
    contacts = assigned.assign(campaign_id="summer", converted=conv)
    store.ensure("campaign_contacts")
    store.db.register("_c", contacts)
    store.db.execute(
        "INSERT INTO campaign_contacts (campaign_id, customer_id, variant, converted) "
        "SELECT campaign_id, customer_id, variant, converted FROM _c"
    )
    a = analyze("summer", store=store, by="seg")
    assert a.weights == pytest.approx({"A": 0.45, "B": 0.45, "control": 0.10})
    assert not a.srm[ALL].flagged
    assert any("design 'summer'" in n for n in a.notes)
    assert any("run 0001-segment" in n for n in a.notes)  # the design's run gives the segments
    equal = analyze("summer", store=store, weights={"A": 1, "B": 1, "control": 1})
    assert equal.srm[ALL].flagged  # 45/45/10 is far from an equal split
    with pytest.raises(ExperimentError, match="no experiment 'winter'"):
        analyze("summer", store=store, experiment="winter")
    store.close()
