"""Scheduled re-runs: run a spec when its cron expression says, and record what changed.

Segments evolve, so a spec is re-run regularly (on new exports, or on the data as it grows)
and each new segment run is compared with the one before it (:func:`compare_runs`, the spec's
``monitoring:`` thresholds). The schedules live in the workspace, not in a crontab, so that
``segmint serve`` (its background worker, :mod:`segmint.api.scheduler`) and
``segmint schedule run-due`` (from cron, without a server) run the same ones and keep one
history. Times are UTC.

A schedule added from a file reads that file again at each run, as a crontab line would: an
edited spec is what runs next (its text at the time it was added is kept as a record). One sent
to the server as text (the API, the web app) runs that text. A failing run (a
:class:`~segmint.exceptions.SegmintError`: a spec that no longer loads, a file that is gone) is
recorded as failed with its paragraph and does not stop the other schedules. After a run,
failed or not, the next run is the next time the expression fires after ``now``: runs missed
while nothing was checking run once, not once per missed time. A spec with ``retention:``
limits has them applied before each run (counted back from the run's time), with an audit row
and a note in the run's record.
"""

from __future__ import annotations

import contextlib
import getpass
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmint._run import _schedule_rows as rows
from segmint._run._cron import check_cron, next_after, utc
from segmint._run._schedule_rows import Schedule, ScheduleRun
from segmint.exceptions import MonitorError, SegmintError
from segmint.spec.model import Spec, load_spec, spec_from_text
from segmint.store import translate

if TYPE_CHECKING:
    from segmint._workspace import Workspace

__all__ = [
    "Schedule",
    "ScheduleRun",
    "add_schedule",
    "due_schedules",
    "get_schedule",
    "list_schedules",
    "remove_schedule",
    "run_due",
    "run_schedule",
    "schedule_runs",
]

Progress = Callable[[str], None]


def add_schedule(
    ws: Workspace,
    cron: str,
    spec_path: str | os.PathLike[str] | None = None,
    *,
    spec_text: str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    user: str | None = None,
    now: datetime | None = None,
) -> Schedule:
    """Add a schedule running the spec file ``spec_path`` (or the spec ``spec_text``) at the
    times of ``cron`` (UTC); reports go to ``out_dir``/<time> (default: a folder next to the
    workspace). The expression and the spec are checked now: SpecError when either is bad."""
    expr = check_cron(cron)
    if (spec_path is None) == (spec_text is None):
        raise ValueError("give spec_path or spec_text, not both or neither")
    if spec_path is not None:
        path = Path(spec_path).expanduser().resolve()
        spec = load_spec(path)
        text = path.read_text(encoding="utf-8")
    else:
        text = str(spec_text)
        spec = spec_from_text(text, where="the schedule's spec", base_dir=ws.path.parent)
    from segmint._run import check_spec

    check_spec(spec)  # methods, parameters, rules: now, not at 06:00 next Monday
    created = utc(now)
    schedule = Schedule(
        schedule_id=rows.next_id(ws.store),
        cron=expr,
        spec_path=str(path) if spec_path is not None else None,
        spec_text=text,
        out_dir=str(Path(out_dir).expanduser().resolve()) if out_dir is not None else None,
        created_at=created,
        created_by=user or _os_user(),
        enabled=True,
        last_run_at=None,
        next_run_at=next_after(expr, created),
    )
    rows.insert(ws.store, schedule)
    return schedule


def list_schedules(ws: Workspace) -> list[Schedule]:
    """Every schedule of the workspace, by id."""
    return rows.read_schedules(ws.store) if ws.tables() else []


def schedule_runs(
    ws: Workspace, schedule_id: str | None = None, *, limit: int = 50
) -> list[ScheduleRun]:
    """The latest scheduled re-runs (of ``schedule_id``, or of every schedule), newest first."""
    return rows.read_runs(ws.store, schedule_id, limit) if ws.tables() else []


def get_schedule(ws: Workspace, schedule_id: str) -> Schedule:
    """The schedule ``schedule_id``; a SegmintError listing the ids when there is none."""
    found = rows.read_schedules(ws.store, schedule_id) if ws.tables() else []
    if found:
        return found[0]
    ids = [s.schedule_id for s in list_schedules(ws)]
    raise SegmintError(
        f"There is no schedule '{schedule_id}' in the workspace '{ws.path}'"
        + (f" (it has {', '.join(ids)})." if ids else " (it has none)."),
        fix="`segmint schedule list` shows the ids.",
    )


def remove_schedule(ws: Workspace, schedule_id: str) -> Schedule:
    """Remove a schedule and its history; the segment runs it made stay."""
    found = get_schedule(ws, schedule_id)
    rows.delete(ws.store, schedule_id)
    return found


def due_schedules(ws: Workspace, now: datetime | None = None) -> list[Schedule]:
    """The enabled schedules whose next run is at or before ``now`` (default: now, UTC)."""
    moment = utc(now)
    return [s for s in list_schedules(ws) if s.enabled and s.next_run_at <= moment]


def run_due(
    ws: Workspace, now: datetime | None = None, progress: Progress | None = None
) -> list[ScheduleRun]:
    """Run every due schedule, one after the other; one record per run."""
    moment = utc(now)
    return [run_schedule(ws, s, now=moment, progress=progress) for s in due_schedules(ws, moment)]


def run_schedule(
    ws: Workspace,
    schedule: Schedule,
    *,
    now: datetime | None = None,
    report_dir: str | os.PathLike[str] | None = None,
    place: Callable[[Path, str], Path] | None = None,
    progress: Progress | None = None,
    lock: AbstractContextManager[Any] | None = None,
) -> ScheduleRun:
    """Run ``schedule`` now and record it; its next run is the first time after ``now``.

    ``report_dir`` puts the report there instead of the schedule's folder, and ``place``
    (called with that folder and the new run's id) may move it and answer where it went: the
    server writes to a scratch folder and keeps the report under the run's id. ``lock`` is
    held while the record is written (the server's write lock).
    """
    moment = utc(now)
    started = utc()
    say = progress or (lambda _m: None)
    result: dict[str, Any] = {}
    try:
        spec = _spec(ws, schedule)
        result["notes"] = _retention(ws, spec, moment, say)
        folder = Path(report_dir) if report_dir is not None else _folder(ws, schedule, started)
        result["report_dir"] = str(folder)
        say(f"Schedule {schedule.schedule_id}: running {schedule.spec_path or 'its spec'}")
        from segmint._run import run_pipeline

        output = run_pipeline(ws, spec, out_dir=folder, progress=say)
        if place is not None:
            result["report_dir"] = str(place(folder, output.run_id))
        compared = _compare(ws, output.run_id, spec)
        compared["notes"] = result["notes"] + compared.get("notes", [])
        result.update(status="ok", run_id=output.run_id, **compared)
    except Exception as exc:
        error = exc if isinstance(exc, SegmintError) else translate(exc)
        if error is None:  # a bug: recorded (so it is not retried every minute), then raised
            _record(ws, schedule, started, moment, lock, status="failed", error=_bug(exc))
            raise
        result.update(status="failed", error=str(error), report_dir=None)  # no report
    return _record(ws, schedule, started, moment, lock, **result)


def _record(
    ws: Workspace,
    schedule: Schedule,
    started: datetime,
    now: datetime,
    lock: AbstractContextManager[Any] | None,
    **fields: Any,
) -> ScheduleRun:
    run = ScheduleRun(schedule.schedule_id, started, utc(), **fields)
    with lock or contextlib.nullcontext():
        rows.record(ws.store, run, next_after(schedule.cron, now))
    return run


def _spec(ws: Workspace, schedule: Schedule) -> Spec:
    if schedule.spec_path is not None:
        return load_spec(schedule.spec_path)
    return spec_from_text(
        schedule.spec_text,
        where=f"the spec of schedule {schedule.schedule_id}",
        base_dir=ws.path.parent,
    )


def _folder(ws: Workspace, schedule: Schedule, started: datetime) -> Path:
    """``out_dir``/<UTC time>, or ``<workspace>-schedules/<id>/<UTC time>`` next to it."""
    root = (
        Path(schedule.out_dir)
        if schedule.out_dir
        else ws.path.resolve().parent / f"{ws.path.stem}-schedules" / schedule.schedule_id
    )
    return root / started.strftime("%Y%m%dT%H%M%SZ")


def _retention(ws: Workspace, spec: Spec, now: datetime, say: Progress) -> list[str]:
    """Apply the spec's ``retention:`` limits (counted back from ``now``) before the run;
    the note for the run's row (the audit log has its own row)."""
    if not spec.retention.limits() or not ws.tables():
        return []
    from segmint.privacy.retention import apply_retention

    say("Applying the spec's retention limits")
    done = apply_retention(ws.store, spec.retention, now=now)
    cutoffs = ", ".join(f"{k} before {v:%Y-%m-%d}" for k, v in done.cutoffs.items())
    notes = [f"Retention: {done.summary()} Limits: {cutoffs}."]
    if done.rewrite_deferred:
        notes.append(
            "The removed rows' bytes stay in the workspace file until it is rewritten: "
            "run `segmint compact` (the server queues it when retention runs from its API)."
        )
    return notes


def _compare(ws: Workspace, run_id: str, spec: Spec) -> dict[str, Any]:
    """The new run against the segment run before it, with the spec's thresholds."""
    from segmint.monitor.compare import compare_runs
    from segmint.report import jsonable

    try:
        m = compare_runs(ws.store, None, run_id, thresholds=spec.monitoring)
    except MonitorError as exc:  # the workspace's first segment run
        return {"notes": [f"Nothing to compare with: {exc.problem}"]}
    except SegmintError as exc:  # the run itself is done and stored: a note, not a failure
        return {"notes": [f"The comparison with the run before failed: {exc}"]}
    return {
        "baseline_run_id": m.baseline,
        "alerts": jsonable(m.alerts),
        "crossed": m.crossed,
        "notes": list(m.notes),
    }


def _bug(exc: BaseException) -> str:
    return f"Internal error: {type(exc).__name__}: {exc}"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
