"""Feedback texts per segment (segmint.profile.feedback): the interval against statsmodels and
scipy, lifts and complaint themes against an independent count, the over-representation rule,
quotes (count, no ids, dedupe, near the mean); then the "What they say" block in the report
and on the web profile page, and its absence without a summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from fastapi.testclient import TestClient
from markupsafe import escape
from scipy import stats as sps

from segmint.exceptions import InputError
from segmint.profile import quote_text, summarize_feedback
from segmint.profile.feedback import MIN_TEXTS, mean_interval
from segmint.report import render_report
from segmint.store.results import FeedbackSummary, SegmentationResult, SegmentFeedback

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOPICS = pd.DataFrame(
    {
        "topic": [0, 1, 2, 3],
        "name": ["delivery · late · days", "price · expensive", "staff · friendly", "app · login"],
        "terms": [["delivery", "late"], ["price", "expensive"], ["staff", "friendly"], ["app"]],
        "n_texts": [0, 0, 0, 0],
        "share": [0.25, 0.25, 0.25, 0.25],
    }
)
#: topic probabilities per segment: A writes about delivery, B about prices
MIX = {"A": [0.55, 0.15, 0.15, 0.15], "B": [0.15, 0.55, 0.15, 0.15], "C": [0.25] * 4}


def make_texts(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Customers A0…, B0…, C0… (segment C writes nothing, D is not in the segmentation);
    1–3 texts each; B's negative texts are mostly about prices."""
    rng = np.random.default_rng(seed)
    rows, labels = [], {}
    for seg, n in (("A", 80), ("B", 60), ("C", 15), ("D", 20)):
        for i in range(n):
            cid = f"{seg}{i:03d}"
            if seg != "D":
                labels[cid] = seg
            if seg == "C":
                continue
            mix = MIX.get(seg, [0.25] * 4)
            for _ in range(int(rng.integers(1, 4))):
                topic = int(rng.choice(4, p=mix))
                base = -0.5 if (seg == "B" and topic == 1) else 0.2
                score = float(np.clip(rng.normal(base, 0.35), -1, 1))
                rows.append(
                    {
                        "customer_id": cid,
                        "text": f"{cid} says {TOPICS['name'][topic]} {rng.integers(1_000_000)}",
                        "language": "en",
                        "sentiment": score,
                        "sentiment_label": "negative"
                        if score <= -0.05
                        else ("positive" if score >= 0.05 else "neutral"),
                        "topic": topic,
                        "topic_weight": float(rng.uniform(0.05, 1.0)),
                    }
                )
    texts = pd.DataFrame(rows)
    texts["topic"] = texts["topic"].astype("Int64")
    # a French text: flagged, not scored; one without a topic
    texts.loc[len(texts)] = ["A000", "Livraison en retard", "fr", np.nan, None, pd.NA, np.nan]
    texts.loc[len(texts)] = ["A001", "ok", "en", 0.3, "positive", pd.NA, np.nan]
    # the customer id is not text of the quote: strip it (the summary never adds one)
    texts["text"] = texts["text"].str.split(" says ", n=1).str[1]
    return texts, pd.Series(labels, name="segment")


@pytest.fixture(scope="module")
def case() -> tuple[pd.DataFrame, pd.Series, FeedbackSummary]:
    texts, labels = make_texts()
    return texts, labels, summarize_feedback(texts, labels, TOPICS)


def _seg(summary: FeedbackSummary, label: str) -> SegmentFeedback:
    return next(s for s in summary.segments if s.label == label)


# -- statistics -------------------------------------------------------------------------------


def test_interval_is_statsmodels_cluster_robust_and_the_t_interval_with_one_text_each() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(0.1, 0.4, 300)
    groups = rng.integers(0, 70, 300)
    fit = sm.OLS(y, np.ones(len(y))).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    mean, ci = mean_interval(y, groups)
    assert mean == pytest.approx(y.mean(), abs=1e-12)
    assert ci == pytest.approx(list(fit.conf_int()[0]), abs=1e-9)
    # one value per customer: exactly the textbook t-interval
    low, high = sps.t.interval(0.95, len(y) - 1, loc=y.mean(), scale=sps.sem(y))
    assert mean_interval(y, np.arange(len(y)))[1] == pytest.approx([low, high], abs=1e-9)
    # repeated texts of one customer widen the interval (they are not independent)
    dup = np.repeat(y[:100], 3)
    assert (
        np.diff(mean_interval(dup, np.repeat(np.arange(100), 3))[1])[0]
        > np.diff(mean_interval(dup, np.arange(300))[1])[0]
    )
    assert mean_interval(np.array([0.5]), np.array([1]))[1] == []
    # texts without a customer id are clusters of their own
    assert mean_interval(y[:5], np.array([None] * 5, dtype=object))[1] == pytest.approx(
        mean_interval(y[:5], np.arange(5))[1]
    )
    assert mean_interval(np.array([]), np.array([])) == (None, [])


def test_segment_sentiment_and_share_negative_match_an_independent_computation(case) -> None:
    texts, labels, summary = case
    seg = texts.assign(segment=texts["customer_id"].map(labels))
    for label in ("A", "B"):
        mine = seg[(seg["segment"] == label) & seg["sentiment"].notna()]
        fit = sm.OLS(mine["sentiment"].to_numpy(), np.ones(len(mine))).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(mine["customer_id"])[0]}
        )
        got = _seg(summary, label)
        assert got.sentiment_mean == pytest.approx(mine["sentiment"].mean(), abs=1e-12)
        low, high = got.sentiment_ci
        assert low < got.sentiment_mean < high
        assert (high - low) / 2 == pytest.approx(
            sps.t.ppf(0.975, mine["customer_id"].nunique() - 1) * fit.bse[0], rel=1e-9
        )
        assert got.share_negative == pytest.approx(
            (mine["sentiment_label"] == "negative").mean(), abs=1e-12
        )
        assert got.n_texts == int((seg["segment"] == label).sum())
        assert got.n_customers == seg.loc[seg["segment"] == label, "customer_id"].nunique()
    # B complains about prices: lower mean, its interval below A's
    assert _seg(summary, "B").sentiment_ci[1] < _seg(summary, "A").sentiment_ci[0]


def test_population_is_the_segmentations_customers(case) -> None:
    texts, labels, summary = case
    inside = texts["customer_id"].isin(labels.index)
    assert summary.n_texts == int(inside.sum())
    assert summary.n_unlabelled == int((~inside).sum()) > 0
    assert summary.n_not_english == 1
    assert summary.n_scored == int((inside & texts["sentiment"].notna()).sum())
    assert summary.sentiment_mean == pytest.approx(texts.loc[inside, "sentiment"].mean())
    assert [s.label for s in summary.segments] == ["A", "B", "C"]  # largest first


def test_topic_lift_against_an_independent_count(case) -> None:
    texts, labels, summary = case
    seg = texts.assign(segment=texts["customer_id"].map(labels)).dropna(subset=["segment"])
    with_topic = seg.dropna(subset=["topic"])
    table = pd.crosstab(with_topic["segment"], with_topic["topic"])
    shares = table.div(table.sum(axis=1), axis=0)
    population = table.sum() / table.values.sum()
    for label in ("A", "B"):
        got = _seg(summary, label)
        assert [t.share for t in got.topics] == sorted((t.share for t in got.topics), reverse=True)
        assert sum(t.share for t in got.topics) == pytest.approx(1.0)
        for t in got.topics:
            assert t.share == pytest.approx(shares.loc[label, t.topic])
            assert t.population_share == pytest.approx(population[t.topic])
            assert t.lift == pytest.approx(shares.loc[label, t.topic] / population[t.topic])
            assert t.n_texts == table.loc[label, t.topic]
    # the planted topics stand out; nothing under the lift threshold does
    assert [t.topic for t in _seg(summary, "A").over_represented] == [0]
    assert [t.topic for t in _seg(summary, "B").over_represented] == [1]
    for s in summary.segments:
        assert all(t.lift >= 1.25 and t.n_texts >= MIN_TEXTS for t in s.over_represented)


def test_complaint_themes_compare_negative_texts_with_all_negative_texts(case) -> None:
    texts, labels, summary = case
    neg = texts[(texts["sentiment_label"] == "negative") & texts["customer_id"].isin(labels.index)]
    neg = neg.assign(segment=neg["customer_id"].map(labels)).dropna(subset=["topic"])
    themes = _seg(summary, "B").complaint_themes
    assert [t.topic for t in themes] == [1]
    mine = neg[neg["segment"] == "B"]
    share = (mine["topic"] == 1).mean()
    population = (neg["topic"] == 1).mean()
    assert themes[0].share == pytest.approx(share)
    assert themes[0].population_share == pytest.approx(population)
    assert themes[0].lift == pytest.approx(share / population)
    # A writes about deliveries, so when A complains, deliveries lead (all negative texts are
    # mostly B's price complaints): the themes compare complaints with complaints
    assert _seg(summary, "A").complaint_themes[0].topic == 0
    assert 1 not in [t.topic for t in _seg(summary, "A").complaint_themes]


def test_too_few_texts_are_never_over_represented() -> None:
    """A high lift from a handful of texts is not a finding (MIN_TEXTS and the binomial test)."""
    rows = [("P", 0)] * 90 + [("P", 1)] * 10 + [("Q", 1)] * 4 + [("Q", 0)] * 1
    texts = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(rows))],
            "text": [f"text {i}" for i in range(len(rows))],
            "language": "en",
            "sentiment": 0.1,
            "sentiment_label": "positive",
            "topic": pd.array([t for _, t in rows], dtype="Int64"),
            "topic_weight": 0.5,
        }
    )
    labels = pd.Series([s for s, _ in rows], index=texts["customer_id"])
    q = _seg(summarize_feedback(texts, labels, TOPICS), "Q")
    assert q.topics[0].topic == 1 and q.topics[0].lift > 5
    assert q.over_represented == []


def test_segments_without_texts_are_listed_empty(case) -> None:
    c = _seg(case[2], "C")
    assert (c.n_texts, c.n_scored, c.n_customers) == (0, 0, 0)
    assert c.sentiment_mean is None and c.sentiment_ci == [] and c.share_negative is None
    assert c.topics == [] and c.quotes == [] and c.complaint_themes == []


# -- quotes -----------------------------------------------------------------------------------


def test_three_quotes_per_segment_without_ids_near_the_mean(case) -> None:
    texts, labels, summary = case
    for label in ("A", "B"):
        got = _seg(summary, label)
        assert len(got.quotes) == 3
        assert len({q.text for q in got.quotes}) == 3
        assert set(got.quotes[0].model_dump()) == {"text", "sentiment", "topic"}
        # the first quote is about the segment's most over-represented topic
        assert got.quotes[0].topic == got.over_represented[0].topic
        mine = texts[texts["customer_id"].map(labels) == label]
        for q in got.quotes:
            pool = mine[mine["topic"] == q.topic]["sentiment"].dropna()
            distance = (pool - got.sentiment_mean).abs()
            assert abs(q.sentiment - got.sentiment_mean) <= distance.median() + 1e-12
    dumped = json.dumps(summary.to_json())
    assert not any(cid in dumped for cid in texts["customer_id"].unique())
    assert len(summarize_feedback(texts, labels, TOPICS, quotes=5).segments[0].quotes) == 5


def test_identical_texts_are_quoted_once_and_contact_details_masked() -> None:
    texts = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "text": [
                "Late again!",
                "Late   again!",
                "Mail me at jo.doe@example.com or call +1 (555) 010-9999",
                "",
            ],
            "language": "en",
            "sentiment": [-0.3, -0.3, -0.2, np.nan],
            "sentiment_label": ["negative", "negative", "negative", None],
            "topic": pd.array([0, 0, 0, pd.NA], dtype="Int64"),
            "topic_weight": [0.9, 0.9, 0.5, np.nan],
        }
    )
    got = summarize_feedback(texts, pd.Series("S", index=list("abcd")), TOPICS).segments[0]
    quoted = [q.text for q in got.quotes]
    assert quoted == ["Late again!", "Mail me at [e-mail] or call [number]"]
    long = quote_text("word " * 200)
    assert long.endswith("…") and len(long) <= 241 and "  " not in long


def test_no_topic_table_and_no_texts() -> None:
    texts, labels = make_texts()
    bare = summarize_feedback(texts, labels, None)
    assert bare.topics == [] and _seg(bare, "A").topics[0].name.startswith("Topic ")
    full = summarize_feedback(texts, labels, TOPICS)
    assert _seg(bare, "A").sentiment_ci == _seg(full, "A").sentiment_ci
    assert [t.lift for t in _seg(bare, "A").topics] == [t.lift for t in _seg(full, "A").topics]
    empty = summarize_feedback(texts.iloc[:0], labels, TOPICS)
    assert (empty.n_texts, empty.sentiment_mean, empty.sentiment_ci) == (0, None, [])
    assert [s.n_texts for s in empty.segments] == [0, 0, 0]


def test_missing_columns_are_a_clear_error() -> None:
    texts, labels = make_texts()
    with pytest.raises(InputError, match="missing: sentiment"):
        summarize_feedback(texts.drop(columns="sentiment"), labels, TOPICS)


def test_summary_round_trips_through_json(case) -> None:
    summary = case[2]
    seg = SegmentationResult(name="s", method="rules", feedback=summary)
    assert SegmentationResult.from_json(json.loads(seg.dumps())) == seg
    assert summary.topics[0].examples and len(summary.topics[0].examples) <= 3


# -- the report and the web page --------------------------------------------------------------


def _result(summary: FeedbackSummary | None) -> SegmentationResult:
    segments = [
        {"label": label, "name": name, "size": size}
        for label, name, size in (("A", "Late deliveries", 80), ("B", "Price <b>watchers</b>", 60))
    ]
    return SegmentationResult.from_json(
        {
            "name": "needs",
            "method": "rules",
            "n_customers": 155,
            "profiles": {"segments": [*segments, {"label": "C", "name": "Quiet", "size": 15}]},
            "feedback": summary.to_json() if summary else None,
        }
    )


def test_report_shows_what_they_say_per_segment(case) -> None:
    summary = case[2]
    page = render_report({"segmentations": [_result(summary).to_json()]})
    assert "What they say" in page and 'href="#seg-1-says"' in page
    assert page.count('class="card says"') == 3
    assert page.count('class="sentiment-scale"') == 2  # C wrote nothing
    assert "No feedback texts from this segment" in page
    assert str(escape("Price <b>watchers</b>")) in page and "<b>watchers" not in page
    for s in summary.segments:
        for q in s.quotes:
            assert str(escape(q.text)) in page
    b = _seg(summary, "B")
    low, high = b.sentiment_ci
    assert f"{low:+.2f} to {high:+.2f}".replace("-", "−") in page
    assert "price · expensive" in page and f"×{b.over_represented[0].lift:.1f}" in page
    assert "1 not in English" in page
    bare = render_report({"segmentations": [_result(None).to_json()]})
    assert "What they say" not in bare and 'class="sentiment-scale"' not in bare


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, dict]]:
    from segmint.api import Settings, create_app, first_admin_token, services
    from segmint.datasets import make_retail
    from segmint.spec.model import SegmentationSpec

    root: Path = tmp_path_factory.mktemp("says")
    make_retail(200, seed=2).to_files(root / "data", format="csv")
    app = create_app(Settings(workspace=root / "shop.duckdb"))
    state = app.state.segmint
    token = first_admin_token(app)
    job = state.jobs.wait(services.start_ingest(state, "t", root / "data" / "orders.csv"))
    assert job and job["status"] == "done", job
    specs = [
        SegmentationSpec(name="rfm", method="rfm"),
        SegmentationSpec(name="bare", method="rfm"),
    ]
    job = state.jobs.wait(services.start_run(state, "t", specs))
    assert job and job["status"] == "done", job
    run_id = job["result"]["run_id"]
    ws = state.workspace()
    assigned = ws.store.db.execute(
        "SELECT customer_id, segment FROM segment_assignments WHERE run_id = ? "
        "AND segmentation = 'rfm'",
        [run_id],
    ).fetchall()
    labels = pd.Series({str(c): str(s) for c, s in assigned})
    texts, _ = make_texts()
    # the hand-made texts, written by the shop's real customers (two texts each at most)
    owners = np.resize(labels.index.to_numpy(), len(texts))
    summary = summarize_feedback(texts.assign(customer_id=owners), labels, TOPICS)
    result = services.get_segmentation(ws, run_id, "rfm")
    services._store_result(
        state, ws, run_id, "rfm", result.model_copy(update={"feedback": summary})
    )
    with TestClient(app) as client:
        client.post("/signin", data={"token": token, "csrf": _csrf(client), "next": "/"})
        yield client, run_id, summary.to_json()


def _csrf(client: TestClient) -> str:
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
    assert found
    return found.group(1)


def test_web_profile_shows_what_they_say(site) -> None:
    client, run_id, summary = site
    seg = max(summary["segments"], key=lambda s: s["n_texts"])
    page = client.get(f"/runs/{run_id}/segment", params={"s": "rfm", "label": seg["label"]})
    assert page.status_code == 200
    text = page.text
    assert "What they say" in text and 'class="sentiment-scale"' in text
    assert len(seg["quotes"]) == 3
    for q in seg["quotes"]:
        assert str(escape(q["text"])) in text
    assert f"{seg['n_texts']:,}" in text and "Complaint themes" in text
    other = client.get(f"/runs/{run_id}/segment", params={"s": "bare", "label": seg["label"]})
    assert other.status_code == 200 and "What they say" not in other.text


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    readme = Path(__file__).resolve().parents[1] / "segmint" / "profile" / "README.md"
    section = readme.read_text(encoding="utf-8").split("## Feedback per segment", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    exec(compile(code, "segmint/profile/README.md", "exec"), {})
    label, n_texts, mean, *_ = capsys.readouterr().out.split(" ", 3)
    assert (label, n_texts, mean) == ("A", "3", "-0.03")
