"""``segmint dedupe``: link customer records into persons, explain links, review pairs.

The work is :mod:`segmint.identity`; this module prints the run (records, persons, the
fields and match weights the model learned), a person's records with the waterfall of each
link, and the review queue, and writes the clusters file.
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
from segmint.cli._engine import (
    Engine_,
    SparkConf,
    SparkMaster,
    SparkWarehouse,
    check_engine,
    open_engine,
)

__all__ = ["register", "show_explanation", "show_result"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]


def _pair(value: str, option: str) -> tuple[str, str]:
    from segmint.exceptions import InputError

    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2 or not all(parts):
        raise InputError(
            f"{option} takes two customer ids separated by a comma; got '{value}'.",
            fix=f"e.g. {option} C0042,C0917",
        )
    return parts[0], parts[1]


def dedupe(
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Link two records when the model gives them at least this probability of "
            "being one person (default 0.95, or the spec's). Higher: fewer, surer links.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write customer_id,cluster_id,match_probability,cluster_size as CSV "
            "(cluster_id is the person id).",
        ),
    ] = None,
    review: Annotated[
        int | None,
        typer.Option("--review", help="Show the N undecided pairs nearest the threshold."),
    ] = None,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            help="Show a customer's person: its records and why each "
            "link was made (match weight of every comparison).",
        ),
    ] = None,
    pair: Annotated[
        str | None,
        typer.Option("--with", help="With --explain ID: explain the pair ID and this id."),
    ] = None,
    accept: Annotated[
        str | None,
        typer.Option(
            "--accept", help="A,B: these two records are one person (kept for every later run)."
        ),
    ] = None,
    reject: Annotated[
        str | None,
        typer.Option("--reject", help="A,B: these two records are different people."),
    ] = None,
    incremental: Annotated[
        bool | None,
        typer.Option(
            "--incremental/--full",
            help="Match only new records against the stored model, or train anew on all "
            "(default: incremental when a model exists and new records arrived).",
        ),
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="A pipeline spec whose identity: section sets fields, "
            "blocking rules, comparisons and the threshold.",
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the result as JSON ('-': print).")
    ] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
    engine: Engine_ = "duckdb",
    spark_master: SparkMaster = None,
    spark_warehouse: SparkWarehouse = None,
    spark_conf: SparkConf = None,
) -> None:
    """Find customer records that are one person (within and across sources) and link them.

    Splink compares the records on the customer columns present (names, e-mail, phone,
    birth date, address, city, postal code, ids), learns how much each agreement or
    disagreement weighs from the data itself (no labels needed), and links pairs above the
    threshold into persons. Features, segments, audiences and erasure then count each
    person once. Run it again after an import: new records are matched incrementally and
    person ids stay the same.

      segmint dedupe                         link, print the model and the persons
      segmint dedupe --out clusters.csv      also write the identity map
      segmint dedupe --explain C0042         why C0042's records are one person
      segmint dedupe --review 20             the pairs the model is least sure of
      segmint dedupe --accept C0042,C0917    a reviewer's decision (kept for later runs)
      segmint dedupe --engine spark -w DIR   link a Spark workspace's customers in Spark

    docs/identity.md explains the model, the threshold, review and stable ids.
    """
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError
    from segmint.store.csvsafe import frame_to_csv

    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="import customers first (segmint ingest customers.csv) or pass --workspace.",
        )
    if out is not None:
        writable_file(out)
    if json_out is not None and str(json_out) != "-":
        writable_file(json_out, "--json")
    options = _options(spec)
    if check_engine(engine) == "spark":
        _on_spark(workspace, spark_master, spark_warehouse, spark_conf, threshold, options,
                  json_out, out=out, review=review, explain=explain, decided=bool(accept or reject),
                  incremental=incremental)  # fmt: skip
        return
    with Workspace(workspace) as ws:
        data: dict[str, Any]
        if explain is not None:
            data = ws.explain_identity(explain, pair).as_dict()
            json_or_show(data, json_out, show_explanation)
            return
        if review is not None and not (accept or reject):
            data = {"pairs": ws.identity_review(review)}
            json_or_show(data, json_out, show_review)
            return
        if accept or reject:
            a, b = _pair(accept or reject or "", "--accept" if accept else "--reject")
            done = ws.decide_identity(a, b, "accept" if accept else "reject")
        else:
            with progress_display() as step:
                done = ws.dedupe(
                    threshold=threshold, incremental=incremental, options=options,
                    progress=step,
                )  # fmt: skip
        if out is not None:
            frame_to_csv(ws.identity_clusters(), out)
        json_or_show(done.as_dict(), json_out, show_result)
        if out is not None:
            console.print(f"Identity map written to {escape(str(out))}.")


def _on_spark(
    workspace: Path,
    master: str | None,
    warehouse: str | None,
    conf: list[str] | None,
    threshold: float | None,
    options: Any,
    json_out: Path | None,
    **embedded_only: Any,
) -> None:
    """``--engine spark``: a full linkage in Spark; the review tools need the embedded file."""
    from segmint.exceptions import InputError

    used = [k for k, v in embedded_only.items() if v not in (None, False)]
    if used:
        flags = {"out": "--out", "review": "--review", "explain": "--explain",
                 "decided": "--accept/--reject", "incremental": "--incremental/--full"}  # fmt: skip
        raise InputError(
            f"{', '.join(flags[k] for k in used)} cannot be used with --engine spark: a Spark "
            "dedupe trains on every record and keeps the persons in Spark.",
            fix="leave it out (segmint dedupe --engine spark [--threshold P] [--spec FILE]); "
            "reviews and decisions need an embedded workspace.",
        )
    with (
        open_engine(workspace, master, warehouse, must_exist=True, conf=conf) as ews,
        progress_display() as step,
    ):
        done = ews.dedupe(threshold=threshold, options=options, progress=step)
    json_or_show(done.as_dict(), json_out, show_result)


def _options(spec: Path | None) -> Any:
    if spec is None:
        return None
    from segmint.identity import IdentityOptions
    from segmint.spec.model import load_spec

    return IdentityOptions.from_spec(load_spec(spec).identity)


def show_result(data: dict[str, Any]) -> None:
    """Records, persons, what changed, the fields and the weights the model learned."""
    mode = {
        "full": "trained on every record",
        "incremental": "new records matched against the stored model",
        "recluster": "persons rebuilt from stored scores",
    }
    console.print(
        f"[bold]{data['records']:,}[/] customer records → [bold]{data['persons']:,}[/] "
        f"persons ({data['linked']:,} records linked to another) at match probability ≥ "
        f"{data['threshold']:g}; {mode.get(data['mode'], data['mode'])}"
        + (f" ({data['new_records']:,} new)" if data["mode"] == "incremental" else "")
        + "."
    )  # fmt: skip
    events = {k: v for k, v in data["events"].items() if v}
    if events:
        console.print("Persons: " + ", ".join(f"{v:,} {k}" for k, v in events.items()) + ".")
    if data["fields"]:
        console.print(
            "Compared on: "
            + ", ".join(
                escape(f"{f['column']} ({f['kind'].replace('_', ' ')})") for f in data["fields"]
            )
        )
    if data["comparisons"]:
        t = Table(title="What each comparison weighs (match weight, log2 odds)",
                  title_justify="left")  # fmt: skip
        t.add_column("comparison")
        t.add_column("level")
        t.add_column("weight", justify="right")
        for comp in data["comparisons"]:
            for i, lv in enumerate(comp["levels"]):
                w = lv["match_weight"]
                shown = "" if w is None else f"{w:+.1f}"
                colour = "green" if (w or 0) > 0 else "red"
                t.add_row(
                    escape(comp["comparison"]) if i == 0 else "",
                    escape(str(lv["level"])),
                    f"[{colour}]{shown}[/]",
                )
        console.print(t)
    if data.get("review"):
        console.print(
            f"{data['review']:,} undecided pairs lie near the threshold: "
            "segmint dedupe --review 20 shows them."
        )
    for note in data.get("notes", []):
        console.print(f"[yellow]Note:[/] {escape(note)}")
    console.print(f"Done in {data['seconds']:.1f} s.")


def show_explanation(data: dict[str, Any]) -> None:
    """The person's records, then each link's waterfall."""
    recs = data["records"]
    console.print(
        f"Customer {escape(data['customer_id'])} belongs to person "
        f"[bold]{escape(data['person_id'])}[/] ({len(recs)} record(s)); records are linked "
        f"at match probability ≥ {data['threshold']:g}."
    )
    if recs:
        cols = [c for c in recs[0] if any(r.get(c) for r in recs)]
        t = Table(title="Records", title_justify="left")
        for c in cols:
            t.add_column(c)
        for r in recs:
            t.add_row(*[escape(str(r.get(c) or "")) for c in cols])
        console.print(t)
    for p in data["pairs"]:
        decided = f" — a reviewer said {p['decision']}" if p.get("decision") else ""
        t = Table(
            title=f"{p['customer_id_l']} ↔ {p['customer_id_r']}: match probability "
            f"{p['match_probability']:.4f} (weight {p['match_weight']:+.1f}){decided}",
            title_justify="left",
        )
        for c in ("comparison", "level", "left", "right", "weight"):
            t.add_column(c, justify="right" if c == "weight" else "left")
        for s in p["steps"]:
            w = s["match_weight"]
            colour = "green" if w > 0 else "red" if w < 0 else "dim"
            t.add_row(
                escape(s["column"]), escape(str(s["level"])), escape(s["value_l"]),
                escape(s["value_r"]), f"[{colour}]{w:+.2f}[/]",
            )  # fmt: skip
        console.print(t)
    if not data["pairs"] and len(recs) == 1:
        console.print("No other record was linked to it.")


def show_review(data: dict[str, Any]) -> None:
    """The queue: each pair, its probability, and both records side by side."""
    pairs = data["pairs"]
    if not pairs:
        console.print("No undecided pairs: the review queue is empty.")
        return
    t = Table(title="Pairs nearest the threshold (decide with --accept A,B or --reject A,B)",
              title_justify="left")  # fmt: skip
    for c in ("pair", "probability", "linked now", "left record", "right record"):
        t.add_column(c)
    for p in pairs:
        t.add_row(
            escape(f"{p['customer_id_l']},{p['customer_id_r']}"),
            f"{p['match_probability']:.3f}",
            "yes" if p["linked"] else "no",
            escape(_brief(p["record_l"])),
            escape(_brief(p["record_r"])),
        )
    console.print(t)


def _brief(rec: dict[str, Any]) -> str:
    return " · ".join(str(v) for k, v in rec.items() if v and k != "customer_id")


def register(app: typer.Typer) -> None:
    app.command(name="dedupe")(user_errors(dedupe))
