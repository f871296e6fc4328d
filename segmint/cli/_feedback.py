"""``segmint feedback analyze``: sentiment, language and topics of every feedback text.

The work is :mod:`segmint.feedback` (``Workspace.analyze_feedback``); this module writes one
row per text (``--out``), prints the topics with their top terms, the sentiment and language
counts, and what each segment of the latest segment run wrote (``Workspace.feedback_summary``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from segmint.cli._common import (
    DEFAULT_WORKSPACE,
    WORKSPACE_HELP,
    console,
    json_or_show,
    progress_display,
    user_errors,
    writable_file,
)

__all__ = ["register", "show_analysis"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]

feedback_app = typer.Typer(
    help="Analyse reviews, survey comments and posts: sentiment, topics, language (docs/text.md).",
    no_args_is_help=True,
)


def analyze(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write one row per text as CSV: feedback_id (the source's own id, when it "
            "has one), customer_id, language, sentiment score and label, topic.",
        ),
    ] = None,
    topics: Annotated[
        str,
        typer.Option(
            "--topics",
            help="How many topics: 'auto' (chosen by stability across resamples) or a number ≥ 2.",
        ),
    ] = "auto",
    segmentation: Annotated[
        str | None,
        typer.Option(
            "--segmentation",
            help="Summarise per segment of this segmentation of the latest segment run "
            "(default: its first).",
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the result as JSON ('-': print).")
    ] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Score every feedback text's sentiment, find its topics and tell its language.

    Sentiment is VADER's (a lexicon made for short social text; −1 very negative … +1 very
    positive; below −0.05 counts as negative, above +0.05 as positive). Topics come from
    TF-IDF + NMF, each named by its top terms. Texts that are not in English are flagged
    and not scored. The result is kept in the workspace: the text features
    (sentiment_mean, negative_share, topic_…_share) and every segment run's summary of what
    each segment wrote read it.

      segmint ingest reviews.csv --as feedback      import the texts
      segmint feedback analyze                      topics, sentiment, per-segment summary
      segmint feedback analyze --out texts.csv      also one row per text
      segmint feedback analyze --topics 8           a fixed number of topics

    docs/text.md explains the methods, their measured accuracy and their limits.
    """
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError
    from segmint.store.csvsafe import frame_to_csv

    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="import feedback first (segmint ingest reviews.csv --as feedback) or pass "
            "--workspace.",
        )
    if out is not None:
        writable_file(out)
    if json_out is not None and str(json_out) != "-":
        writable_file(json_out, "--json")
    with Workspace(workspace) as ws:
        with progress_display() as step:
            done = ws.analyze_feedback(topics=topics, progress=step)
        if out is not None:
            frame_to_csv(ws.feedback_texts(), out)
        data: dict[str, Any] = done.as_dict()
        segment_runs = [r for r in ws.runs() if r["kind"] == "segment"]
        if segment_runs:
            run, name = ws.segment_run(None, segmentation)
            summary = ws.feedback_summary(name, run)
            data["segments"] = {
                "run_id": run,
                "segmentation": name,
                "summary": None if summary is None else summary.to_json(),
                "names": _names(ws, run, name),
            }
        json_or_show(data, json_out, show_analysis)
        if out is not None:
            console.print(f"One row per text written to {escape(str(out))}.")


def _names(ws: Any, run: str, name: str) -> dict[str, str]:
    rows = ws.store.db.execute(
        "SELECT DISTINCT segment, segment_name FROM segment_assignments "
        "WHERE run_id = ? AND segmentation = ?",
        [run, name],
    ).fetchall()
    return {str(a): str(b) for a, b in rows}


def _pct(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def _num(x: Any) -> str:
    return "–" if x is None else f"{x:+.2f}"


def show_analysis(data: dict[str, Any]) -> None:
    """The counts, the topics table and the per-segment summary."""
    sent = data["sentiment"]
    console.print(
        f"[bold]{data['texts']:,}[/] texts analysed; sentiment scored for "
        f"[bold]{data['scored']:,}[/] ({sent.get('negative', 0):,} negative, "
        f"{sent.get('neutral', 0):,} neutral, {sent.get('positive', 0):,} positive)."
    )
    if data["not_english"]:
        langs = {k: v for k, v in data["languages"].items() if k != "en"}
        top = ", ".join(f"{k} {v:,}" for k, v in sorted(langs.items(), key=lambda kv: -kv[1])[:5])
        console.print(
            f"{data['not_english']:,} texts are not in English (or too short to tell): "
            f"flagged, not scored ({escape(top)})."
        )
    sel = data.get("selection") or {}
    if sel.get("rule"):
        console.print(f"Number of topics: {escape(str(sel.get('rule')))}.")
    t = Table(title="Topics (named by their top terms)", title_justify="left")
    for col in ("topic", "name", "texts", "share"):
        t.add_column(col, justify="right" if col in ("topic", "texts", "share") else "left")
    for row in data["topics"]:
        t.add_row(str(row["topic"]), escape(str(row["name"])), f"{row['n_texts']:,}",
                  _pct(row["share"]))  # fmt: skip
    console.print(t)
    seg = data.get("segments")
    if not seg:
        console.print("No segment run yet: segmint run summarises the texts per segment.")
        return
    summary = seg["summary"]
    if summary is None:
        console.print(
            f"None of the texts came from the customers of {seg['segmentation']} ({seg['run_id']})."
        )
        return
    names = seg["names"]
    t = Table(
        title=f"What each segment wrote ({escape(seg['segmentation'])}, run {seg['run_id']})",
        title_justify="left",
    )
    for col in ("segment", "texts", "sentiment (95 % CI)", "negative", "talks more about",
                "complains about"):  # fmt: skip
        t.add_column(col)
    for s in summary["segments"]:
        ci = s["sentiment_ci"] or [None, None]
        over = ", ".join(f"{o['name']} ×{o['lift']:.1f}" for o in s["over_represented"][:2])
        worst = ", ".join(c["name"] for c in s["complaint_themes"][:2])
        t.add_row(
            escape(names.get(s["label"], s["label"])),
            f"{s['n_texts']:,}",
            f"{_num(s['sentiment_mean'])} ({_num(ci[0])} … {_num(ci[1])})",
            _pct(s["share_negative"]),
            escape(over or "–"),
            escape(worst or "–"),
        )
    console.print(t)


def register(app: typer.Typer) -> None:
    feedback_app.command(name="analyze")(user_errors(analyze))
    app.add_typer(feedback_app, name="feedback")
