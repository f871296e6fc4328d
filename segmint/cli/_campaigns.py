"""``segmint campaigns``: campaign results per campaign, segment and channel.

The terminal shows rates as "3.1 % (2.8–3.4)" so the interval is never separated from the
point estimate, and an empty cell (–) always has its reason printed under the table; the
JSON (``--json``) holds every number at full precision.
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
    log_reports,
    user_errors,
    writable_file,
)

__all__ = ["register"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]

HELP = "\n\n".join(
    [
        "Campaign results per campaign, segment and channel, and the channel each segment "
        "converts best on.",
        "Reads the imported campaign contacts (one row per contacted customer, with sent, "
        "opened, clicked, converted and revenue) and the campaigns (channel, cost). For each "
        "group: contacts reached, open / click / conversion rates with 95 % Wilson intervals, "
        "revenue, revenue per contact, cost (each campaign's cost shared by its reached "
        "contacts), ROI = (revenue − cost) / cost and cost per conversion. Then, per segment, "
        "the channel with the highest conversion rate and whether the runner-up is clearly "
        "worse (two-proportion z-test).",
        "A contact's segment is the one in the file; where the file has none, --segmentation "
        "takes it from the segment run that was active when the message was sent (or from "
        "--run).",
        "Examples:",
        "  segmint ingest campaigns.csv --as campaigns",
        "  segmint ingest contacts.csv --as campaign_contacts",
        "  segmint campaigns --segmentation rfm",
        "  segmint campaigns --by segment --by channel --json results.json",
        "  segmint campaigns --campaign CMP-1 --campaign CMP-2 --by segment",
        "Formulas and defaults: docs/experiments.md (Campaign results).",
    ]
)


def campaigns(
    campaign: Annotated[
        list[str] | None,
        typer.Option("--campaign", "-c", help="A campaign id (repeat for several; default: all)."),
    ] = None,
    segmentation: Annotated[
        str | None,
        typer.Option(
            "--segmentation",
            "-s",
            help="Take the segment of contacts the file gives none from this segmentation's "
            "stored runs: the run active at send time.",
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option("--run", help="Use this segment run's assignments instead (needs -s)."),
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Group by segment, channel or campaign (repeat to combine; default: all three).",
            metavar="segment|channel|campaign",
        ),
    ] = None,
    confidence: Annotated[
        float,
        typer.Option("--confidence", min=0.5, max=0.999, help="Interval level (default 0.95)."),
    ] = 0.95,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Also write every number (full precision) to this file."),
    ] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    from segmint._workspace import Workspace
    from segmint.exceptions import WorkspaceError

    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace holding the imported campaign contacts with -w PATH "
            "(default ./segmint.duckdb).",
        )
    if json_out is not None:
        writable_file(json_out, "--json")
    with Workspace(workspace, read_only=True) as ws:
        res = ws.campaigns(
            campaign or (),
            segmentation=segmentation,
            run=run,
            by=by or ("campaign", "segment", "channel"),
            confidence=confidence,
        )
    show(res)
    if json_out is not None:
        json_out.write_text(
            json.dumps(res.to_dict(), indent=2, ensure_ascii=False, allow_nan=False),
            encoding="utf-8",
        )
        console.print(f"Wrote {escape(str(json_out))}.")
    log_reports(workspace, "campaigns", [json_out])


def show(res: Any) -> None:
    """Two tables (rates; money), the reasons for their empty cells, the best channels and the
    notes. Two tables, because one with every column does not fit a terminal."""
    from segmint.measure.campaigns import percent

    level = f"{res.confidence:.0%}".replace("%", " %")
    reasons: dict[str, set[str]] = {}
    rates = _table(res, f"Campaign results: rates with {level} intervals", ["reached"])
    money = _table(res, "Campaign results: revenue and cost", [])
    for r in res.rows:
        keys = {"campaign": r.campaign_id, "segment": r.segment, "channel": r.channel}
        dims = [escape(str(keys[d])) for d in res.by]
        rates.add_row(
            *dims, f"{r.counts.reached:,}", *(_rate(x, name, reasons) for name, x in _rates(r))
        )
        money.add_row(
            *dims,
            *(_money(fig, name, reasons) for name, fig in _figures(r)),
            _fig(r.roi, "ROI", reasons, percent),
            _money(r.cost_per_conversion, "cost/conversion", reasons),
        )
    console.print(rates)
    console.print(money)
    for name, why in reasons.items():
        console.print(f"  [dim]– in {name}: {escape('; '.join(sorted(why)))}[/]")
    if res.best_channels:
        console.print("\n[bold]Best channel per segment[/]")
        for c in res.best_channels:
            console.print(f"  {escape(c.sentence)}")
    for n in res.notes:
        console.print(f"[yellow]Note:[/] {escape(n)}")


def _table(res: Any, title: str, extra: list[str]) -> Table:
    t = Table(title=title, title_justify="left")
    for d in res.by:
        t.add_column(d, overflow="fold")
    money = ["revenue", "per contact", "cost", "ROI", "cost/conversion"]
    for col in extra + (["open", "click", "conversion"] if extra else money):
        t.add_column(col, justify="right")
    return t


def _rates(r: Any) -> list[tuple[str, Any]]:
    return [("open", r.open_rate), ("click", r.click_rate), ("conversion", r.conversion_rate)]


def _figures(r: Any) -> list[tuple[str, Any]]:
    return [("revenue", r.revenue), ("per contact", r.revenue_per_contact), ("cost", r.cost)]


def _rate(rate: Any, name: str, reasons: dict[str, set[str]]) -> str:
    from segmint.measure.campaigns import percent

    if rate.value is None:
        reasons.setdefault(name, set()).add(rate.reason)
        return "–"
    low, high = percent(rate.low).removesuffix(" %"), percent(rate.high).removesuffix(" %")
    return f"{percent(rate.value)} ({low}–{high})"


def _money(fig: Any, name: str, reasons: dict[str, set[str]]) -> str:
    return _fig(fig, name, reasons, lambda v: f"{v:,.2f}")


def _fig(fig: Any, name: str, reasons: dict[str, set[str]], shown: Any) -> str:
    if fig.value is None:
        reasons.setdefault(name, set()).add(fig.reason)
        return "–"
    return str(shown(fig.value))


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""
    app.command(name="campaigns", help=HELP)(user_errors(campaigns))
