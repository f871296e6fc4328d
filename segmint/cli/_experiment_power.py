"""``segmint experiment power``: how many customers a split test needs, before it is designed.

A command of its own so a marketer can size a test without a workspace: it writes nothing and
solves the power equation (``segmint.measure.power``). With ``--segmentation`` and
``--segment`` it reads one number from a workspace, the segment's size in the latest run.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

from segmint.cli._common import DEFAULT_WORKSPACE, WORKSPACE_HELP, console, user_errors
from segmint.exceptions import SpecError

if TYPE_CHECKING:  # the command line starts without loading statsmodels
    from segmint.measure.power import Power

__all__ = ["register"]

WHERE = "segmint experiment power"
Kind = Literal["proportion", "mean"]


def power(
    baseline: Annotated[
        float,
        typer.Option(
            "--baseline",
            help="The control's expected value: a rate such as 0.05 (5 % convert) for "
            "--kind proportion, an average such as 42.5 (spend per customer) for --kind mean.",
        ),
    ],
    mde: Annotated[
        float,
        typer.Option(
            "--mde",
            help="The smallest change worth detecting, relative to the baseline: 0.1 = a 10 % "
            "lift (0.05 → 0.055). With --absolute, a change in the metric's own units.",
        ),
    ],
    kind: Annotated[
        str,
        typer.Option(
            "--kind", help="proportion (a 0/1 metric: converted, clicked) or mean (any values)."
        ),
    ] = "proportion",
    sd: Annotated[
        float | None,
        typer.Option(
            "--sd", help="The metric's standard deviation per customer (needed for --kind mean)."
        ),
    ] = None,
    absolute: Annotated[
        bool,
        typer.Option("--absolute", help="Read --mde as an absolute change (0.005 = 0.5 points)."),
    ] = False,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Significance level of the two-sided test.")
    ] = 0.05,
    power_: Annotated[
        float,
        typer.Option("--power", help="Chance of detecting a true change of --mde (e.g. 0.8)."),
    ] = 0.8,
    arms: Annotated[
        int, typer.Option("--arms", help="Arms including the control (each gets the same size).")
    ] = 2,
    segment_size: Annotated[
        int | None,
        typer.Option(
            "--segment-size", help="Customers in the segment: says whether it fills every arm."
        ),
    ] = None,
    segmentation: Annotated[
        str | None,
        typer.Option(
            "--segmentation",
            help="With --segment: take the segment's size from the latest run in the workspace.",
        ),
    ] = None,
    segment: Annotated[
        list[str] | None,
        typer.Option("--segment", help="A segment's name or label (repeat to add segments)."),
    ] = None,
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)
    ] = DEFAULT_WORKSPACE,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON, for scripts.")
    ] = False,
) -> None:
    """Customers per arm (and in total) a split test needs to detect a change.

    Two-sided test, equal arms: Cohen's h and a z-test for proportions, Cohen's d and a
    t-test for means (statsmodels). Each variant is compared with the control at --alpha
    (no multiple-testing correction: give a smaller --alpha to plan for one).

    Examples:

      segmint experiment power --baseline 0.05 --mde 0.1

      segmint experiment power --baseline 0.05 --mde 0.1 --arms 3 --segment-size 80000

      segmint experiment power --baseline 0.05 --mde 0.2 -w shop.duckdb --segmentation rfm --segment Champions

      segmint experiment power --kind mean --baseline 42.5 --sd 60 --mde 0.05 --json

    Formulas and sources: docs/experiments.md (Sample size).
    """
    from segmint.measure.power import enough, sample_size

    if kind not in ("proportion", "mean"):
        raise SpecError(
            f"--kind {kind!r} is not a kind of metric.",
            where=WHERE,
            fix="use --kind proportion (0/1 values) or --kind mean (any values).",
        )
    if kind == "mean" and sd is None:
        raise SpecError(
            "--kind mean needs the metric's standard deviation.",
            where=WHERE,
            fix="add --sd, e.g. the standard deviation of spend per customer in a past campaign.",
        )
    if kind == "proportion" and sd is not None:
        raise SpecError(
            "--sd is for --kind mean; a proportion's spread follows from its rate.",
            where=WHERE,
            fix="leave out --sd, or add --kind mean.",
        )
    if segmentation is not None or segment:
        if segment_size is not None:
            raise SpecError(
                "Give either --segment-size or --segmentation with --segment, not both.",
                where=WHERE,
                fix="drop --segment-size to take the size from the workspace.",
            )
        segment_size = _segment_size(workspace, segmentation, segment or [])
    if segment_size is not None and segment_size < 0:
        raise SpecError(
            f"--segment-size {segment_size} is negative.",
            where=WHERE,
            fix="give the number of customers in the segment.",
        )
    try:
        result = sample_size(
            baseline,
            mde,
            kind=cast(Kind, kind),
            sd=sd,
            relative=not absolute,
            alpha=alpha,
            power=power_,
            arms=arms,
        )
    except ValueError as exc:
        raise SpecError(
            str(exc), where=WHERE, fix="check the options (segmint experiment power --help)."
        ) from None
    verdict = enough(result, segment_size) if segment_size is not None else None
    if as_json:
        out = asdict(result) | {"segment_size": segment_size}
        out |= {"enough": verdict[0], "verdict": verdict[1]} if verdict else {}
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    show(result, verdict)


def show(result: Power, verdict: tuple[bool, str] | None) -> None:
    """The plan in a few lines, and the segment's verdict when one was asked for."""
    if result.kind == "proportion":
        change = f"a rate of {_pct(result.baseline)} → {_pct(result.target)}"
    else:
        change = f"a mean of {result.baseline:g} → {result.target:g}, sd {result.sd:g}"
    how = (
        f"{_pct(result.mde, sign=True)} relative"
        if result.relative
        else f"{result.mde:+g} absolute"
    )
    console.print(
        f"To detect {change} ({how}) at alpha {result.alpha:g} with {_pct(result.power)} power:"
    )
    console.print(f"  per arm   [bold]{result.n_per_arm:,}[/] customers")
    console.print(f"  total     [bold]{result.n_total:,}[/] customers ({result.arms} arms)")
    console.print(f"  method    {result.method}")
    if verdict:
        ok, sentence = verdict
        console.print(f"  segment   [{'green' if ok else 'yellow'}]{sentence}[/]")


def _pct(x: float, sign: bool = False) -> str:
    """0.055 → '5.5 %' (four significant digits)."""
    return f"{'+' if sign and x > 0 else ''}{x * 100:.4g} %"


def register(group: typer.Typer) -> None:
    """Add the command to the ``experiment`` group."""
    group.command(name="power")(user_errors(power))


def _segment_size(workspace: Path, segmentation: str | None, segments: list[str]) -> int:
    """Customers of ``segments`` in the latest run holding ``segmentation``."""
    from segmint._workspace import Workspace
    from segmint.activate.export import latest_run, resolve_segments, segmentation_result

    if segmentation is None or not segments:
        raise SpecError(
            "--segmentation and --segment go together.",
            where=WHERE,
            fix="e.g. --segmentation rfm --segment Champions -w shop.duckdb.",
        )
    if not workspace.exists():
        raise SpecError(
            f"There is no workspace '{workspace}' to find the segment in.",
            where=WHERE,
            fix="give it with -w PATH, or give the size with --segment-size.",
        )
    with Workspace(workspace, read_only=True) as ws:
        run = latest_run(ws.store, segmentation)
        labels = [
            lab
            for lab, _ in resolve_segments(
                segmentation_result(ws.store, run, segmentation), segments
            )
        ]
        row = ws.store.db.execute(
            "SELECT count(*) FROM segment_assignments WHERE run_id = ? AND segmentation = ? "
            "AND list_contains(?, segment)",
            [run, segmentation, labels],
        ).fetchone()
    return int(row[0]) if row else 0
