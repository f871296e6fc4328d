"""The server's schedule poller: due schedules become jobs of the one background worker.

A thread wakes every ``Settings.schedule_poll_s`` seconds (60 by default; tests use less),
asks the workspace which schedules are due (:func:`segmint._run.schedule.due_schedules`) and
submits each to the :class:`~segmint.api.jobs.JobRunner` as a job of kind ``schedule``. So a
scheduled re-run waits its turn behind an import or a run a user started and never competes
with them for DuckDB's single writer, and its progress and failure show on the Jobs list like
any other job. A schedule stays "pending" from its submission until its job ends, so a poll
while it waits in the queue does not submit it twice; a server stopped before the job ran
leaves the schedule due, and the next start runs it.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmint._run.schedule import Schedule, due_schedules, run_schedule
from segmint._workspace import Workspace
from segmint.exceptions import SegmintError
from segmint.privacy.audit import acting_as
from segmint.privacy.reports import moved

if TYPE_CHECKING:
    from segmint.api.state import AppState

__all__ = ["SchedulePoller"]

log = logging.getLogger("segmint.api")


class SchedulePoller:
    """Submit due schedules to the job runner, every ``interval`` seconds, until stopped."""

    def __init__(self, state: AppState, interval: float) -> None:
        self._state = state
        self._interval = interval
        self._pending: set[str] = set()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="segmint-schedules", daemon=True)
        if interval > 0:
            self._thread.start()

    def poll(self) -> list[str]:
        """Submit the schedules due now; the ids of the jobs started."""
        ws = self._state.workspace()
        jobs = []
        for s in due_schedules(ws):
            with self._guard:
                if s.schedule_id in self._pending:
                    continue
                self._pending.add(s.schedule_id)
            with acting_as(s.created_by, f"schedule {s.schedule_id}"):
                jobs.append(self._state.jobs.submit("schedule", s.created_by, self._work(s)))
        return jobs

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll()
            except Exception:  # a locked or broken file: logged, tried again at the next poll
                log.exception("checking for due schedules failed")

    def _work(self, s: Schedule) -> Any:
        state = self._state

        def work(progress: Any) -> dict[str, Any]:
            try:
                return _run(state, s, progress)
            finally:
                with self._guard:
                    self._pending.discard(s.schedule_id)

        return work


def _run(state: AppState, s: Schedule, progress: Any) -> dict[str, Any]:
    """Run ``s`` on the worker's own connection. A schedule without its own ``out_dir`` (one
    added through the server) writes its report where the web app finds it: the reports
    folder, under the run's id (written to a scratch folder and moved when complete)."""
    ws = Workspace(state.settings.workspace)
    scratch = None if s.out_dir else state.reports / f"tmp-{uuid.uuid4().hex}"

    def keep(folder: Path, run_id: str) -> Path:
        final = state.reports / run_id
        shutil.rmtree(final, ignore_errors=True)
        folder.rename(final)
        moved(ws.store, folder, final)
        return final

    try:
        run = run_schedule(
            ws,
            s,
            report_dir=scratch,
            place=keep if scratch is not None else None,
            progress=progress,
            lock=state.write_lock,
        )
    finally:
        ws.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    state.models.clear()
    if run.error is not None:  # recorded; the job fails too, so the Jobs list shows it
        raise SegmintError(run.error)
    out = run.to_dict()
    out["report_dir"] = state.redact.optional(out["report_dir"])
    return out
