"""Background jobs: one worker thread runs imports and segmentations one at a time.

Jobs are rows of the workspace table ``jobs`` (status queued → running → done | failed, the
current step as ``message``), so their state survives a browser refresh and a restart: a job
that was queued or running when the server stopped is marked failed on the next start. A job
that raises is marked failed with its error (a user error's paragraph, DuckDB's out-of-memory
and I/O failures translated into one by :func:`segmint.store.translate`, or the exception's
type and text for a bug); every stage writes in its own transaction, so the workspace stays
consistent. One worker means runs never compete for DuckDB's single writer: two users who
start runs at once both finish, one after the other. A job acts as the request that queued it
(its token and address, taken at :meth:`JobRunner.submit`): the audit rows its stages write
name them, not the worker thread.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import duckdb

from segmint.api.metadb import cursor_of
from segmint.privacy.audit import Actor, acting_as, current_actor
from segmint.store import translate, workspace_table

__all__ = ["JobRunner"]

log = logging.getLogger("segmint.api")

#: declared with every other workspace table in segmint/store/tables.py
DDL = workspace_table("jobs").ddl()

#: a job's work: gets a progress callback, returns a JSON-ready result
Work = Callable[[Callable[[str], None]], dict[str, Any]]
KEYS = tuple(workspace_table("jobs").names)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class JobRunner:
    """Queue work, run it on one thread, keep its status in the workspace."""

    def __init__(
        self,
        db: duckdb.DuckDBPyConnection,
        lock: threading.Lock,
        *,
        redact: Callable[[str], str] = str,
    ) -> None:
        self._db = db
        self._lock = lock
        self._redact = redact
        with lock, cursor_of(db) as cur:
            cur.execute(DDL)
            cur.execute(
                "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? "
                "WHERE status IN ('queued', 'running')",
                [_now(), "The server stopped before this job finished; start it again."],
            )
        self._queue: queue.Queue[tuple[str, Work, Actor] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="segmint-jobs", daemon=True)
        self._thread.start()

    def _write(self, sql: str, params: list[Any]) -> None:
        with self._lock, cursor_of(self._db) as cur:
            cur.execute(sql, params)

    def submit(self, kind: str, user: str, work: Work) -> str:
        """Queue ``work``; it runs as the actor submitting it (the audit log's who and where)."""
        job_id = uuid.uuid4().hex[:16]
        self._write(
            "INSERT INTO jobs VALUES (?, ?, 'queued', 'Waiting to start', ?, ?, NULL, NULL, "
            "NULL, NULL)",
            [job_id, kind, user, _now()],
        )
        self._queue.put((job_id, work, current_actor()))
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        with cursor_of(self._db) as cur:
            row = cur.execute("SELECT * FROM jobs WHERE job_id = ?", [job_id]).fetchone()
        return _job(row) if row else None

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        with cursor_of(self._db) as cur:
            rows = cur.execute(
                "SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", [limit]
            ).fetchall()
        return [_job(r) for r in rows]

    def wait(self, job_id: str, timeout: float = 600.0) -> dict[str, Any] | None:
        """Block until the job is done or failed (tests and the CLI use this)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(job_id)  # during a file rewrite, after it (metadb.cursor_of)
            if job is None or job["status"] in ("done", "failed"):
                return job
            time.sleep(0.05)
        return self.get(job_id)

    def stop(self, timeout: float = 120.0) -> None:
        """Cancel the jobs still queued (marked failed), let the running one finish, end the
        worker. Leaving it running into interpreter shutdown would abort inside DuckDB."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._finish(item[0], "failed", error="The server stopped before this job started.")
        self._queue.put(None)
        self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job_id, work, actor = item
            self._write(
                "UPDATE jobs SET status = 'running', started_at = ?, message = 'Starting' "
                "WHERE job_id = ?",
                [_now(), job_id],
            )

            def progress(message: str, job_id: str = job_id) -> None:
                self._write("UPDATE jobs SET message = ? WHERE job_id = ?", [message, job_id])

            try:
                with acting_as(actor.name, actor.origin):
                    result = work(progress)
            except Exception as exc:
                self._failed(job_id, exc)
            else:
                self._finish(job_id, "done", result=result)

    def _failed(self, job_id: str, exc: Exception) -> None:
        """A user error (or an engine failure: memory, disk, a locked file) keeps its
        paragraph; anything else is a bug: logged, and the job says so. Paths under the
        server's folders are shown as file names (``redact``)."""
        error = translate(exc)
        if error is None:
            log.exception("job %s failed", job_id)
            text = f"Internal error: {type(exc).__name__}: {exc}"
        else:
            text = str(error)
        self._finish(job_id, "failed", error=self._redact(text))

    def _finish(
        self, job_id: str, status: str, *, error: str | None = None, result: Any = None
    ) -> None:
        self._write(
            "UPDATE jobs SET status = ?, finished_at = ?, error = ?, result = ?, message = ? "
            "WHERE job_id = ?",
            [
                status,
                _now(),
                error,
                json.dumps(result, default=str) if result is not None else None,
                "Finished" if status == "done" else "Failed",
                job_id,
            ],
        )


def _job(row: tuple[Any, ...]) -> dict[str, Any]:
    job = dict(zip(KEYS, row, strict=True))
    if isinstance(job["result"], str):
        job["result"] = json.loads(job["result"])
    for k in ("created_at", "started_at", "finished_at"):
        if job[k] is not None:
            job[k] = job[k].isoformat()
    return job
