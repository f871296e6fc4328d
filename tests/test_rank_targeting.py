"""Ranking (M11) against scores computed independently, and targeting rules (M12)."""

from __future__ import annotations

import doctest
import importlib
import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import segmint
from segmint.activate import GOALS, TargetingPlan, plan_targeting
from segmint.exceptions import SpecError
from segmint.profile import Profiles, SegmentProfile
from segmint.profile.rank import DEFAULT_WEIGHTS, Ranking, rank
from segmint.segment.rfm import RFMSegmenter
from tests.conftest import shared_file

# ------------------------------------------------------------------ helpers


def shop() -> tuple[pd.DataFrame, pd.Series]:
    """12 customers in 3 segments, with growth, consent and CLV columns."""
    ids = [f"c{i:02d}" for i in range(12)]
    seg = pd.Series(list("AAAAAABBBBCC"), index=ids)
    feats = pd.DataFrame(
        {
            "customer_id": ids,
            "monetary_total": [10, 20, 30, 10, 20, 30, 100, 150, 120, 130, 400, 600.0],
            "revenue_last_90d": [1, 2, 0, 0, 5, None, 30, 10, 0, 20, 0, 50.0],
            "revenue_prev_90d": [5, 5, 5, 0, 0, 5, 10, 10, 10, 10, 200, 150.0],
            "clv": [4, 6, 0, 0, 2, None, 40, 25, 5, 30, 10, 90.0],
            "consent_email": [
                True,
                False,
                True,
                None,
                True,
                True,
                False,
                False,
                True,
                False,
                True,
                True,
            ],
        }
    )
    return feats, seg


def make_profiles(feats: pd.DataFrame, seg: pd.Series, reasons: bool = True) -> Profiles:
    """Profiles built directly from the frame (the fields rank() relies on)."""
    money = feats.set_index("customer_id").monetary_total
    total = money.sum()
    segments = []
    for label in ["A", "B", "C"]:
        members = seg.index[seg == label]
        rev = money[members].sum()
        segments.append(
            SegmentProfile(
                label=label,
                name={"A": "Small", "B": "Mid", "C": "Whales"}[label],
                size=len(members),
                share=len(members) / len(seg),
                revenue=rev,
                revenue_share=rev / total,
                avg_value=rev / len(members),
            )
        )
    frame = pd.DataFrame({"customer_id": seg.index, "segment": seg.to_numpy()})
    return Profiles(
        segmentation="demo",
        method="rules",
        population={"customers": len(seg), "revenue": total},
        segments=segments,
        key_variables=[],
        fidelity=1.0,
        reasons=frame if reasons else frame.iloc[0:0],
    )


def expected_scores(weights: dict[str, Fraction], comps: dict[str, dict[str, Fraction]]) -> dict:
    """Exact arithmetic, then half-up rounding to one decimal."""
    out = {}
    for label, c in comps.items():
        x = 1 + 9 * sum(weights[k] * c[k] for k in weights) / sum(weights.values())
        out[label] = math.floor(x * 10 + Fraction(1, 2)) / 10
    return out


def independent_components(feats: pd.DataFrame, seg: pd.Series) -> dict[str, dict[str, Fraction]]:
    """docs/ranking.md's definitions in exact arithmetic: x / (x + reference) per component."""
    f = feats.set_index("customer_id")
    money = {k: Fraction(str(v)) for k, v in f.monetary_total.items()}
    total = sum(money.values())
    even = Fraction(1, 3)  # three segments
    average = total / len(seg)
    known_clv = [Fraction(str(v)) for v in f.clv.dropna()]
    clv_ref = sum(known_clv) / len(known_clv)
    comps: dict[str, dict[str, Fraction]] = {}
    for label in "ABC":
        members = list(seg.index[seg == label])
        size = Fraction(len(members), len(seg))
        revenue = sum(money[m] for m in members) / total
        avg = sum(money[m] for m in members) / len(members)
        last = sum(Fraction(str(v)) for v in f.loc[members, "revenue_last_90d"].fillna(0))
        prev = sum(Fraction(str(v)) for v in f.loc[members, "revenue_prev_90d"].fillna(0))
        consent = [v is True for v in f.loc[members, "consent_email"]]
        known = [Fraction(str(v)) for v in f.loc[members, "clv"].dropna()]
        clv = sum(known) / len(known)
        comps[label] = {
            "size": size / (size + even),
            "revenue": revenue / (revenue + even),
            "value": avg / (avg + average),
            "growth": last / (last + prev),
            "reachability": Fraction(sum(consent), len(members)),
            "potential": clv / (clv + clv_ref),
        }
    return comps


DEFAULT = {k: Fraction(str(v)) for k, v in DEFAULT_WEIGHTS.items()}

# ------------------------------------------------------------------ ranking


def test_rank_matches_an_independent_computation():
    feats, seg = shop()
    comps = independent_components(feats, seg)
    r = rank(make_profiles(feats, seg), feats)
    exp = expected_scores(DEFAULT, comps)
    assert {s.label: s.score for s in r.segments} == exp
    for s in r.segments:
        for k, v in comps[s.label].items():
            assert s.components[k] == pytest.approx(float(v), abs=1e-12), (s.label, k)
    assert [s.label for s in r.segments] == sorted(exp, key=lambda k: -exp[k])
    assert [s.rank for s in r.segments] == [1, 2, 3]
    assert r.notes == []
    assert r.formula == (
        "importance = 1 + 9 × (0.2 × size + 0.3 × revenue + 0.2 × value + 0.15 × growth "
        "+ 0.15 × reachability + 0.2 × potential) / 1.2, rounded to 1 decimal"
    )
    d = r.to_dict()
    assert set(d) >= {"formula", "weights", "segments"}
    assert set(d["segments"][0]) >= {"label", "score", "rank", "components"}
    assert set(d["segments"][0]["components"]) == {
        "size",
        "revenue",
        "value",
        "growth",
        "reachability",
        "potential",
    }
    assert all(1 <= s["score"] <= 10 for s in d["segments"])


def test_missing_columns_are_left_out_and_weights_renormalized():
    feats, seg = shop()
    plain = feats[["customer_id", "monetary_total"]]
    r = rank(make_profiles(feats, seg), plain)
    comps = independent_components(feats, seg)
    weights = {k: DEFAULT[k] for k in ("size", "revenue", "value")}
    assert {s.label: s.score for s in r.segments} == expected_scores(weights, comps)
    assert set(r.weights) == {"size", "revenue", "value"}
    assert r.formula.endswith("/ 0.7, rounded to 1 decimal")
    assert any("growth left out" in n for n in r.notes)
    assert any("reachability left out" in n for n in r.notes)
    assert any("potential left out" in n for n in r.notes)
    assert all(set(s.components) == {"size", "revenue", "value"} for s in r.segments)


def test_custom_weights_merge_over_defaults():
    feats, seg = shop()
    r = rank(make_profiles(feats, seg), feats, weights={"growth": 0.5, "size": 0})
    w = dict(DEFAULT, growth=Fraction(1, 2), size=Fraction(0))
    exp = expected_scores(w, independent_components(feats, seg))
    assert {s.label: s.score for s in r.segments} == exp
    assert r.weights["growth"] == 0.5 and r.weights["size"] == 0
    assert "0.5 × growth" in r.formula and r.formula.endswith("/ 1.35, rounded to 1 decimal")


def test_bad_weights_report_every_problem():
    feats, seg = shop()
    with pytest.raises(SpecError) as info:
        rank(make_profiles(feats, seg), feats, weights={"reach": 1, "size": -1, "value": "x"})
    assert len(info.value.problems) == 3
    assert "unknown component 'reach'" in str(info.value)
    with pytest.raises(SpecError, match="sum to 0"):
        rank(
            make_profiles(feats, seg),
            feats[["customer_id"]],
            weights={"size": 0, "revenue": 0, "value": 0},
        )


def test_ties_are_broken_by_label_whatever_the_input_order():
    twins = [SegmentProfile(lab, lab, 5, 0.5, 50.0, 0.5, 10.0) for lab in ("Z", "M")]
    for order in (twins, twins[::-1]):
        p = Profiles(
            "t", "rules", {"customers": 10, "revenue": 100.0}, order, [], 1.0, pd.DataFrame()
        )
        r = rank(p, pd.DataFrame())
        assert [(s.label, s.rank) for s in r.segments] == [("M", 1), ("Z", 2)]
        # every component is 0.5 (like the reference) and none tells the twins apart
        assert r.segments[0].score == r.segments[1].score == 5.5
        assert any("every segment scores the same" in n for n in r.notes)


def test_labels_from_names_explicit_labels_and_has_email():
    feats, seg = shop()
    feats = feats.drop(columns=["consent_email"]).assign(
        has_email=["yes", "no"] * 6, revenue_last_90d=0.0, revenue_prev_90d=0.0
    )
    profiles = make_profiles(feats, seg, reasons=False)
    r = rank(profiles, feats, labels=seg.map({"A": "Small", "B": "Mid", "C": "Whales"}))
    assert r.segment("A").components["reachability"] == 0.5
    assert r.segment("C").components["growth"] == 0.0  # no revenue in either window
    assert any("has_email" in n for n in r.notes)
    # without assignments the per-customer components cannot be grouped: left out, with a note
    r2 = rank(profiles, feats)
    assert "reachability" not in r2.weights and any("assignments" in n for n in r2.notes)


def test_components_without_information_drop_out_and_say_why():
    feats, seg = shop()
    # 55 days of history: nothing in the earlier window, so growth is 1 for every buyer
    short = feats.assign(revenue_prev_90d=0.0, consent_email=False)
    r = rank(make_profiles(short, seg), short)
    assert set(r.dropped) == {"growth", "reachability"}
    assert "90 days before the last 90" in r.dropped["growth"]
    assert "0 for every segment" in r.dropped["reachability"]
    assert set(r.weights) == {"size", "revenue", "value", "potential"}
    assert r.formula.endswith("/ 0.9, rounded to 1 decimal")
    assert any(n.startswith("growth left out: no segment had revenue") for n in r.notes)
    assert r.to_dict()["dropped"] == r.dropped
    # the values are still there (targeting reads reachability), only the score ignores them
    assert all(s.components["reachability"] == 0.0 for s in r.segments)
    weights = {k: DEFAULT[k] for k in r.weights}
    expected = expected_scores(weights, independent_components(feats, seg))
    assert {s.label: s.score for s in r.segments} == expected
    # a constant component cannot change the order, only squeeze the scale: dropping it
    # spreads the scores (here: the full 1–10 range is used by the rest)
    kept = rank(make_profiles(short, seg), short, weights={"growth": 0, "reachability": 0})
    assert [s.label for s in kept.segments] == [s.label for s in r.segments]


def _random_shop(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series]:
    """A random segment table, built from customers: 2–8 segments of 1–40 customers."""
    frames = []
    for j in range(int(rng.integers(2, 9))):
        m = int(rng.integers(1, 41))
        scale = float(rng.lognormal(3, 1))
        frames.append(
            pd.DataFrame(
                {
                    "segment": f"s{j}",
                    "monetary_total": rng.lognormal(0, 1, m) * scale * (rng.random(m) > 0.1),
                    "revenue_last_90d": rng.lognormal(0, 1, m) * (rng.random(m) < rng.random()),
                    "revenue_prev_90d": rng.lognormal(0, 1, m) * (rng.random(m) < rng.random()),
                    "clv": rng.lognormal(0, 1, m) * scale,
                    "consent_email": rng.random(m) < rng.random(),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "customer_id", [f"c{i}" for i in range(len(df))])
    return df.drop(columns="segment"), pd.Series(df.segment.to_numpy(), index=df.customer_id)


def _measured(feats: pd.DataFrame, seg: pd.Series) -> pd.DataFrame:
    """What each component claims to measure, computed directly from the customers."""
    f = feats.set_index("customer_id").assign(segment=seg)
    g = f.groupby("segment")
    last, prev = g.revenue_last_90d.sum(), g.revenue_prev_90d.sum()
    return pd.DataFrame(
        {
            "size": g.size() / len(f),
            "revenue": g.monetary_total.sum() / f.monetary_total.sum(),
            "value": g.monetary_total.mean(),
            "growth": (last / (last + prev)).fillna(0.0),
            "reachability": g.consent_email.mean(),
            "potential": g.clv.mean(),
        }
    )


def _profiles_of(feats: pd.DataFrame, seg: pd.Series) -> Profiles:
    money = feats.set_index("customer_id").monetary_total
    segments = []
    for label in sorted(seg.unique()):
        members = seg.index[seg == label]
        rev = float(money[members].sum())
        segments.append(
            SegmentProfile(
                label,
                label,
                len(members),
                len(members) / len(seg),
                rev,
                rev / float(money.sum()),
                rev / len(members),
            )
        )
    frame = pd.DataFrame({"customer_id": seg.index, "segment": seg.to_numpy()})
    pop = {"customers": len(seg), "revenue": float(money.sum())}
    return Profiles("random", "rules", pop, segments, [], 1.0, frame)


@pytest.mark.parametrize("seed", range(2))
def test_a_segment_better_on_everything_never_ranks_below(seed):
    """Monotone: at least as large and valuable on every component (and better on one that
    counts) → ranked above. Random tables, plus a forced pair per table."""
    rng = np.random.default_rng(seed)
    pairs = 0
    for _ in range(40):
        feats, seg = _random_shop(rng)
        # force one dominating pair: s0's customers, twice as many and each worth more
        s0 = feats[seg.to_numpy() == "s0"]
        boosted = s0.assign(
            monetary_total=s0.monetary_total * 1.5 + 1,
            revenue_last_90d=s0.revenue_last_90d * 1.5 + 1,
            clv=s0.clv * 1.5 + 1,
        )
        big = pd.concat([boosted, boosted], ignore_index=True)
        big["customer_id"] = [f"b{i}" for i in range(len(big))]
        feats = pd.concat([feats, big], ignore_index=True)
        seg = pd.concat([seg, pd.Series("big", index=big.customer_id)])
        r = rank(_profiles_of(feats, seg), feats)
        measured = _measured(feats, seg)
        m, labels = measured.to_numpy(), list(measured.index)
        counts = [measured.columns.get_loc(k) for k in r.weights if r.weights[k] > 0]
        # each component orders the segments as what it measures does
        comp = np.array([[r.segment(a).components[k] for k in measured.columns] for a in labels])
        for k in range(m.shape[1]):
            higher = m[:, k][:, None] > m[:, k][None, :]
            assert (comp[:, k][:, None] >= comp[:, k][None, :])[higher].all(), measured.columns[k]
        for i, a in enumerate(labels):
            for j, b in enumerate(labels):
                if i == j or not (m[i] >= m[j]).all():
                    continue
                pairs += 1
                ra, rb = r.segment(a), r.segment(b)
                assert ra.weighted >= rb.weighted - 1e-12, (a, b, m[i], m[j])
                if (m[i, counts] > m[j, counts]).any():
                    assert ra.rank < rb.rank and ra.score >= rb.score, (a, b, m[i], m[j])
    assert pairs >= 40  # the forced pair at least, in every table


def test_the_score_does_not_depend_on_the_currency():
    rng = np.random.default_rng(11)
    for _ in range(20):
        feats, seg = _random_shop(rng)
        money = ["monetary_total", "revenue_last_90d", "revenue_prev_90d", "clv"]
        cents = feats.assign(**{c: feats[c] * 100 for c in money})
        a = rank(_profiles_of(feats, seg), feats)
        b = rank(_profiles_of(cents, seg), cents)
        assert a.weights == b.weights
        for s in a.segments:
            assert b.segment(s.label).weighted == pytest.approx(s.weighted, abs=1e-12)


def test_the_docstring_example_runs():
    module = importlib.import_module("segmint.profile.rank")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_the_worked_example_in_the_docs_is_what_the_code_computes():
    text = (Path(__file__).resolve().parents[1] / "docs" / "ranking.md").read_text("utf-8")
    blocks = re.findall(r"```pycon\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/ranking.md has no worked example (a ```pycon block)"
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for i, block in enumerate(blocks):
        test = parser.get_doctest(block, {}, f"docs/ranking.md example {i + 1}", None, 0)
        assert test.examples
        result = runner.run(test, out=lambda msg: pytest.fail(msg))
        assert result.failed == 0


def test_rank_rfm_segments_of_cdnow(tmp_path):
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    ws.ingest(shared_file("cdnow", "CDNOW_master.txt"))
    feats = ws.features().to_pandas().set_index("customer_id")
    ws.close()
    labels = RFMSegmenter().fit(feats).labels_
    money = feats.monetary_total
    segs = []
    for lab, size in labels.value_counts().items():
        rev = float(money[labels == lab].sum())
        segs.append(
            SegmentProfile(
                lab, lab, int(size), size / len(labels), rev, rev / money.sum(), rev / size
            )
        )
    pop = {"customers": len(labels), "revenue": float(money.sum())}
    p = Profiles("rfm", "rfm", pop, segs, [], 1.0, pd.DataFrame())
    r = rank(p, feats, labels=labels)
    order = [s.label for s in r.segments]
    assert order[0] == "Champions"
    assert order.index("Lost") > order.index("Loyal")
    # the case: a segment with < 2 % of customers and < 1 % of revenue ranked #2, above
    # Loyal (8 % of customers, 5 % of revenue); now every such segment ranks below Loyal
    tiny = [s.label for s in segs if s.share < 0.02 and s.revenue_share < 0.01]
    assert tiny, "CDNOW's RFM has no tiny segment any more: the regression case is gone"
    assert all(order.index(t) > order.index("Loyal") for t in tiny)
    # independent: the value component is avg value / (avg value + the population's average)
    average = float(money.sum()) / len(labels)
    for s in segs:
        assert r.segment(s.label).components["value"] == pytest.approx(
            s.avg_value / (s.avg_value + average)
        )


# ------------------------------------------------------------------ targeting


def profiles_of(*segments: SegmentProfile, avg: float = 100.0) -> Profiles:
    n = sum(s.size for s in segments)
    return Profiles(
        "t", "rules", {"customers": n, "revenue": avg * n}, list(segments), [], 1.0, pd.DataFrame()
    )


def seg(label: str, avg: float = 100.0, **kw) -> SegmentProfile:
    return SegmentProfile(label, label.title(), 10, 0.1, avg * 10, 0.1, avg, **kw)


def test_goal_channel_offer_rules():
    plans = plan_targeting(
        profiles_of(
            seg("lapsed", lift={"recency_days": 1.2}),
            seg("vip", avg=300.0, means={"consent_email": 0.8}),
            seg("bargain", lift={"discount_share": 1.0}, means={"consent_email": 0.6}),
            seg("new", lift={"tenure_days": -1.0}, means={"channel_share_app": 0.7}),
            seg("firsts", lift={"frequency": -0.8, "recency_days": -0.9}),
            seg(
                "grocery",
                over_represented=[
                    {
                        "column": "top_category",
                        "value": "grocery",
                        "share": 0.6,
                        "population_share": 0.2,
                        "lift": 3.0,
                    }
                ],
            ),
            seg("texters", means={"consent_email": 0.2, "consent_sms": 0.6}),
            seg("rich", avg=200.0, means={"consent_email": 0.1}),
            seg("spenders", lift={"monetary_total": 0.7}),
        ),
        None,
    )
    got = {k: (p.goal, p.channel, p.offer.split(":")[0]) for k, p in plans.items()}
    assert got == {
        "lapsed": ("win back", "ads", "win-back"),
        "vip": ("retain", "email", "VIP"),
        "bargain": ("grow", "email", "discount-driven"),
        "new": ("nurture", "app push", "onboarding"),
        "firsts": ("nurture", "ads", "onboarding"),
        "grocery": ("grow", "ads", "bundle in grocery"),
        "texters": ("grow", "sms", "cross-sell"),
        "rich": ("retain", "direct mail", "VIP"),
        "spenders": ("retain", "ads", "VIP"),
    }
    assert plans["lapsed"].reasons[0].startswith("recency_days lift +1.2 sd")
    assert "discount_share lift +1.0 sd" in plans["bargain"].reasons[2]
    assert "average value 3.0×" in plans["vip"].reasons[0]
    assert "grocery" in plans["grocery"].message and plans["grocery"].message.endswith(".")
    assert all(p.goal in GOALS and len(p.reasons) == 3 for p in plans.values())
    fields = {"goal", "channel", "offer", "message", "reasons", "subject", "body"}
    assert set(plans["vip"].to_dict()) == fields
    assert plans["vip"].subject == plans["vip"].body == ""  # message templates are opt-in


def test_reachability_comes_from_the_ranking():
    feats, segs = shop()
    profiles = make_profiles(feats, segs)
    ranking = rank(profiles, feats)
    plans = plan_targeting(profiles, ranking)
    assert isinstance(ranking, Ranking) and list(plans) == ["A", "B", "C"]
    # C: both consented (100 %) → email; B: 1 of 4 consented → not email
    assert plans["C"].channel == "email" and "100%" in plans["C"].reasons[1]
    assert plans["B"].channel != "email"


def test_overrides_replace_fields_and_are_checked():
    p = profiles_of(seg("lapsed", lift={"recency_days": 1.2}), seg("vip", avg=300.0))
    plans = plan_targeting(
        p, None, overrides={"lapsed": {"channel": "sms"}, "Vip": {"goal": "grow", "offer": "Gift"}}
    )
    assert plans["lapsed"].channel == "sms" and plans["lapsed"].goal == "win back"
    assert plans["vip"].goal == "grow" and plans["vip"].offer == "Gift"
    assert "goal set by override" in plans["vip"].reasons
    assert isinstance(plans["vip"], TargetingPlan)
    with pytest.raises(SpecError) as info:
        plan_targeting(
            p,
            None,
            overrides={"nobody": {"goal": "grow"}, "vip": {"goal": "sell", "colour": "red"}},
        )
    assert len(info.value.problems) == 3
    assert "unknown segment 'nobody'" in str(info.value)
