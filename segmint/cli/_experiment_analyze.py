"""``segmint experiment analyze``: a split test's results, overall and per segment."""

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
    log_reports,
    parse_pairs,
    split_names,
    user_errors,
    writable_file,
)

__all__ = ["register", "show_analysis"]


def analyze(
    source: Annotated[
        str,
        typer.Argument(
            help="A results file (CSV, Excel, Parquet, …: one row per customer) or the id of "
            "a campaign in the workspace's campaign_contacts.",
            show_default=False,
        ),
    ],
    variant_column: Annotated[
        str | None,
        typer.Option(
            "--variant-column",
            help="The column that holds each row's arm (default for a campaign: variant).",
        ),
    ] = None,
    control: Annotated[
        str, typer.Option("--control", help="The arm every other arm is compared with.")
    ] = "control",
    metrics: Annotated[
        str | None,
        typer.Option(
            "--metrics",
            help="Comma-separated metric columns. 0/1 columns are proportions, others means "
            "(default for a campaign: opened, clicked, converted, revenue where filled).",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Compare within each value of this column, or within each segment of this "
            "segmentation of the workspace (its stored assignments; see --run).",
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option("--run", help="The run whose assignments --by uses (default: the latest)."),
    ] = None,
    weights: Annotated[
        list[str] | None,
        typer.Option(
            "--weights",
            help="The design's split of customers between the arms, for the sample-ratio "
            "check, e.g. --weights A=45,B=45,control=10 (default: equal).",
        ),
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment",
            help="A test designed with `segmint experiment design`: its split is the one the "
            "sample-ratio check expects (default: the design named like the campaign, if any).",
        ),
    ] = None,
    correction: Annotated[
        str,
        typer.Option(
            "--correction",
            help="Adjust the p-values across the segments of one comparison: holm, bh "
            "(Benjamini–Hochberg) or none.",
        ),
    ] = "holm",
    engine: Annotated[
        str, typer.Option("--engine", help="frequentist, bayesian or both.")
    ] = "both",
    alpha: Annotated[
        float, typer.Option("--alpha", help="Significance level (CIs are 1 − alpha).")
    ] = 0.05,
    customer_column: Annotated[
        str,
        typer.Option("--customer-column", help="The customer id column (for a segmentation)."),
    ] = "customer_id",
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write every number at full precision to this JSON file."),
    ] = None,
    html_out: Annotated[
        Path | None,
        typer.Option("--html", help="Write a page with the forest plot of lifts to this file."),
    ] = None,
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)
    ] = DEFAULT_WORKSPACE,
) -> None:
    """Compare each variant with the control on each metric, overall and per segment.

    For each comparison: the lift with its confidence interval and p-value (Welch's t-test,
    delta method), the absolute difference, the Bayesian chance to beat the control and risk
    (GrowthBook's model), the p-values adjusted across segments (Holm by default) and a
    sample-ratio-mismatch check. Formulas: docs/experiments.md.

      segmint experiment analyze hillstrom.csv --variant-column segment
        --control "No E-Mail" --metrics visit,conversion,spend --by channel

      segmint experiment analyze spring-sale -w shop.duckdb --by rfm --json spring.json
    """
    from segmint._workspace import Workspace
    from segmint.measure.analyze import analyze as run_analysis
    from segmint.measure.sources import is_file

    for out in (json_out, html_out):
        if out is not None:
            writable_file(out, "--json" if out is json_out else "--html")
    pairs = [part for w in weights or [] for part in w.split(",") if part.strip()]
    split = {k: _weight(k, v) for k, v in parse_pairs(pairs, "--weights", "A=45,B=45").items()}
    settings: dict[str, Any] = dict(
        variant_column=variant_column,
        control=control,
        metrics=split_names(metrics),
        by=by,
        run=run,
        weights=split or None,
        correction=correction,
        engine=engine,
        alpha=alpha,
        customer_column=customer_column,
    )
    if experiment is not None:
        settings["experiment"] = experiment
    if is_file(source) and not workspace.exists():
        result = run_analysis(source, **settings)
    else:
        if not workspace.exists():
            from segmint.exceptions import WorkspaceError

            raise WorkspaceError(
                f"There is no file '{source}' and no workspace '{workspace}' to find a "
                "campaign of that name in.",
                fix="check the file's path, or give the workspace with -w PATH.",
            )
        with Workspace(workspace) as ws:
            result = ws.analyze_experiment(source, **settings)
    show_analysis(result)
    if json_out is not None:
        json_out.write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
        console.print(f"Wrote {escape(str(json_out))}.")
    if html_out is not None:
        from segmint.report.experiment import render_experiment

        html_out.write_text(render_experiment(result), encoding="utf-8")
        console.print(f"Wrote {escape(str(html_out))}.")
    log_reports(workspace, "experiment", [json_out, html_out])


def _weight(name: str, value: str) -> float:
    from segmint.exceptions import ExperimentError

    try:
        return float(value)
    except ValueError:
        raise ExperimentError(
            f"--weights {name}={value}: the weight is not a number.", fix="e.g. --weights A=45."
        ) from None


def show_analysis(result: Any) -> None:
    """A Rich table per metric and variant, then the verdicts, the sample-ratio check, notes."""
    from segmint.measure.verdict import chance, p_value, percent, value

    level = f"{round((1 - result.alpha) * 100, 1):g} %"
    adjusted = result.segments and result.correction != "none"
    p_head = "p (" + {"holm": "Holm", "bh": "BH"}[result.correction] + ")" if adjusted else "p"
    for metric, kind in result.metrics.items():
        for variant in (v for v in result.variants if v != result.control):
            rows = [c for c in result.comparisons if c.metric == metric and c.variant == variant]
            table = Table(
                title=f"{escape(metric)}: {escape(variant)} vs {escape(result.control)} "
                f"({'share of 0/1' if kind == 'proportion' else 'mean'})"
            )
            table.add_column("group")
            table.add_column("n control / variant", justify="right")
            table.add_column("control → variant", justify="right")
            table.add_column(f"lift ({level} CI)", justify="right")
            if result.engine != "bayesian":
                table.add_column(p_head, justify="right")
            if result.engine != "frequentist":
                table.add_column("P(beats control)", justify="right")
            for c in rows:
                est = c.relative if c.relative is not None else c.bayesian
                ok = est.status == "ok"
                lift = est.estimate if c.relative is not None else est.expected
                row = [
                    escape(c.segment),
                    f"{c.control_stat.n:,} / {c.treatment_stat.n:,}",
                    f"{value(kind, c.control_stat)} → {value(kind, c.treatment_stat)}",
                    f"{percent(lift)} ({percent(est.ci_low)} to {percent(est.ci_high)})"
                    if ok
                    else "n/a",
                ]
                if result.engine != "bayesian":
                    p = c.p_adjusted if c.p_adjusted is not None else c.relative.p_value
                    row.append(p_value(p, result.alpha).removeprefix("p = ").removeprefix("p "))
                if result.engine != "frequentist":
                    row.append(
                        chance(c.bayesian.chance_to_win) if c.bayesian.status == "ok" else ""
                    )
                table.add_row(*row, style="bold" if c.significant else None)
            console.print(table)
    console.print("[bold]What it says[/]")
    quiet = untested = 0
    for c in result.comparisons:
        tested = (c.relative or c.bayesian).status == "ok"
        if c.segment == "All customers" or (tested and c.significant):
            console.print(f"  • {escape(c.verdict)}")
        elif tested:
            quiet += 1
        else:
            untested += 1
    if quiet or untested:
        parts = [f"{quiet:,} other segment comparisons are not significant"] if quiet else []
        if untested:
            parts.append(f"{untested:,} could not be tested (an arm empty or without spread)")
        console.print(f"  • {'; '.join(parts)}: see the tables, --json or --html.")
    for scope, check in result.srm.items():
        if check.flagged:
            err_console.print(
                f"[red]Sample ratio mismatch in {escape(scope)}[/] (p = {check.p_value:.2g}, "
                "below 0.001): the arms are not split as designed, so the lifts may be biased. "
                + (
                    "Check how customers were assigned before trusting them."
                    if result.weights
                    else "This was checked against an equal split: if the design split the "
                    "arms otherwise, give it with --weights (e.g. A=45,B=45,control=10)."
                )
            )
            if not result.weights:
                break
    overall = result.srm.get("All customers")
    if overall is not None and not overall.flagged:
        console.print(
            f"Sample ratio check: no mismatch (p = {overall.p_value:.3g}; flagged below 0.001)."
        )
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {escape(note)}")


def register(group: typer.Typer) -> None:
    """Add the command to the ``experiment`` group."""
    group.command("analyze")(user_errors(analyze))
