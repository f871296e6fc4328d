"""Which routes the server answers on a Spark workspace, and the clear refusal of the others.

A Spark workspace keeps its customer-level tables (canonical tables, ``customer_features``,
``segment_assignments``, ``customer_values``) in the engine and only what a run knows about
itself (runs, typed results, models, the audit log, tokens, jobs) in the driver file
``DIR/segmint.duckdb``. The server opens that file as its workspace, so every route that reads
only those system tables works unchanged; the customer-level reads that have an engine version
(:mod:`segmint.api.services_engine`: table counts, segment sizes, a page of members, one
customer, scoring a customer by id, the migration matrix of two segmentations) read through
Ibis on the engine. Every other route reads
customer rows with DuckDB SQL, which would find the driver file's empty tables and answer
wrong numbers, so it is refused up front with 409 and the CLI command to use instead: a route
is served on Spark only when it is listed in :data:`ON_SPARK` (a new route is refused until
someone checks it there).
"""

from __future__ import annotations

from fastapi import Request

from segmint.exceptions import SegmintError

__all__ = ["ON_SPARK", "NotOnEngine", "guard", "refuse"]


class NotOnEngine(SegmintError):
    """What was asked reads customer rows the way only the embedded engine can (409)."""


_API = "/api/v1"
#: (method, route path) answered on a Spark workspace; HEAD counts as GET
ON_SPARK = frozenset(
    {
        ("GET", f"{_API}/me"),
        ("GET", f"{_API}/tables"),
        ("GET", f"{_API}/methods"),
        ("GET", f"{_API}/runs"),
        ("GET", f"{_API}/runs/{{run_id}}/segmentations/{{name}}"),
        ("PATCH", f"{_API}/runs/{{run_id}}/segmentations/{{name}}/segments/{{label}}"),
        ("POST", f"{_API}/runs/{{run_id}}/segmentations/{{name}}/assign"),
        ("GET", f"{_API}/runs/{{run_id}}/segmentations/{{name}}/members.csv"),
        ("GET", f"{_API}/runs/{{run_id}}/segmentations/{{name}}/sizes"),
        ("GET", f"{_API}/runs/{{run_id}}/segmentations/{{name}}/members"),
        ("GET", f"{_API}/customers/{{customer_id}}"),
        ("GET", f"{_API}/runs/{{run_id}}/report"),
        ("GET", f"{_API}/exports"),
        ("GET", f"{_API}/monitor"),
        ("POST", f"{_API}/runs/{{run_id}}/segmentations/{{name}}/export"),
        ("GET", f"{_API}/compare"),
        ("GET", f"{_API}/jobs"),
        ("GET", f"{_API}/jobs/{{job_id}}"),
        ("GET", f"{_API}/tokens"),
        ("POST", f"{_API}/tokens"),
        ("DELETE", f"{_API}/tokens/{{token_id}}"),
        ("GET", f"{_API}/audit"),
        # the web app
        ("GET", "/signin"),
        ("POST", "/signin"),
        ("POST", "/signout"),
        ("GET", "/"),
        ("GET", "/jobs/{job_id}"),
        ("GET", "/web/api/jobs/{job_id}"),
        ("GET", "/docs"),
        ("GET", "/runs/{run_id}"),
        ("GET", "/runs/{run_id}/segment"),
        ("POST", "/runs/{run_id}/rename"),
        ("POST", "/runs/{run_id}/plan"),
        ("GET", "/runs/{run_id}/members.csv"),
        ("GET", "/runs/{run_id}/report.html"),
        ("GET", "/exports"),
        ("GET", "/monitor"),
        ("POST", "/runs/{run_id}/export"),
        ("GET", "/compare"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("POST", "/tokens/{token_id}/revoke"),
        ("GET", "/audit"),
    }
)

#: what to use instead, by the first word of the path after /api/v1 (or of a page's path)
_INSTEAD = {
    "uploads": "import on Spark with segmint run --engine spark FILE --workspace DIR (or "
    "segmint.Workspace.spark(...).ingest(PATH))",
    "upload": "import on Spark with segmint run --engine spark FILE --workspace DIR",
    "runs": "run segmentations on Spark with segmint run --engine spark --workspace DIR "
    "--spec SPEC.yaml",
    "quality": "see the tables and their row counts with segmint status --engine spark "
    "--workspace DIR",
}
_DEFAULT = (
    "use the embedded workspace for it (segmint serve --workspace FILE.duckdb), or the "
    "segmint command of the same name"
)


def refuse(method: str, path: str, what: str | None = None) -> NotOnEngine:
    """The 409 for ``method path`` (a route template) on a Spark workspace."""
    word = path.removeprefix(_API).strip("/").split("/")[0]
    if word == "runs" and method == "GET":
        word = ""  # a run's page that reads customer rows, e.g. a message preview
    return NotOnEngine(
        f"{what or f'{method} {path}'} is not available on a Spark workspace: it reads "
        "customer rows with the embedded engine, and they stay in Spark.",
        fix=f"{_INSTEAD.get(word, _DEFAULT)}. On Spark the server answers the runs, their "
        "results, segment sizes and members, one customer, scoring, comparisons, monitoring, "
        "audience files and the audit log (docs/scale.md, Serving).",
    )


async def guard(request: Request) -> None:
    """A router dependency: on a Spark workspace, refuse every route not in :data:`ON_SPARK`.
    (``async``: it only reads memory, and a plain function would cost a thread hop.)"""
    if request.app.state.segmint.engine is None:
        return
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    method = "GET" if request.method == "HEAD" else request.method
    if (method, path) not in ON_SPARK:
        raise refuse(method, path)
