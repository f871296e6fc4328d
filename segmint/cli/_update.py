"""``segmint update``: import new exports and re-score every customer with the stored models.

The pipeline is :func:`segmint._run.update.update_pipeline`; this module turns its result
into a short summary (what was imported, how many feature rows were rebuilt, segment sizes
before and after, the alerts) and the exit codes ``segmint monitor`` uses: 0, or 3 with
``--fail-on-drift`` when the comparison with the previous run crossed a threshold.
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

__all__ = ["register"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]
CROSSED = 3


def update(
    files: Annotated[list[str], typer.Argument(help="The new exports (not imported before).")],
    refit: Annotated[
        str,
        typer.Option(
            "--refit",
            help="never: score with the stored models; auto: refit when a feature a "
            "segmentation uses drifted; always: refit every segmentation.",
        ),
    ] = "never",
    as_: Annotated[
        str | None, typer.Option("--as", help="The table the files go into (default: detected).")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="A YAML spec: its quality gates, ranking weights and monitoring thresholds.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Compute features as of this date (default: last order)."),
    ] = None,
    profile: Annotated[
        bool,
        typer.Option(
            "--profile", help="Also recompute the profiles, ranking and plans of the segments."
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder when the update refits (a full run)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write what the update did as JSON ('-': print).")
    ] = None,
    fail_on_drift: Annotated[
        bool,
        typer.Option(
            "--fail-on-drift", help="Exit with code 3 when the comparison raised an alert."
        ),
    ] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Add new data and re-score every customer, without refitting (cheap, for every week).

    Imports FILES (a file imported before refuses the whole batch), cleans, rebuilds the
    feature rows of the customers the new rows touch (the others move with the as-of date),
    and assigns every customer a segment with the last run's stored models: RFM cut points,
    nearest centroid, rules, value models. Labels therefore keep their meaning from run to
    run. The new run is then compared with the previous one, as `segmint monitor` does.

      segmint update orders_week_49.csv

      segmint update orders_week_49.csv --refit auto --json update.json

      segmint update new_orders.parquet --fail-on-drift || echo "segments moved"

    Profiles and the ranking stay those of the last fit unless --profile; `segmint run`
    refits everything. docs/monitoring.md explains the statistics.
    """
    from segmint._run.update import update_pipeline
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError
    from segmint.spec.model import load_spec

    loaded = load_spec(spec) if spec else None
    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}' to update.",
            fix="run the pipeline once first: segmint run orders.csv -w PATH",
        )
    if json_out is not None and str(json_out) != "-":
        writable_file(json_out, "--json")
    with Workspace(workspace) as ws, progress_display(ws.store.db) as step:
        done = update_pipeline(
            ws, list(files), refit=refit, spec=loaded, into=as_, as_of=as_of,
            profile=profile, out_dir=out, progress=step,
        )  # fmt: skip
    data = done.to_dict()
    json_or_show(data, json_out, show)
    crossed = bool((data.get("monitoring") or {}).get("alerts"))
    if crossed and fail_on_drift:
        raise typer.Exit(CROSSED)


def show(data: dict[str, Any]) -> None:
    """What was imported, the feature step, segment sizes before → after, the alerts."""
    rows = sum(int(i["rows"]) for i in data["imported"])
    console.print(
        f"Imported {rows:,} rows from {len(data['imported'])} file(s); "
        f"run [bold]{data['run_id']}[/] updates [bold]{data['base_run']}[/]."
    )
    f = data["features"]
    how = (
        f"{f['rebuilt']:,} of {f['customers']:,} customers' feature rows rebuilt"
        if f["incremental"]
        else f"all {f['customers']:,} feature rows rebuilt: {f['reason']}"
    )
    console.print(f"Features as of {f['as_of'][:10]}: {escape(how)}.")
    if data["refit"] == "refitted":
        console.print(f"[bold]Refitted[/]: {escape(str(data['refit_reason']))}.")
    else:
        console.print("Segments re-scored with the stored models (nothing refitted).")
    m = data.get("monitoring") or {}
    if "error" in m:
        console.print(f"Comparison with the previous run not made: {escape(m['error'])}")
    for s in m.get("segmentations", []):
        _sizes(s)
    alerts = m.get("alerts", [])
    if alerts:
        console.print(f"[yellow]{len(alerts)} alert(s)[/] (details: segmint monitor):")
        for a in alerts[:10]:
            console.print(f"  • {escape(a['message'])}")
    elif m:
        console.print("[green]No alerts:[/] nothing crossed a threshold.")
    for note in data["notes"]:
        console.print(f"Note: {escape(note)}")
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in data["steps"].items())
    console.print(f"Done in {data['seconds']:.1f} s ({steps}).")


def _sizes(s: dict[str, Any]) -> None:
    t = Table(title=f"{s['name']}: customers per segment", title_justify="left")
    for col in ("segment", "before", "after", "change"):
        t.add_column(col, justify="left" if col == "segment" else "right")
    base, cur = s["sizes"]["baseline"], s["sizes"]["current"]
    both = s.get("names") or {}  # {"baseline": {label: name}, "current": {…}}
    names = {**both.get("baseline", {}), **both.get("current", {})}
    for label in [*cur, *(x for x in base if x not in cur)]:
        before, after = base.get(label, 0), cur.get(label, 0)
        change = f"{(after - before) / before:+.1%}" if before else "new"
        t.add_row(escape(str(names.get(label) or label)), f"{before:,}", f"{after:,}", change)
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command(name="update")(user_errors(update))
