"""What the server holds: the workspace path, its data folder, tokens, jobs and connections.

DuckDB lets one process open the same file through several connections that share one
database: every request thread gets its own :class:`~segmint.Workspace` (thread-local), the job
worker has its own, and reads proceed while a job writes (each sees the last committed state).
Small metadata writes (tokens, renames, schedules) take ``write_lock``; imports, runs and
scheduled re-runs are serialized by the single job worker.
"""

from __future__ import annotations

import contextvars
import shutil
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

from segmint._workspace import Workspace
from segmint.api.auth import TokenStore
from segmint.api.inflation import MAX_INFLATED_BYTES
from segmint.api.jobs import JobRunner
from segmint.api.limits import MAX_BODY_BYTES, MAX_UPLOAD_BYTES
from segmint.api.redact import Redactor
from segmint.api.scheduler import SchedulePoller

__all__ = ["MAX_UPLOAD_BYTES", "AppState", "Settings", "state_of"]


@dataclass
class Settings:
    """Server settings (``segmint serve`` options)."""

    workspace: Path
    data_dir: Path | None = None
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    #: every JSON or form body other than an upload
    max_body_bytes: int = MAX_BODY_BYTES
    #: a compressed upload (.gz, .xlsx, Parquet) may unpack to at most this many bytes
    max_inflated_bytes: int = MAX_INFLATED_BYTES
    #: secure cookies need HTTPS; off for http://127.0.0.1
    secure_cookies: bool = False
    #: seconds between checks for due schedules (``segmint serve --schedule-poll``); 0: never
    schedule_poll_s: float = 60.0
    extra: dict[str, str] = field(default_factory=dict)
    #: a Spark workspace (:class:`~segmint._engine_workspace.EngineWorkspace`, opened by the
    #: caller, who closes it): customer rows are read there, ``workspace`` is its driver file,
    #: and the routes that need the embedded engine answer 409 (:mod:`segmint.api.engine`)
    engine: Any = None

    @classmethod
    def on_engine(cls, ews: Any, **options: Any) -> Settings:
        """Settings for serving the Spark workspace ``ews`` (its driver file as workspace)."""
        from segmint._engine_workspace import METADATA_FILE

        return cls(workspace=ews.path / METADATA_FILE, engine=ews, **options)

    @property
    def folder(self) -> Path:
        """Uploads and reports live here (default: next to the workspace)."""
        return self.data_dir or self.workspace.parent / f"{self.workspace.stem}-server"


class AppState:
    """Shared server state; create one per app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: the Spark workspace customer rows are read from (None: the embedded workspace)
        self.engine: Any = settings.engine
        self.write_lock = threading.Lock()
        self._local = threading.local()
        self.meta = Workspace(settings.workspace)
        #: bumped when every connection was closed (the file rewritten after an erasure):
        #: a thread's connection of an older generation is opened again
        self.generation = 0
        self._opened: list[weakref.ref[Workspace]] = []
        self._opened_lock = threading.Lock()
        #: held by each statement on the server's own connection (:class:`_MetaConnection`)
        #: and by :meth:`exclusive` while it closes and opens that connection again
        self.meta_lock = threading.RLock()
        #: requests being served, and whether new ones must wait (see :meth:`exclusive`)
        self.active = 0
        self.paused = False
        #: takes the server's folders out of every error text a client sees
        self.redact = Redactor([settings.folder, settings.workspace.parent])
        conn: Any = _MetaConnection(self)
        self.tokens = TokenStore(conn, self.write_lock)
        self.jobs = JobRunner(conn, self.write_lock, redact=self.redact)
        #: scoring models per (run, segmentation) (:class:`segmint.api.scoring.Scorer`):
        #: whatever rewrites tables clears it
        self.models: dict[tuple[str, str], object] = {}
        for sub in ("uploads", "reports"):
            (settings.folder / sub).mkdir(parents=True, exist_ok=True)
        for scratch in self.reports.glob("tmp-*"):  # left by a server that was killed mid-run
            shutil.rmtree(scratch, ignore_errors=True)
        for sent in settings.folder.glob("export-*"):  # audience files not deleted after sending
            shutil.rmtree(sent, ignore_errors=True)
        #: due schedules become jobs (started last: it submits to ``jobs``); a schedule re-runs
        #: the embedded pipeline, so none runs on a Spark workspace
        poll = settings.schedule_poll_s if self.engine is None else 0.0
        self.schedules = SchedulePoller(self, poll)

    @property
    def uploads(self) -> Path:
        return self.settings.folder / "uploads"

    @property
    def reports(self) -> Path:
        return self.settings.folder / "reports"

    def workspace(self) -> Workspace:
        """This thread's connection to the workspace (after waiting out a file rewrite)."""
        wait_for_rewrite(self)
        ws = getattr(self._local, "ws", None)
        if ws is None or getattr(self._local, "generation", -1) != self.generation:
            ws = Workspace(self.settings.workspace)
            self._local.ws, self._local.generation = ws, self.generation
            with self._opened_lock:
                self._opened = [r for r in self._opened if r() is not None]
                self._opened.append(weakref.ref(ws))
        return ws

    @contextmanager
    def exclusive(self, wait_s: float = 60.0) -> Iterator[None]:
        """Close every connection this server holds to the workspace, for the file's rewrite.

        New requests are answered 503 (with Retry-After) meanwhile; requests already being
        served are waited for (up to ``wait_s``). Connections are opened again on first use.
        Call from the job worker (jobs are serialized, so no other job holds one).
        """
        self.paused = True
        try:
            deadline = time.monotonic() + wait_s
            while self.active > 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            with self._opened_lock:
                for ref in self._opened:
                    ws = ref()
                    if ws is not None:
                        ws.close()
                self._opened = []
            self.generation += 1
            with self.meta_lock:  # a statement in flight on it finishes first
                self.meta.close()
            self.models.clear()  # scoring models and lookups were read from the old file
            yield
        finally:
            with self.meta_lock:
                self.meta = Workspace(self.settings.workspace)
            self.paused = False

    def close(self) -> None:
        self.schedules.stop()
        self.jobs.stop()


#: set while a request is served: an admitted request never waits for a file rewrite (the
#: rewrite waits for it instead); other threads (jobs, the schedule poller) do
IN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "segmint_in_request", default=False
)


def wait_for_rewrite(state: AppState, timeout_s: float = 600.0) -> None:
    """Outside a request, wait while the workspace file is rewritten (:meth:`exclusive`)."""
    if IN_REQUEST.get():
        return
    deadline = time.monotonic() + timeout_s
    while state.paused and time.monotonic() < deadline:
        time.sleep(0.05)


class _MetaConnection:
    """The server's own connection (tokens, jobs), found again after :meth:`exclusive`.

    Its users borrow it through :func:`segmint.api.metadb.cursor_of`, i.e. :meth:`session`:
    a statement and its fetch end before a file rewrite closes the connection, and a
    statement that begins during the rewrite waits for it (a request already admitted does
    not wait: the rewrite waits for it).
    """

    def __init__(self, state: AppState) -> None:
        self._state = state

    @contextmanager
    def session(self) -> Iterator[Any]:
        state = self._state
        while True:
            wait_for_rewrite(state)
            state.meta_lock.acquire()
            if not state.paused or IN_REQUEST.get():
                break
            state.meta_lock.release()  # a rewrite began in between: wait for it
        try:
            yield state.meta.store.db.cursor()
        finally:
            state.meta_lock.release()


def state_of(request: Request) -> AppState:
    """The server state of the app handling ``request`` (set by ``create_app``)."""
    state: AppState = request.app.state.segmint
    return state
