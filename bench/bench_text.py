"""Benchmark: language + sentiment + topics for 100,000 texts (issue 16: under 60 s).

    .venv/bin/python bench/bench_text.py [--n 100000] [--no-stages] [--no-write]

Texts: ``--n`` distinct texts, each two texts of the 14,640 airline tweets and the 3,000 UCI
review sentences (../shared/data) drawn at random and joined (``analyze_texts`` scores each
distinct text once, so repeats would cost nothing; the vocabulary is the real one). Each
contender runs in a fresh process: *analyze_texts* is the whole per-text analysis
(``topics="auto"``: the stability search, then the final fit); *stages* times the three steps
alone in the same process; *workspace* is ``segmint feedback analyze`` on a workspace holding
the texts as feedback (``analyze_feedback``: read, analyse, write ``feedback_texts``). *wall s* includes process start, imports and reading the files; *CPU s* is the
process's user + system time, the figure least disturbed by other work on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import write_section  # noqa: E402

SHARED = HERE.parents[1] / "shared" / "data"

CHILD = r"""
import csv, json, os, sys, time
import numpy as np, pandas as pd
t0 = time.perf_counter()
shared, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tweets = pd.read_csv(f"{shared}/twitter_us_airline_sentiment/Tweets.csv").text.tolist()
uci = [pd.read_csv(f"{shared}/uci_sentiment_labelled_sentences/{f}_labelled.txt", sep="\t",
       header=None, quoting=csv.QUOTE_NONE)[0].tolist() for f in ("amazon_cells", "yelp", "imdb")]
pool = tweets + sum(uci, [])
rng = np.random.default_rng(0)
pool = np.array(pool, dtype=object)
texts = pd.Series(rng.choice(pool, n) + " " + rng.choice(pool, n)).drop_duplicates()
from segmint.feedback import analyze_texts, detect_language, fit_topics, score_sentiment
out = {"setup_s": time.perf_counter() - t0, "distinct": int(len(texts))}
if mode == "workspace":
    import tempfile, segmint
    from segmint.feedback.analyze import analyze_feedback
    folder = tempfile.mkdtemp()
    pd.DataFrame({"review_id": range(len(texts)), "author": [f"C{i % 40000}" for i in
                  range(len(texts))], "review": texts.to_numpy()}).to_csv(f"{folder}/r.csv", index=False)
    ws = segmint.Workspace(f"{folder}/w.duckdb")
    ws.ingest(f"{folder}/r.csv", into="feedback", mapping={"customer_id": "author"})
    t = time.perf_counter(); done = analyze_feedback(ws.store); out["analyze_s"] = time.perf_counter() - t
    out["k"] = len(done.topics); ws.close()
elif mode == "all":
    t = time.perf_counter(); r = analyze_texts(texts); out["analyze_s"] = time.perf_counter() - t
    out["k"] = r.model.n_topics; out["en"] = float((r.texts.language == "en").mean())
    out["und"] = float((r.texts.language == "und").mean())
else:
    t = time.perf_counter(); detect_language(texts.tolist()); out["language_s"] = time.perf_counter() - t
    t = time.perf_counter(); score_sentiment(texts.tolist()); out["sentiment_s"] = time.perf_counter() - t
    t = time.perf_counter(); m = fit_topics(texts.tolist()); out["topics_s"] = time.perf_counter() - t
    out["selection_k"] = m.selection.k.tolist()
c = os.times(); out["cpu_s"] = c.user + c.system
print(json.dumps(out))
"""


def run(n: int, mode: str) -> dict:
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", CHILD, str(SHARED),
                        str(n), mode], capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"bench child failed:\n{r.stdout}\n{r.stderr}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out.update(wall_s=wall, peak_rss_mb=int(r.stderr.strip().splitlines()[-1]) / 1024, load=load)
    print(mode, json.dumps(out), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of texts")
    ap.add_argument("--no-stages", action="store_true", help="skip the per-stage contender")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    a = ap.parse_args()
    results = {"analyze_texts": run(a.n, "all")}
    if not a.no_stages:
        results["stages"] = run(a.n, "stages")
    results["workspace"] = run(a.n, "workspace")
    if not a.no_write:
        write(a.n, results)


def write(n: int, results: dict[str, dict]) -> None:
    whole = results["analyze_texts"]
    rows = [
        "## Feedback texts: language + sentiment + topics",
        "",
        f"Command: `.venv/bin/python bench/bench_text.py --n {n}`. Measured "
        f"{datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores shared "
        f"with other work, Python {platform.python_version()}. {whole['distinct']:,} distinct "
        "texts, each two of the 14,640 airline tweets and 3,000 UCI review sentences drawn at "
        "random and joined; each contender in a fresh process. *load* is the 1-minute load average at its start. "
        "Target (issue 16): under 60 s.",
        "",
        "| contender | analysis s | language s | sentiment s | topics s | CPU s | wall s "
        "| peak RSS MB | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        cells = [r.get(key) for key in ("analyze_s", "language_s", "sentiment_s", "topics_s")]
        shown = " | ".join("–" if c is None else f"{c:.1f}" for c in cells)
        rows.append(f"| {name} | {shown} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} | "
                    f"{r['peak_rss_mb']:,.0f} | {r['load']:.1f} |")  # fmt: skip
    rows += [
        "",
        f"- *analyze_texts* chose k = {whole['k']} topics; {whole['en']:.1%} of the texts "
        f"came out `en`, {whole['und']:.1%} `und` (scored as English), "
        f"{max(0.0, 1 - whole['en'] - whole['und']):.1%} another language (not scored).",
        "- *analysis s* counts from the call to its return, without process start and reading "
        "the files (*wall s* has them). *stages* fits topics on all texts (analyze_texts fits "
        "them on the English and undetermined ones only, here the same). *workspace* is "
        "`analyze_feedback` on a workspace holding the texts as feedback (`segmint feedback "
        "analyze`): reading the rows, the analysis and writing `feedback_texts` and "
        "`feedback_topics` in one transaction.",
    ]
    write_section("text", "\n".join(rows))


if __name__ == "__main__":
    main()
