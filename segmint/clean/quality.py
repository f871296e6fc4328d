"""The data quality report: what is in the workspace, what was wrong, what was done about it.

:func:`build_report` reads the workspace (tables, ``quality_counts``, ``quality_issues``,
``runs``) into one JSON-ready dict; :func:`write_report` saves it as JSON and as a
self-contained HTML page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segmint.clean.report_html import render_quality_html
from segmint.spec.gates import CHECK_GATES, QualityGates
from segmint.store import Store, quote
from segmint.store.schema import CANONICAL, LINEAGE

__all__ = ["build_report", "write_report"]

ISSUES_SHOWN = 500


def build_report(store: Store, gates: QualityGates | None = None) -> dict[str, Any]:
    db = store.db
    last_clean = db.execute(
        "SELECT run_id, row_counts, spec FROM runs WHERE kind = 'clean' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if gates is None:
        gates = QualityGates()
        if last_clean and last_clean[2]:
            spec = json.loads(last_clean[2])
            if spec.get("gates"):
                gates = QualityGates(**spec["gates"])
    cleaned: dict[str, Any] = json.loads(last_clean[1]) if last_clean and last_clean[1] else {}
    tables: dict[str, Any] = {}
    for name in CANONICAL:
        if not store.has_table(name):
            continue
        info = _profile(store, name)
        info.update({k: v for k, v in cleaned.get(name, {}).items() if k != "rows"})
        tables[name] = info
    checks = _latest_checks(store)
    gate_rows = _gates(checks, gates)
    issues_total = sum(int(c["n_bad"]) for c in checks)
    issues = [
        dict(zip(("run_id", "table", "source", "row", "column", "value", "reason"), r, strict=True))
        for r in db.execute(
            "SELECT i.* FROM quality_issues i JOIN runs r USING (run_id) "
            f"ORDER BY r.seq, i.table_name, i.row LIMIT {ISSUES_SHOWN}"
        ).fetchall()
    ]
    notes = [
        r[0]
        for r in db.execute(
            "SELECT run_id || ': ' || message FROM runs WHERE message IS NOT NULL ORDER BY seq"
        ).fetchall()
    ]
    if not last_clean:
        notes.append("The workspace has not been cleaned yet: run segmint clean.")
    return {
        "title": "Data quality report",
        "workspace": str(store.path),
        "generated_at": datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat(),
        "run_id": last_clean[0] if last_clean else None,
        "summary": {
            "tables": len(tables),
            "rows": sum(int(t["rows"]) for t in tables.values()),
            "issues_total": issues_total,
            "gates_failed": sum(1 for g in gate_rows if not g["passed"]),
        },
        "tables": tables,
        "checks": checks,
        "gates": gate_rows,
        "issues": issues,
        "issues_shown": len(issues),
        "issues_total": issues_total,
        "notes": notes,
        "next_steps": ["segmint features", "segmint status"] if last_clean else ["segmint clean"],
    }


def _profile(store: Store, name: str) -> dict[str, Any]:
    lineage = {c.name for c in LINEAGE}
    cols = {c: t for c, t in store.columns(name).items() if c not in lineage}
    aggs = ["count(*)"]
    for c in cols:
        aggs += [f"count({quote(c)})", f"approx_count_distinct({quote(c)})"]
    row = store.db.execute(f"SELECT {', '.join(aggs)} FROM {quote(name)}").fetchone()
    assert row is not None
    rows = int(row[0])
    columns = {}
    for i, (c, t) in enumerate(cols.items()):
        present = int(row[1 + 2 * i])
        columns[c] = {
            "type": t,
            "missing": rows - present,
            "missing_share": (rows - present) / rows if rows else 0.0,
            "distinct": int(row[2 + 2 * i]),
            "canonical": c in CANONICAL[name].names,
        }
    return {"rows": rows, "columns": columns}


def _latest_checks(store: Store) -> list[dict[str, Any]]:
    """Checks of every ingest still in the workspace, plus those of the latest clean."""
    rows = store.db.execute(
        """
        WITH last_clean AS (SELECT max(seq) AS seq FROM runs WHERE kind = 'clean')
        SELECT q.table_name, q.column_name, q.check_name, q.n_bad, q.n_checked, r.source, r.run_id
        FROM quality_counts q JOIN runs r USING (run_id)
        WHERE r.kind = 'ingest' OR r.seq = (SELECT seq FROM last_clean)
        ORDER BY r.seq, q.table_name, q.column_name
        """
    ).fetchall()
    out = []
    for table, column, check, bad, total, source, run_id in rows:
        out.append(
            {
                "table": table,
                "column": column,
                "check": check,
                "n_bad": int(bad),
                "n_checked": int(total),
                "share": (bad / total) if total else 0.0,
                "source": str(source).rsplit("/", 1)[-1] if source else None,
                "run_id": run_id,
            }
        )
    return out


def _gates(checks: list[dict[str, Any]], gates: QualityGates) -> list[dict[str, Any]]:
    out = []
    for gate, threshold in gates.model_dump().items():
        relevant = [c for c in checks if CHECK_GATES.get(c["check"]) == gate]
        if not relevant:
            continue
        worst = max(relevant, key=lambda c: c["share"])
        out.append(
            {
                "name": gate,
                "threshold": threshold,
                "observed": worst["share"],
                "passed": worst["share"] <= threshold,
                "detail": f"{worst['table']}.{worst['column']}: {worst['share']:.1%} "
                f"({worst['n_bad']:,} of {worst['n_checked']:,})",
            }
        )
    return out


def write_report(report: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``quality.json`` and ``quality.html`` into ``out_dir``; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "quality.json"
    html_path = out / "quality.html"
    json_path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    html_path.write_text(render_quality_html(report), encoding="utf-8")
    return json_path, html_path
