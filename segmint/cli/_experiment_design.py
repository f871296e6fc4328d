"""``segmint experiment design`` and ``segmint experiment list``: split tests on segments.

The design itself lives in :mod:`segmint.measure.design`; this module parses the options
(comma-separated variants and weights), checks the output folder before anything is stored,
and prints the counts per segment × variant and the files written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from segmint.cli._common import (
    DEFAULT_WORKSPACE,
    WORKSPACE_HELP,
    console,
    err_console,
    split_names,
    user_errors,
    writable_folder,
)
from segmint.exceptions import SpecError, WorkspaceError

__all__ = ["register"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]

DESIGN_HELP = """Split the customers of one or more segments into variants, store who is in which.

Each customer's variant comes from a hash of (salt, customer id): the first 8 hex digits of
md5(salt:customer_id) place the customer in [0, 1), and the variants take contiguous ranges
by their weights. Nothing random is kept: the same salt gives the same arms when re-run,
another salt reshuffles them. Several segments are each split with the same weights, and the
counts per segment and variant are shown. The variant named "control" is the hold-out.

With --export DESTINATION --out DIR, each variant but the hold-out gets its audience file
(the rules of `segmint export`: consent, identifiers, minimum size; logged in `segmint
exports` with the experiment and variant).

Examples:

  segmint experiment design --segmentation rfm --segment Champions --name spring

  segmint experiment design -s rfm --segment Champions --segment Loyal --name spring \\
      --variants A,B,control --weights 45,45,10 --export mailchimp --out audiences/

  segmint experiment list

How the hash works and what is stored: docs/experiments.md, "Designing a test".
"""


def design(
    segmentation: Annotated[
        str, typer.Option("--segmentation", "-s", help="The segmentation, e.g. rfm or clusters.")
    ],
    segment: Annotated[
        list[str] | None,
        typer.Option(
            "--segment",
            help="A segment's name or label; repeat it for several (each is split on its own). "
            "Default: every segment of the segmentation.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="The experiment's name (default: SEGMENTATION-test), also the salt."
        ),
    ] = None,
    variants: Annotated[
        str,
        typer.Option("--variants", help="Variant names, comma-separated, in hash-range order."),
    ] = "A,B,control",
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights", help="One positive weight per variant, e.g. 45,45,10 (default equal)."
        ),
    ] = None,
    salt: Annotated[
        str | None,
        typer.Option("--salt", help="Hashed with each customer id (default: the name)."),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option("--run", help="The segment run (default: the latest with the segmentation)."),
    ] = None,
    control: Annotated[
        str | None,
        typer.Option(
            "--control", help='The hold-out variant, which gets no file (default: "control").'
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Design again an experiment whose name is already used."),
    ] = False,
    export: Annotated[
        str | None,
        typer.Option(
            "--export",
            help="Write each variant's audience file for this destination (google-ads, meta, "
            "klaviyo, mailchimp, hubspot, csv; see segmint export --help).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The folder for the audience files.")
    ] = None,
    min_size: Annotated[
        int | None,
        typer.Option("--min-size", min=0, help="Export variants under the platform's minimum."),
    ] = None,
    assume_consent: Annotated[
        bool,
        typer.Option("--assume-consent", help="Count a missing consent value as consent."),
    ] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    from segmint._workspace import Workspace
    from segmint.measure.design import parse_weights

    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace of your runs with -w PATH (default ./segmint.duckdb).",
        )
    if out is not None and export is None:
        raise SpecError(
            "--out is the folder of --export's files; --export is missing.",
            fix="add --export DESTINATION, or leave out --out.",
        )
    if export is not None and out is not None:
        writable_folder(out, "the audience files' folder")
    with Workspace(workspace) as ws:
        d = ws.design_experiment(
            name or f"{segmentation}-test",
            segmentation,
            segment,
            variants=split_names(variants) or [],
            weights=parse_weights(weights),
            salt=salt,
            run=run,
            control=control,
            replace=replace,
            export=export,
            out=out,
            min_size=min_size,
            assume_consent=assume_consent,
        )
    show_design(d)


def show_design(d: Any) -> None:
    """The counts per segment × variant, then the files written."""
    shares = " / ".join(f"{escape(v)} {w:.0%}" for v, w in zip(d.variants, d.weights, strict=True))
    console.print(
        f"Experiment [bold]{escape(d.name)}[/] ({d.experiment_id}): {d.n_customers:,} customers "
        f"of {escape(d.segmentation)} (run {d.run_id}), salt {escape(repr(d.salt))}."
    )
    console.print(f"  weights       {shares}")
    if d.control:
        console.print(f"  hold-out      {escape(d.control)} (no audience file)")
    if d.stratified:
        console.print(
            f"  stratified    each of the {len(d.segments)} segments is split with these "
            "weights on its own"
        )
    t = Table(title="Customers per segment and variant", title_justify="left")
    t.add_column("segment")
    for v in d.variants:
        t.add_column(escape(v), justify="right")
    t.add_column("total", justify="right")
    for label, seg_name in zip(d.segments, d.segment_names, strict=True):
        by = d.counts[label]
        t.add_row(escape(seg_name), *(f"{by[v]:,}" for v in d.variants), f"{sum(by.values()):,}")
    if d.stratified:
        total = d.variant_counts()
        t.add_row("all", *(f"{total[v]:,}" for v in d.variants), f"{d.n_customers:,}")
    console.print(t)
    for r in d.exports:
        left = ", ".join(f"{n:,} {why}" for why, n in r.left_out.items() if n) or "none left out"
        console.print(
            f"Wrote {r.rows_written:,} rows to {escape(r.path)} ({left}; logged as {r.export_id})."
        )
        for w in r.warnings:
            err_console.print(f"[yellow]Warning:[/] {escape(w)}")


def list_(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the experiments as JSON (one object each).")
    ] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """List the split tests designed in the workspace, newest first.

    segmint experiment list -w shop.duckdb

    segmint experiment list --json > experiments.json
    """
    from segmint._workspace import Workspace

    found = []
    if workspace.exists():
        with Workspace(workspace, read_only=True) as ws:
            found = ws.experiments()
    if as_json:
        typer.echo(json.dumps([d.to_dict() for d in found], indent=2, ensure_ascii=False))
        return
    if not found:
        console.print(
            "No experiments yet: design one with [bold]segmint experiment design[/] (see --help)."
        )
        return
    t = Table(title=f"Experiments ({len(found)})", title_justify="left")
    for col in ("id", "name", "designed (UTC)", "segments (run)", "variants: share (customers)"):
        t.add_column(col, overflow="fold")
    t.add_column("salt", overflow="fold")
    for d in found:
        per = d.variant_counts()
        arms = ", ".join(
            f"{v}: {w:.0%} ({per[v]:,})" for v, w in zip(d.variants, d.weights, strict=True)
        )
        t.add_row(
            d.experiment_id,
            escape(d.name),
            d.created_at.replace("T", " "),
            escape(f"{d.segmentation}: {', '.join(d.segment_names)} ({d.run_id})"),
            escape(arms),
            escape(d.salt),
        )
    console.print(t)


def register(group: typer.Typer) -> None:
    """Add ``design`` and ``list`` to the ``experiment`` group."""
    group.command(name="design", help=DESIGN_HELP)(user_errors(design))
    group.command(name="list")(user_errors(list_))
