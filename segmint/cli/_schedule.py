"""``segmint schedule``: add, list and remove scheduled re-runs; run the due ones from cron.

The schedules live in the workspace (:mod:`segmint._run.schedule`), so ``segmint serve`` and
``segmint schedule run-due`` see the same ones. ``run-due`` keeps ``segmint monitor``'s exit
codes, the contract a cron job builds on: 0, or 3 with ``--fail-on-drift`` when a run's alerts
crossed a threshold, 2 for a user error, a scheduled run that failed included (its paragraph
is printed and recorded; the other due schedules still run).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from segmint.cli._common import (
    DEFAULT_WORKSPACE,
    WORKSPACE_HELP,
    console,
    progress_display,
    user_errors,
    writable_folder,
)
from segmint.cli._monitor import CROSSED
from segmint.exceptions import WorkspaceError

__all__ = ["FAILED", "register", "schedule_app"]

Workspace_ = Annotated[Path, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
#: the exit code of run-due when a scheduled run failed: a user error, as everywhere
FAILED = 2

schedule_app = typer.Typer(
    help="Scheduled re-runs of a spec, each compared with the run before it (alerts kept).\n\n"
    '  segmint schedule add "0 6 * * 1" --spec segmint.yaml    # Mondays 06:00 UTC\n\n'
    "  segmint schedule list\n\n"
    "  segmint schedule run-due          # from cron, when no `segmint serve` runs them\n\n"
    "docs/monitoring.md, Scheduled re-runs.",
    no_args_is_help=True,
)


def add(
    cron: Annotated[
        str,
        typer.Argument(
            help='When, as a cron expression in UTC (quote it): "0 6 * * 1" = Mondays 06:00, '
            '"30 5 * * *" = every day 05:30, "0 7 1 * *" = the 1st of each month 07:00.'
        ),
    ],
    spec: Annotated[
        Path, typer.Option("--spec", help="The YAML spec to run (read again at each run).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the reports, one sub-folder per run named by its UTC time "
            "(default: WORKSPACE-schedules/ID/ next to the workspace).",
        ),
    ] = None,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Add a scheduled re-run of a spec to the workspace.

    Each run does what `segmint run --spec SPEC` does, then compares the new segment run with
    the one before it (the spec's monitoring: thresholds) and records the alerts. The spec file
    is read again at each run, so edits apply to the next one. `segmint serve` runs due
    schedules by itself; without a server, call `segmint schedule run-due` from cron.

      segmint schedule add "0 6 * * 1" --spec segmint.yaml -w shop.duckdb
    """
    from segmint._run.schedule import add_schedule
    from segmint._workspace import Workspace

    if out is not None:
        writable_folder(out, "the reports")
    with Workspace(workspace) as ws:
        s = add_schedule(ws, cron, spec, out_dir=out)
    console.print(
        f"Added schedule [bold]{s.schedule_id}[/]: {escape(s.cron)} (UTC), "
        f"spec {escape(str(s.spec_path))}; next run {s.next_run_at:%Y-%m-%d %H:%M} UTC."
    )
    console.print(
        "It runs while `segmint serve` is running; without a server, add this line to your "
        "crontab (crontab -e) to check every 15 minutes:\n"
        f"  */15 * * * * {_cron_line(workspace)}"
    )


def list_(as_json: AsJson = False, workspace: Workspace_ = DEFAULT_WORKSPACE) -> None:
    """List the schedules: expression, spec, next run, last run and its alerts."""
    from segmint._run.schedule import list_schedules, schedule_runs

    with _existing(workspace) as ws:
        found = list_schedules(ws)
        last = {s.schedule_id: _last(schedule_runs(ws, s.schedule_id, limit=1)) for s in found}
    if as_json:
        data = [{**s.to_dict(), "last_run": last[s.schedule_id]} for s in found]
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    if not found:
        console.print('No schedules. Add one: segmint schedule add "0 6 * * 1" --spec segmint.yaml')
        return
    t = Table(title="Schedules (times in UTC)", title_justify="left")
    for col in ("id", "cron", "spec", "next run", "last run", "last result"):
        t.add_column(col, overflow="fold")
    for s in found:
        r = last[s.schedule_id]
        t.add_row(
            s.schedule_id,
            escape(s.cron),
            escape(s.spec_path or "(sent to the server)"),
            f"{s.next_run_at:%Y-%m-%d %H:%M}",
            f"{s.last_run_at:%Y-%m-%d %H:%M}" if s.last_run_at else "–",
            escape(_outcome(r)) if r else "–",
        )
    console.print(t)


def remove(
    schedule_id: Annotated[str, typer.Argument(help="The schedule's id (segmint schedule list).")],
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Remove a schedule and its run history (the segment runs it made stay)."""
    from segmint._run.schedule import remove_schedule

    with _existing(workspace, writing=True) as ws:
        s = remove_schedule(ws, schedule_id)
    console.print(f"Removed schedule {s.schedule_id} ({escape(s.cron)}).")


def run_due(
    as_json: AsJson = False,
    fail_on_drift: Annotated[
        bool,
        typer.Option(
            "--fail-on-drift", help="Exit with code 3 when a run's alerts crossed a threshold."
        ),
    ] = False,
    workspace: Workspace_ = DEFAULT_WORKSPACE,
) -> None:
    """Run the schedules that are due now, for cron when no `segmint serve` is running.

    Each due schedule runs once (runs missed while nothing checked run once, not once per
    missed time), is compared with the segment run before it, and its alerts are recorded
    (`segmint schedule list`, the web app's Schedules page). A crontab line that checks every
    15 minutes and keeps a log:

      */15 * * * * cd /srv/shop && segmint schedule run-due -w shop.duckdb >> schedule.log 2>&1

    Exit code 0; 3 with --fail-on-drift when an alert was raised; 2 for a user error,
    including a scheduled run that failed (its paragraph is printed and recorded, and the
    other due schedules still run).
    """
    from segmint._run.schedule import run_due as run

    with _existing(workspace, writing=True) as ws, progress_display(ws.store.db) as step:
        done = [r.to_dict() for r in run(ws, progress=step)]
    if as_json:
        typer.echo(json.dumps(done, indent=2, ensure_ascii=False, default=str))
    elif not done:
        console.print("No schedule is due.")
    for r in done if not as_json else []:
        console.print(f"Schedule [bold]{r['schedule_id']}[/]: {escape(_outcome(r))}")
        for a in r["alerts"]:
            console.print(f"  {escape(a['message'])}")
        if r["report_dir"] and r["status"] == "ok":
            console.print(f"  Report: {escape(r['report_dir'])}")
    if any(r["status"] == "failed" for r in done):
        raise typer.Exit(FAILED)
    if fail_on_drift and any(r["crossed"] for r in done):
        raise typer.Exit(CROSSED)


def _last(runs: list[Any]) -> dict[str, Any] | None:
    return runs[0].to_dict() if runs else None


def _outcome(r: dict[str, Any]) -> str:
    if r["status"] == "failed":
        return f"failed: {r['error']}"
    alerts = len(r["alerts"])
    against = f" against {r['baseline_run_id']}" if r["baseline_run_id"] else ""
    return f"ok, run {r['run_id']}{against}: " + (
        f"{alerts} alert{'s' if alerts != 1 else ''}" if alerts else "no alerts"
    )


def _cron_line(workspace: Path) -> str:
    from segmint.cli._render import segmint_command

    return f"{segmint_command()} schedule run-due -w {shlex.quote(str(workspace.resolve()))}"


def _existing(workspace: Path, *, writing: bool = False) -> Any:
    from segmint._workspace import Workspace

    if not workspace.exists():
        raise WorkspaceError(
            f"There is no workspace '{workspace}'.",
            fix="give the workspace of your schedules with -w PATH (default ./segmint.duckdb).",
        )
    return Workspace(workspace, read_only=not writing)


def register(app: typer.Typer) -> None:
    """Add ``segmint schedule`` and its commands to the CLI."""
    schedule_app.command(name="add")(user_errors(add))
    schedule_app.command(name="list")(user_errors(list_))
    schedule_app.command(name="remove")(user_errors(remove))
    schedule_app.command(name="run-due")(user_errors(run_due))
    app.add_typer(schedule_app, name="schedule")
