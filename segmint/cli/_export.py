"""``segmint export`` and ``segmint exports``: audience files for ad platforms and e-mail tools.

A module of its own because the destinations are plugins: ``--help`` lists every module in
``segmint/activate/exporters`` (name, platform, consent, minimum audience), found when the
help is shown rather than when the command line starts, since importing the activation stage
costs seconds that ``segmint status`` should not pay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand, TyperOption

from segmint.cli._common import (
    DEFAULT_WORKSPACE,
    WORKSPACE_HELP,
    console,
    err_console,
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

__all__ = ["register"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]
DESTINATIONS = "{destinations}"  # replaced by the list of destinations when --help is shown


def destinations_help() -> str:
    """One line per destination: name, the platform's file, who may be in it, minimum size."""
    from segmint.activate.exporters import all_exporters

    consent = {"ads": "ads consent", "email": "e-mail consent", "file": "no consent filter"}
    lines = []
    for name, e in all_exporters().items():
        extra = [consent[e.audience]]
        if e.min_size > 1:
            extra.append(f"at least {e.min_size:,} people")
        if e.hashable:
            extra.append("SHA-256 hashed unless --plain")
        lines.append(f"  {name:<12} {e.title} ({', '.join(extra)})")
    return "\n\n".join(lines)


class _ExportCommand(TyperCommand):
    """Fills the destination list into the help text when it is shown."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from segmint.activate.exporters import all_exporters

        names = "|".join(all_exporters())
        if self.help and DESTINATIONS in self.help:
            self.help = self.help.replace(DESTINATIONS, destinations_help())
        for param in self.params:
            if isinstance(param, TyperOption) and param.name == "to" and param.help:
                param.help = param.help.replace(DESTINATIONS, names.replace("|", ", "))
                param.metavar = names
        super().format_help(ctx, formatter)


EXPORT_HELP = f"""Write the file an ad platform or e-mail tool imports for one or more segments.

Customers without the consent the destination needs (ads consent for Google and Meta,
e-mail consent for e-mail tools) or without an identifier it can match on are left out
and counted; a missing consent value counts as no consent unless --assume-consent (the
log records it). Google and Meta take audiences of at least 100 people: a smaller one is
refused unless --min-size is lowered. Every file is logged with its SHA-256
(`segmint exports`). The latest run holding the segmentation is used unless --run names one.

With --engine spark the segments' customers are selected in Spark and only their rows come
to this machine to become the file (docs/scale.md).

Destinations (--to):

{DESTINATIONS}

Examples:

  segmint export --segmentation rfm --segment Champions --to mailchimp --out champions.csv

  segmint export --segmentation rfm --segment Champions --segment Loyal --to google-ads --out ads.csv

  segmint exports                 # every file written so far (--json for scripts)

  segmint export --engine spark -w shop-spark -s rfm --segment Champions --to meta -o m.csv

Formats, sources and consent rules: docs/activation.md.
"""


def export(
    segmentation: Annotated[
        str,
        typer.Option(
            "--segmentation", "-s", help="The segmentation, e.g. rfm or clusters (see the report)."
        ),
    ],
    segment: Annotated[
        list[str],
        typer.Option(
            "--segment",
            help="A segment's name or label, e.g. --segment Champions; repeat it to put several "
            "segments in one file (each row says its segment).",
        ),
    ],
    to: Annotated[
        str,
        typer.Option("--to", help=f"Where the file goes: {DESTINATIONS}."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write (CSV).")],
    run: Annotated[
        str | None,
        typer.Option("--run", help="The segment run (default: the latest with the segmentation)."),
    ] = None,
    hashed: Annotated[
        bool | None,
        typer.Option(
            "--hashed/--plain",
            help="SHA-256 the identifiers, as the ad platforms take them (their default); "
            "--plain writes them as text. E-mail tools and csv are always plain.",
        ),
    ] = None,
    min_size: Annotated[
        int | None,
        typer.Option(
            "--min-size",
            min=0,
            help="Write an audience smaller than the platform's minimum (Google, Meta: 100).",
        ),
    ] = None,
    assume_consent: Annotated[
        bool,
        typer.Option(
            "--assume-consent",
            help="Count a missing consent value as consent (an explicit 'no' still leaves the "
            "customer out). Recorded in the export log.",
        ),
    ] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
    engine: Engine_ = "duckdb",
    spark_master: SparkMaster = None,
    spark_warehouse: SparkWarehouse = None,
    spark_conf: SparkConf = None,
) -> None:
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError

    if check_engine(engine) == "spark":
        writable_file(out)
        with open_engine(
            workspace, spark_master, spark_warehouse, must_exist=True, conf=spark_conf
        ) as ews:
            result = ews.export(
                segmentation,
                segment,
                to=to,
                out=out,
                run=run,
                hashed=hashed,
                min_size=min_size,
                assume_consent=assume_consent,
            )
        show_result(result)
        return
    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace of your runs with -w PATH (default ./segmint.duckdb).",
        )
    writable_file(out)
    with Workspace(workspace) as ws:
        result = ws.export(
            segmentation,
            segment,
            to=to,
            out=out,
            run=run,
            hashed=hashed,
            min_size=min_size,
            assume_consent=assume_consent,
        )
    show_result(result)


def show_result(r: Any) -> None:
    from segmint.activate.exporters import lookup

    title = lookup(r.destination).title
    console.print(
        f"Wrote [bold]{r.rows_written:,}[/] rows to {escape(r.path)} ({escape(title)}"
        f"{', SHA-256 hashed' if r.hashed else ''})."
    )
    names = ", ".join(r.segment_names)
    console.print(f"  segments      {escape(names)} ({escape(r.segmentation)}, run {r.run_id})")
    console.print(f"  left out      {escape(_left_out(r))}")
    console.print(f"  SHA-256       {r.sha256}")
    console.print(f"  logged as     {r.export_id} by {escape(r.created_by)} (segmint exports)")
    for w in r.warnings:
        err_console.print(f"[yellow]Warning:[/] {escape(w)}")


def _left_out(r: Any) -> str:
    parts = [f"{n:,} {reason}" for reason, n in (r.left_out or {}).items() if n]
    text = ", ".join(parts) if parts else "none"
    return text + (" (missing consent assumed)" if r.assume_consent else "")


def exports(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the log as JSON (one object per export).")
    ] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
    engine: Engine_ = "duckdb",
) -> None:
    """List every audience file written from the workspace, newest first.

    For each: when, who, the run, segmentation and segments, destination, rows written, rows
    left out and why, the file and its SHA-256.

      segmint exports -w shop.duckdb

      segmint exports --json > exports.json

      segmint exports --engine spark -w shop-spark   # the log is on the driver: no Spark started
    """
    from segmint._workspace import Workspace

    found = []
    if check_engine(engine) == "spark":
        found = _engine_exports(workspace)
    elif workspace.exists():
        with Workspace(workspace, read_only=True) as ws:
            found = ws.exports()
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in found], indent=2, ensure_ascii=False))
        return
    if not found:
        console.print("No exports yet: write one with [bold]segmint export[/] (see --help).")
        return
    t = Table(title=f"Exports ({len(found)})", title_justify="left")
    for col in ("time (UTC)", "who", "run", "segmentation", "segments", "to", "rows"):
        t.add_column(col, justify="right" if col == "rows" else "left", overflow="fold")
    t.add_column("left out", overflow="fold")
    t.add_column("file", overflow="fold")
    t.add_column("SHA-256", overflow="fold")
    for r in found:
        t.add_row(
            r.created_at.replace("T", " "),
            escape(r.created_by),
            r.run_id,
            escape(r.segmentation),
            escape(", ".join(r.segment_names) + (f" ({r.label})" if r.label else "")),
            r.destination + (" (hashed)" if r.hashed else ""),
            f"{r.rows_written:,}",
            escape(_left_out(r)),
            escape(r.path),
            r.sha256,
        )
    console.print(t)


def _engine_exports(workspace: Path) -> list[Any]:
    """The export log of a Spark workspace: its driver file, read without starting Spark
    (opened as the workspace opens it, so a process holding the workspace can list too)."""
    from segmint._engine_workspace import METADATA_FILE
    from segmint.activate.export import list_exports
    from segmint.store import Store

    path = spark_path(workspace) / METADATA_FILE
    if not path.exists():
        return []
    store = Store(path)
    try:
        return list_exports(store)
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    """Add ``export`` and ``exports`` to the command line."""
    app.command(name="export", cls=_ExportCommand, help=EXPORT_HELP)(user_errors(export))
    app.command(name="exports")(user_errors(exports))
