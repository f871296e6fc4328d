"""``segmint monitor``: compare two segment runs, for people (tables) and for cron (exit codes).

Exit codes are the contract a scheduled job builds on: 0 when nothing crossed a threshold, 3
with ``--fail-on-drift`` when something did, 2 for a user error (as every command). The JSON
(``--json``) is :meth:`segmint.monitor.compare.Monitoring.to_dict`; ``--html`` writes a small
self-contained page (:mod:`segmint.report.monitoring`).
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
    log_reports,
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
    spark_path,
)

__all__ = ["register", "status_json"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]
#: the exit code when a threshold was crossed and --fail-on-drift was given
CROSSED = 3


def monitor(
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="The segment run to compare with (default: the one before)."
        ),
    ] = None,
    current: Annotated[
        str | None,
        typer.Option("--current", help="The segment run to check (default: the latest)."),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the comparison as JSON to this file ('-': print it)."),
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML page.")
    ] = None,
    fail_on_drift: Annotated[
        bool,
        typer.Option(
            "--fail-on-drift", help="Exit with code 3 when any alert was raised (cron, CI)."
        ),
    ] = False,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="A YAML spec whose monitoring: section sets the thresholds."),
    ] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
    engine: Engine_ = "duckdb",
    spark_master: SparkMaster = None,
    spark_warehouse: SparkWarehouse = None,
    spark_conf: SparkConf = None,
) -> None:
    """Compare two segment runs: feature drift, where customers moved, and alerts.

    Segments are matched by label, so renaming one does not count as customers moving. An
    alert is raised for a drifted feature, a segment that grew or shrank by more than 20 %,
    and a segmentation where more than 10 % of customers changed segment (change them in the
    spec's monitoring: section). Exit code 0 when nothing crossed a threshold; with
    --fail-on-drift, 3 when something did.

      segmint monitor                                  # the latest run against the one before

      segmint monitor --baseline 0004-segment --json monitor.json --html monitor.html

      segmint monitor --fail-on-drift || echo "segments changed: look at monitor.html"

      segmint monitor --engine spark --workspace shop-spark   # runs made with --engine spark

    Statistics and thresholds: docs/monitoring.md.
    """
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError
    from segmint.spec.model import load_spec

    limits = load_spec(spec).monitoring if spec else None
    spark = check_engine(engine) == "spark"
    if not spark and not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace of your runs with -w PATH (default ./segmint.duckdb).",
        )
    for out in (json_out, html_out):
        if out is not None and str(out) != "-":
            writable_file(out, "--json" if out is json_out else "--html")
    if spark:
        from segmint._engine_workspace import METADATA_FILE

        with open_engine(
            workspace, spark_master, spark_warehouse, must_exist=True, conf=spark_conf
        ) as ews:
            result = ews.monitor(baseline, current, thresholds=limits)
        workspace = spark_path(workspace) / METADATA_FILE  # where the report log is
    else:
        with Workspace(workspace, read_only=True) as ws:
            result = ws.monitor(baseline, current, thresholds=limits)
    data = result.to_dict()
    json_or_show(data, json_out, show)
    if html_out is not None:
        from segmint.report.monitoring import render_monitoring

        html_out.write_text(render_monitoring(data), encoding="utf-8")
        console.print(f"Page: {escape(str(html_out))}")
    log_reports(workspace, "monitoring", [json_out, html_out], data.get("current"))
    if result.crossed and fail_on_drift:
        raise typer.Exit(CROSSED)


def show(data: dict[str, Any]) -> None:
    """Alerts first, then each segmentation, then the drift table."""
    console.print(f"Run [bold]{data['current']}[/] compared with [bold]{data['baseline']}[/]")
    if data["alerts"]:
        t = Table(title=f"Alerts ({len(data['alerts'])})", title_justify="left")
        t.add_column("kind")
        t.add_column("what", overflow="fold")
        t.add_column("message", overflow="fold")
        for a in data["alerts"]:
            t.add_row(a["kind"].replace("_", " "), escape(str(a["subject"])), escape(a["message"]))
        console.print(t)
    else:
        console.print("[green]No alerts:[/] nothing crossed a threshold.")
    for s in data["segmentations"]:
        _segmentation(s)
    if data["features"]:
        _features(data["features"])
    for note in data["notes"]:
        console.print(f"Note: {escape(note)}")


def _segmentation(s: dict[str, Any]) -> None:
    stayed = s["stayed_share"]
    head = (
        f"{stayed:.1%} of {s['customers_in_both']:,} customers stayed in their segment"
        if stayed is not None
        else "no customer is in both runs"
    )
    t = Table(title=f"{escape(s['name'])}: {head}", title_justify="left")
    t.add_column("segment", overflow="fold")
    t.add_column("before", justify="right")
    t.add_column("after", justify="right")
    t.add_column("change", justify="right")
    t.add_column("stayed", justify="right")
    t.add_column("centroid shift (sd)", justify="right")
    before, after = s["sizes"]["baseline"], s["sizes"]["current"]
    names = s["names"]["baseline"] | s["names"]["current"]
    for label in [*before, *(x for x in after if x not in before)]:
        b, a = before.get(label, 0), after.get(label, 0)
        row = s["migration"].get(label, {})
        kept = row.get(label, 0)
        moved_from = sum(row.values())
        shift = s["centroid_shift"].get(label)
        t.add_row(
            escape(names.get(label, label)),
            f"{b:,}" if label in before else "–",
            f"{a:,}" if label in after else "–",
            f"{a / b - 1:+.0%}" if b and label in after else ("new" if not b else "retired"),
            f"{kept / moved_from:.0%}" if moved_from else "–",
            f"{shift:.2f}" if shift is not None else "–",
        )
    console.print(t)
    if s["new"]:
        console.print(f"  New segments (not in the baseline): {escape(_names(s['new'], names))}")
    if s["retired"]:
        console.print(f"  Retired segments (gone now): {escape(_names(s['retired'], names))}")


def _names(labels: list[str], names: dict[str, str]) -> str:
    return ", ".join(names.get(x, x) for x in labels)


#: features shown in the terminal besides the drifted ones (the JSON and HTML hold all)
SHOWN_FEATURES = 10


def _features(features: list[dict[str, Any]]) -> None:
    """Worst first (the order of ``drift_table``): every drifted feature, then the closest
    calls up to :data:`SHOWN_FEATURES`; the rest is counted."""
    tested = [f for f in features if f.get("method") not in (None, "", "none")]
    untested = len(features) - len(tested)
    drifted = [f for f in tested if f.get("drifted")]
    shown = (
        drifted
        + [f for f in tested if not f.get("drifted")][: max(0, SHOWN_FEATURES - len(drifted))]
    )
    title = f"Feature drift: {len(drifted)} of {len(tested)} features drifted"
    t = Table(title=title, title_justify="left")
    for col in ("feature", "method", "statistic", "threshold", "p-value", "PSI", "drifted"):
        t.add_column(col, justify="left" if col in ("feature", "method") else "right")
    for f in shown:
        t.add_row(
            escape(str(f.get("feature"))),
            escape(str(f.get("method", ""))),
            _num(f.get("statistic")),
            _num(f.get("threshold")),
            _num(f.get("p_value")),
            _num(f.get("psi")),
            "[red]yes[/]" if f.get("drifted") else "no",
        )
    console.print(t)
    rest = len(tested) - len(shown)
    parts = [f"{rest} more features checked, none drifted"] if rest else []
    if untested:
        parts.append(f"{untested} could not be tested (empty, dates or on one side only)")
    if parts:
        console.print(f"  {'; '.join(parts)}: every feature is in --json and --html.")


def _num(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, int | float) and not isinstance(v, bool) else "–"


def status_json(info: dict[str, Any]) -> dict[str, Any]:
    """``segmint status --json``: tables with row counts and the runs, oldest first."""
    runs = []
    for r in info["runs"]:
        runs.append(
            {
                "id": r["run_id"],
                "kind": r["kind"],
                "at": _iso(r.get("finished_at")),
                "seq": r.get("seq"),
                "started_at": _iso(r.get("started_at")),
                "source": r.get("source"),
                "row_counts": r.get("row_counts") or {},
                "message": r.get("message"),
            }
        )
    return {"workspace": info["workspace"], "tables": info["tables"], "runs": runs}


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else value


def register(app: typer.Typer) -> None:
    """Add ``monitor`` to the command line."""
    app.command(name="monitor")(user_errors(monitor))
