"""``segmint update`` on the server: the week's new exports arrive as uploads and become a job.

The REST endpoint (``POST /api/v1/update``) and the web app's Update page both call these, so
they cannot disagree. The files come in one multipart form (:func:`receive`, streamed with the
upload limit for the files together); nothing on the server's disk is named by a client. Cheap
checks answer 400 before a job is queued (a ``refit`` that is not one of the three, a table
that does not exist, a file that is no data file, a workspace without a segment run); the
work itself is :func:`segmint._run.update.update_pipeline` on the single job worker, so it
never competes with an import or a run for DuckDB's writer. The job's result is
``UpdateOutput.to_dict()`` with every path under the server's folders reduced to a file name;
the uploaded files are deleted when the job ends (their rows are in the workspace, and a
file imported before is refused by its fingerprint, not by its name).
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from segmint._run.update import REFIT, update_pipeline
from segmint._workspace import Workspace
from segmint.api import services, uploads
from segmint.api.state import AppState
from segmint.api.uploads import Batch
from segmint.exceptions import SpecError, WorkspaceError
from segmint.monitor.compare import segment_runs
from segmint.privacy.reports import moved
from segmint.store.schema import CANONICAL

__all__ = ["TABLES", "UpdateOptions", "check", "options", "receive", "start_update", "submit"]

#: the tables new files may go into (``into``; empty: detected from the file)
TABLES: tuple[str, ...] = tuple(CANONICAL)
_TRUE = ("true", "1", "on", "yes")
_FALSE = ("false", "0", "off", "no", "")


@dataclass(frozen=True)
class UpdateOptions:
    """The form's choices: how to refit, the table the files go into, whether to profile."""

    refit: str = "never"
    into: str | None = None
    profile: bool = False


async def receive(state: AppState, request: Request) -> Batch:
    """Stream the form's files (field ``file``, repeated) into upload folders."""
    length = request.headers.get("content-length", "")
    return await uploads.receive_files(
        request.stream(),
        request.headers.get("content-type", ""),
        state.uploads,
        state.settings.max_upload_bytes,
        content_length=int(length) if length.isdigit() else None,
    )


def options(fields: dict[str, str]) -> UpdateOptions:
    """The form fields ``refit``, ``into`` and ``profile``, checked (SpecError: a 400)."""
    refit = (fields.get("refit") or "never").strip()
    if refit not in REFIT:
        raise SpecError(
            f"refit must be one of {', '.join(REFIT)}. Got {refit[:40]!r}.",
            fix="refit=never (score with the stored models), auto (refit when a feature a "
            "segmentation uses drifted) or always (refit every segmentation).",
        )
    into = (fields.get("into") or "").strip() or None
    if into is not None and into not in TABLES:
        raise SpecError(
            f"into must be one of {', '.join(TABLES)}. Got {into[:40]!r}.",
            fix="leave it out to detect the table from the file, or name one of these.",
        )
    text = (fields.get("profile") or "").strip().lower()
    if text not in (*_TRUE, *_FALSE):
        raise SpecError(
            f"profile must be true or false. Got {text[:40]!r}.",
            fix="profile=true recomputes the profiles and ranking of the re-scored segments.",
        )
    return UpdateOptions(refit, into, text in _TRUE)


def check(state: AppState, batch: Batch) -> None:
    """Refuse (and delete) the batch when a file is no data file, or when the workspace has no
    segment run to update; the options are checked by :func:`options`."""
    try:
        for received in batch.files:
            services.check_upload(state, received)
        if not segment_runs(state.workspace().store):
            raise WorkspaceError(
                "The workspace has no segment run to update: an update re-scores the segments "
                "of the last run with its stored models.",
                fix="start a segmentation run first (New segmentation, or POST /api/v1/runs), "
                "then send the new exports here.",
            )
    except BaseException:
        batch.discard()
        raise


def start_update(state: AppState, user: str, batch: Batch, opts: UpdateOptions) -> str:
    """Queue: import the batch, refresh the features, re-score (or refit), compare."""
    settings = state.settings

    def work(progress: Any) -> dict[str, Any]:
        scratch = state.reports / f"tmp-{uuid.uuid4().hex}"
        try:
            with Workspace(settings.workspace) as ws:
                done = update_pipeline(
                    ws,
                    [str(p) for p in batch.paths],
                    refit=opts.refit,
                    into=opts.into,
                    profile=opts.profile,
                    out_dir=scratch,
                    progress=progress,
                )
            if done.report is not None:  # a refit is a full run: its report, as a run's
                final = state.reports / done.run_id
                shutil.rmtree(final, ignore_errors=True)
                scratch.rename(final)
                with Workspace(settings.workspace) as ws:
                    moved(ws.store, scratch, final)
                done.report = final
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            batch.discard()
        state.models.clear()  # scoring caches hold the previous run's models
        return _redacted(state, done.to_dict())

    return state.jobs.submit("update", user, work)


def submit(state: AppState, user: str, batch: Batch) -> str:
    """Read the batch's options, check them, queue the update (the REST route and the web
    form both call this); the uploaded files are removed when the options are refused."""
    try:
        opts = options(batch.fields)
    except BaseException:
        batch.discard()
        raise
    check(state, batch)
    return start_update(state, user, batch, opts)


def _redacted(state: AppState, value: Any) -> Any:
    """Every string of the result with the server's paths reduced to file names."""
    if isinstance(value, str):
        return state.redact(value)
    if isinstance(value, dict):
        return {k: _redacted(state, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(state, v) for v in value]
    return value
