"""Feedback texts in a workspace, as a user meets them: the airline tweets imported as feedback
alone (no orders, no customers) run end to end; the analysis is kept, reused while the texts
do not change and redone when they do; the text features join the feature table; each
segmentation carries what its segments wrote; ``segmint feedback analyze`` writes one row per
text and prints the per-segment summary; the REST API and the web page show the same; an
erasure leaves no text of the person in the tables, the stored results or the report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from tests.conftest import shared_file

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TWEETS = shared_file("twitter_us_airline_sentiment", "Tweets.csv")
N = 1500


@pytest.fixture(scope="module")
def tweets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first N tweets as their export has them (tweet_id, name, text, …)."""
    frame = pd.read_csv(TWEETS, dtype=str, keep_default_na=False).head(N)
    path = tmp_path_factory.mktemp("tweets") / "tweets.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def ran(tweets: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A workspace holding the tweets alone, after one zero-config `segmint run`."""
    root = tmp_path_factory.mktemp("ws")
    path = root / "w.duckdb"
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", str(tweets), "--as", "feedback", "--map",
                              "customer_id=name", "-w", str(path)])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = root / "out"
    res = runner.invoke(app, ["run", "-w", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return path, out


def test_feedback_alone_runs_and_every_text_is_analysed(ran: tuple[Path, Path]) -> None:
    path, out = ran
    with segmint.Workspace(path) as ws:
        texts = ws.feedback_texts()
        n_feedback = ws.store.count("feedback")
        features = ws.table("customer_features").to_pandas()
        people = ws.store.db.execute("SELECT count(DISTINCT customer_id) FROM feedback").fetchall()
    assert len(texts) == n_feedback == N
    # the tweet's own id is kept as the feedback id
    source = pd.read_csv(TWEETS, dtype=str, keep_default_na=False).head(N)
    assert set(texts["feedback_id"]) == set(source["tweet_id"])
    # one feature row per author, with the text family
    assert len(features) == people[0][0]
    assert {"sentiment_mean", "negative_share"} <= set(features.columns)
    topic_cols = [c for c in features.columns if c.startswith("topic_") and c.endswith("_share")]
    assert len(topic_cols) >= 2
    # a topic share is a share: each author's shares add up to 1 when they have a topic
    sums = features[topic_cols].sum(axis=1, min_count=1).dropna()
    assert ((sums - 1).abs() < 1e-9).all()
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert any("Analysed" in n and "feedback texts" in n for n in report["notes"])
    assert any(s["feedback"] for s in report["segmentations"])


def test_mostly_negative_tweets_read_negative(ran: tuple[Path, Path]) -> None:
    """The labelled airline sentiment agrees with the scores in aggregate: tweets labelled
    negative average well below those labelled positive."""
    path, _ = ran
    with segmint.Workspace(path) as ws:
        texts = ws.feedback_texts()
    source = pd.read_csv(TWEETS, dtype=str, keep_default_na=False).head(N)
    merged = texts.merge(source, left_on="feedback_id", right_on="tweet_id")
    means = merged.groupby("airline_sentiment")["sentiment"].mean()
    assert means["negative"] < 0 < means["positive"]
    assert means["positive"] - means["negative"] > 0.4


def test_the_segment_summary_is_about_the_segments(ran: tuple[Path, Path]) -> None:
    path, _ = ran
    with segmint.Workspace(path) as ws:
        run, name = ws.segment_run()
        summary = ws.feedback_summary(name, run)
        assigned = ws.store.db.execute(
            "SELECT segment, count(*) FROM segment_assignments WHERE run_id = ? AND "
            "segmentation = ? GROUP BY 1", [run, name]).fetchall()  # fmt: skip
    assert summary is not None
    labels = {str(a) for a, _ in assigned}
    assert {s.label for s in summary.segments} <= labels
    assert sum(s.n_texts for s in summary.segments) == summary.n_texts == N
    for s in summary.segments:
        if s.n_scored >= 2:
            lo, hi = s.sentiment_ci
            assert lo <= s.sentiment_mean <= hi
        assert len(s.quotes) <= 3
        for q in s.quotes:  # a quote is a text, never an id or a name
            assert "customer_id" not in q.to_json()


def test_the_analysis_is_reused_until_the_texts_change(ran: tuple[Path, Path],
                                                        tmp_path: Path) -> None:  # fmt: skip
    import shutil

    path = tmp_path / "copy.duckdb"
    shutil.copy(ran[0], path)
    with segmint.Workspace(path) as ws:
        before = [r for r in ws.runs() if r["kind"] == "feedback"]
        from segmint.feedback.analyze import analyze_feedback, is_current

        assert is_current(ws.store)
        again = analyze_feedback(ws.store, force=False)
        assert again.skipped and again.analysis_id == before[-1]["run_id"]
        extra = tmp_path / "more.csv"
        pd.DataFrame({"name": ["newcomer"], "text": ["The flight was late and the crew rude"],
                      "tweet_id": ["1"]}).to_csv(extra, index=False)  # fmt: skip
        ws.ingest(extra, into="feedback", mapping={"customer_id": "name"})
        assert not is_current(ws.store)
        fresh = analyze_feedback(ws.store, force=False)
        assert not fresh.skipped and fresh.n_texts == N + 1
        row = ws.feedback_texts().query("feedback_id == '1'").iloc[0]
        assert row.sentiment_label == "negative"


def test_cli_writes_one_row_per_text_and_prints_the_summary(ran: tuple[Path, Path],
                                                            tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "texts.csv"
    res = CliRunner().invoke(app, ["feedback", "analyze", "-w", str(ran[0]), "--out", str(out),
                                   "--topics", "4"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "What each segment wrote" in res.output and "Topics" in res.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == N
    assert {"feedback_id", "customer_id", "sentiment", "sentiment_label", "topic",
            "language"} <= set(rows[0])  # fmt: skip
    assert len({r["topic"] for r in rows if r["topic"]}) == 4
    bad = CliRunner().invoke(app, ["feedback", "analyze", "-w", str(ran[0]), "--topics", "1"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert "auto" in bad.output


def test_no_feedback_is_a_clear_error(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    pd.DataFrame({"order_id": ["A"], "customer_id": ["C1"], "ordered_at": ["2024-01-01"],
                  "amount": [10.0]}).to_csv(orders, index=False)  # fmt: skip
    path = tmp_path / "w.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(orders), "-w", str(path)]).exit_code == 0
    res = runner.invoke(app, ["feedback", "analyze", "-w", str(path)])
    assert res.exit_code == 2
    assert "no feedback" in res.output and "--as feedback" in res.output


def test_erasure_leaves_no_text_of_the_person(ran: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "copy.duckdb"
    shutil.copy(ran[0], path)
    with segmint.Workspace(path) as ws:
        run, name = ws.segment_run()
        result = json.loads(ws.store.db.execute(
            "SELECT result FROM segmentations WHERE run_id = ? AND name = ?", [run, name]
        ).fetchall()[0][0])  # fmt: skip
        quote = next(q["text"] for s in result["feedback"]["segments"] for q in s["quotes"])
        who = ws.store.db.execute(
            "SELECT customer_id FROM feedback WHERE text = ? LIMIT 1", [quote]
        ).fetchall()[0][0]
        ws.erase(customer_id=who, reason="test")
    with segmint.Workspace(path) as ws:
        left = ws.store.db.execute(
            "SELECT count(*) FROM feedback_texts WHERE customer_id = ?", [who]
        ).fetchall()[0][0]
        results = " ".join(r[0] for r in ws.store.db.execute(
            "SELECT CAST(result AS VARCHAR) FROM segmentations").fetchall())  # fmt: skip
    assert left == 0
    assert quote not in results


def test_summaries_hold_under_pseudonyms(ran: tuple[Path, Path], tmp_path: Path) -> None:
    """With pseudonyms on, assignments name customers by pseudonym: the texts are matched to
    them the same way, so every text still lands in a segment."""
    import os
    import shutil

    from segmint._run import run_pipeline
    from segmint.spec.model import Spec

    path = tmp_path / "copy.duckdb"
    shutil.copy(ran[0], path)
    os.environ["SEGMINT_PRIVACY_KEY"] = "k" * 64
    try:
        with segmint.Workspace(path) as ws:
            ws.pseudonymize()
            out = run_pipeline(ws, Spec(), out_dir=tmp_path / "out")
            ids = ws.store.db.execute(
                "SELECT customer_id FROM segment_assignments LIMIT 1").fetchall()[0][0]  # fmt: skip
    finally:
        del os.environ["SEGMINT_PRIVACY_KEY"]
    assert ids.startswith("p_")
    summary = out.report.segmentations[0].feedback
    assert summary is not None and summary.n_texts == N


def test_an_update_with_new_feedback_analyses_it(ran: tuple[Path, Path], tmp_path: Path) -> None:
    """`segmint update` with a new feedback file: the new text is analysed before the features
    are refreshed, the refresh says why every row was rebuilt, and models that read topic
    columns which are gone are refitted instead of failing."""
    import shutil

    path = tmp_path / "copy.duckdb"
    shutil.copy(ran[0], path)
    extra = tmp_path / "more.csv"
    pd.DataFrame({"customer_id": ["newcomer"], "tweet_id": ["2"],
                  "text": ["My flight was cancelled, stuck for hours"]}).to_csv(extra, index=False)  # fmt: skip
    with segmint.Workspace(path) as ws:
        before = len([r for r in ws.runs() if r["kind"] == "feedback"])
        old_topics = {c for c in ws.store.columns("customer_features") if c.startswith("topic_")}
        done = ws.update([extra], into="feedback")
        new_topics = {c for c in ws.store.columns("customer_features") if c.startswith("topic_")}
        after = [r for r in ws.runs() if r["kind"] == "feedback"]
        texts = ws.feedback_texts()
        row = ws.table("customer_features").filter(lambda t: t.customer_id == "newcomer")
        newcomer = row.to_pandas()
    assert len(after) > before and len(texts) == N + 1
    assert "feedback texts changed" in (done.features.reason or "")
    # when the topic columns changed with the analysis, the stored models cannot score: the
    # update refits and says why (whether they change depends on the topic fit)
    assert ("no longer has" in done.refit_reason) == bool(old_topics - new_topics)
    assert newcomer["negative_share"].item() == 1.0
