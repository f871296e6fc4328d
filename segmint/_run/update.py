"""``segmint update``: append new data and re-score every customer with the stored models.

A weekly export adds a few thousand order lines to a history of millions. ``segmint run``
would re-import nothing (the fingerprints skip old files) but would still clean, rebuild
every feature and refit every model. ``update`` does what the new lines need:

1. **import** the new files (every file is checked first: one imported before refuses the
   whole batch, so nothing is half-imported), then **clean** (the already clean rows cost one
   scan);
2. **features**, incrementally where the table allows (:mod:`segmint._run._refresh`);
3. **re-score** with the last segment run's stored models (``segment_models``): RFM cut
   points, nearest centroid, rules, value models and tiers. Nothing is refitted, so a label
   means what it meant; the result is stored as a new segment run (its feature snapshot
   too), with the previous run's profiles marked as such unless ``profile=True``;
4. **compare** with that run (``segmint monitor``'s drift and migration), and with
   ``refit="auto"`` refit when a feature a segmentation uses drifted; ``"always"`` refits
   every time (``segmint run`` on the updated data).

The re-scored labels are the ones a full re-run that only predicts would give: the test
``tests/test_update.py`` compares them customer by customer.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from segmint._run._frame import OBJECTED, feature_frame, objected, objected_note, trim_heap
from segmint._run._identity import link_new
from segmint._run._persist import persist
from segmint._run._refresh import Refreshed, drop_temp, refresh
from segmint._run._segment import NO_PURCHASES, Segmented, rescored_result
from segmint._workspace import Workspace
from segmint.exceptions import SegmintError, SpecError, WorkspaceError
from segmint.privacy import audit
from segmint.privacy.consent import objections
from segmint.segment.base import Segmentation
from segmint.spec.model import SegmentationSpec, Spec
from segmint.store.results import SegmentationResult

__all__ = ["REFIT", "UpdateOutput", "update_pipeline"]

Refit = Literal["never", "auto", "always"]
#: how the warning of a re-scored result without fresh profiles starts
RESCORED = "Re-scored by `segmint update`"
REFIT: tuple[str, ...] = ("never", "auto", "always")
Progress = Callable[[str], None]


@dataclass
class UpdateOutput:
    """What an update did: the runs it wrote, how, and what changed since the base run."""

    base_run: str
    run_id: str
    imported: list[dict[str, Any]]
    features: Refreshed
    refit: str
    #: why a refit happened ("" when the stored models scored)
    refit_reason: str
    #: the comparison with the base run (``Monitoring.to_dict()``), None when not computed
    monitoring: dict[str, Any] | None
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: the report folder when the update refitted (a full run writes its report)
    report: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_run": self.base_run,
            "run_id": self.run_id,
            "imported": self.imported,
            "features": {
                "run_id": self.features.run_id,
                "as_of": self.features.as_of,
                "customers": self.features.customers,
                "rebuilt": self.features.rebuilt,
                "incremental": self.features.incremental,
                "reason": self.features.reason or None,
            },
            "refit": self.refit,
            "refit_reason": self.refit_reason or None,
            "monitoring": self.monitoring,
            "seconds": round(self.seconds, 3),
            "steps": {k: round(v, 3) for k, v in self.steps.items()},
            "notes": self.notes,
            "report": str(self.report) if self.report else None,
        }


@dataclass
class _Base:
    run_id: str
    specs: list[SegmentationSpec]
    results: dict[str, SegmentationResult]
    models: dict[str, dict[str, Any]]
    #: the as-of date the base run segmented at
    as_of: str | None = None


def update_pipeline(
    ws: Workspace,
    files: list[str | Path],
    *,
    refit: str = "never",
    spec: Spec | None = None,
    into: str | None = None,
    fmt: str = "auto",
    as_of: Any = None,
    profile: bool = False,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> UpdateOutput:
    """Import ``files``, refresh the features and re-score with the last run's models.

    ``refit``: ``never`` (default) scores with the stored models, ``always`` refits them all
    (a full ``segmint run`` of the last run's segmentations), ``auto`` refits when a feature
    one of them uses drifted (``segmint monitor``'s tests). ``spec`` gives the quality gates,
    the ranking weights and the monitoring thresholds (its segmentations are not used: the
    update keeps the last run's). ``profile``: recompute the profiles and the ranking of the
    re-scored segments (a few seconds per segmentation on a million customers).
    """
    t0 = time.perf_counter()
    say = progress or (lambda _m: None)
    if refit not in REFIT:
        raise SpecError(
            f"--refit must be one of {', '.join(REFIT)}. Got {refit!r}.",
            fix="--refit never (score with the stored models), auto (refit when a feature "
            "drifted) or always.",
        )
    spec = spec or Spec()
    steps: dict[str, float] = {}
    base = _base(ws)
    paths = [str(f) for f in files]
    _refuse_reimports(ws, paths, into)
    tick = time.perf_counter()
    imported, new_runs = [], []
    for path in paths:
        say(f"Importing {Path(path).name}")
        r = ws.ingest(path, into=into, format=fmt, gates=spec.quality, progress=say)
        imported.append({"file": path, "run_id": r.run_id, "table": r.table, "rows": r.rows})
        new_runs.append(r.run_id)
    steps["import"] = time.perf_counter() - tick
    tick = time.perf_counter()
    say("Cleaning")
    cleaned = ws.clean(
        gates=spec.quality,
        drop_identical_lines=spec.clean.drop_identical_lines,
        progress=say,
        only_runs=list(new_runs),
    )
    new_runs.append(cleaned.run_id)
    steps["clean"] = time.perf_counter() - tick
    tick = time.perf_counter()
    linked = link_new(ws, spec, say)  # new records matched against the stored model
    if linked:
        steps["link"] = time.perf_counter() - tick
    try:
        done = _after_import(ws, base, spec, new_runs, imported, as_of, refit, profile,
                             out_dir, steps, t0, say)  # fmt: skip
    finally:
        drop_temp(ws)
    if linked:
        done.notes.insert(0, linked)
    audit.record(
        ws.store,
        "update",
        target=done.run_id,
        detail={
            "base_run": done.base_run,
            "files": len(done.imported),
            "rows": sum(int(i["rows"]) for i in done.imported),
            "refit": refit,
            "refitted": bool(done.refit_reason),
        },
    )
    return done


def _after_import(
    ws: Workspace,
    base: _Base,
    spec: Spec,
    new_runs: list[str],
    imported: list[dict[str, Any]],
    as_of: Any,
    refit: str,
    profile: bool,
    out_dir: str | Path | None,
    steps: dict[str, float],
    t0: float,
    say: Progress,
) -> UpdateOutput:
    """Features, re-scoring, comparison (and a refit when asked or drift says so)."""
    tick = time.perf_counter()
    say("Updating features")
    feats = refresh(ws, new_runs, as_of, progress=say)
    steps["features"] = time.perf_counter() - tick
    notes = [] if feats.incremental else [f"Features: {feats.reason}."]
    gone = _columns_gone(ws, base)
    if refit == "always" or gone:
        why = ("asked (--refit always)" if refit == "always" else
               f"the feature table no longer has {gone}, which the stored models read")  # fmt: skip
        return _refitted(ws, spec, base, imported, feats, why, t0, steps, notes, out_dir, say)
    tick = time.perf_counter()
    say("Re-scoring with the stored models")
    run_id = _rescore(ws, base, spec, feats.as_of, profile=profile, say=say)
    steps["score"] = time.perf_counter() - tick
    note = objected_note(_left_out(ws, run_id))
    notes += [note] if note else []
    tick = time.perf_counter()
    # feature drift only when it decides (auto): sizes and moves are what a refit-free update
    # has to show, and the drift tests read every feature of two snapshots
    used = sorted({f for r in base.results.values() for f in r.features})
    monitoring = _compare(ws, base.run_id, run_id, spec, drift=refit == "auto", features=used)
    steps["compare"] = time.perf_counter() - tick
    if refit == "auto":
        why = _drifted_inputs(monitoring, base.specs, base.results)
        if why:
            return _refitted(ws, spec, base, imported, feats, why, t0, steps, notes, out_dir, say)
    return UpdateOutput(
        base.run_id, run_id, imported, feats, refit, "", monitoring,
        time.perf_counter() - t0, steps, notes,
    )  # fmt: skip


def _columns_gone(ws: Workspace, base: _Base) -> str:
    """The feature columns the base run's models read that the refreshed feature table lacks
    (a full rebuild can change them: new top categories, topics found again in changed
    feedback), named for the reason of the refit they force; "" when none is gone."""
    from segmint.segment.models import model_columns, model_from_json

    have = set(ws.store.columns("customer_features"))
    gone = sorted({
        c
        for s in base.specs
        if s.method != "value"  # scored from the purchase summary, not the feature table
        for c in model_columns(model_from_json(base.models[s.name]), base.results[s.name].features)
        if c not in have
    })  # fmt: skip
    return ", ".join(gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")


def _left_out(ws: Workspace, run_id: str) -> int:
    """The customers a segment run left out because they objected to profiling."""
    row = ws.store.db.execute("SELECT row_counts FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return int(json.loads(row[0]).get(OBJECTED, 0)) if row and row[0] else 0


# -- the base run ------------------------------------------------------------------------------


def _base(ws: Workspace) -> _Base:
    """The last segment run: its segmentations' specs, results and stored models."""
    tables = ws.tables()
    if "segmentations" not in tables or "segment_models" not in tables:
        raise WorkspaceError(
            f"The workspace '{ws.path}' has no segment run to update: `segmint update` "
            "re-scores the segments of the last `segmint run` with its stored models.",
            fix="run the pipeline once first: segmint run orders.csv (or --spec segmint.yaml).",
        )
    db = ws.store.db
    row = db.execute(
        "SELECT run_id FROM runs WHERE kind = 'segment' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise WorkspaceError(
            f"The workspace '{ws.path}' has no segment run to update.",
            fix="run the pipeline once first: segmint run orders.csv",
        )
    run_id = str(row[0])
    spec_row = db.execute("SELECT spec FROM runs WHERE run_id = ?", [run_id]).fetchone()
    as_of = json.loads(spec_row[0]).get("as_of") if spec_row and spec_row[0] else None
    rows = db.execute(
        "SELECT s.name, s.spec, s.result, m.model FROM segmentations s LEFT JOIN segment_models m "
        "ON m.run_id = s.run_id AND m.segmentation = s.name WHERE s.run_id = ?",
        [run_id],
    ).fetchall()
    specs, results, models = [], {}, {}
    for name, spec_text, result_text, model in rows:
        if not isinstance(model, str):
            raise WorkspaceError(
                f"Segmentation '{name}' of run {run_id} has no stored model to re-score with "
                "(it was written by an older version of segmint).",
                fix="run it again once with this version: segmint run --spec segmint.yaml",
            )
        specs.append(_stored_spec(json.loads(spec_text)))
        results[name] = SegmentationResult.from_json(result_text)
        models[name] = json.loads(model)
    # the stored order is the run's (value first: its CLV joins the profiles' features)
    specs.sort(key=lambda s: s.method != "value")
    return _Base(run_id, specs, results, models, as_of)


def _stored_spec(data: dict[str, Any]) -> SegmentationSpec:
    """A segmentation spec as stored with its run (every field, defaults too), with only the
    fields that differ from the defaults set, as the user wrote it: a refit checks which
    fields its method reads."""
    plain = SegmentationSpec.model_construct(name="", method="").model_dump(
        mode="json", warnings=False
    )
    given = {
        k: v
        for k, v in data.items()
        if k in ("name", "method") or json.dumps(v) != json.dumps(plain.get(k))
    }
    return SegmentationSpec.model_validate(given)


def _refuse_reimports(ws: Workspace, paths: list[str], into: str | None) -> None:
    """Refuse the batch before importing any of it when one file was imported before."""
    from segmint.ingest import imported_before

    if not paths:
        raise SpecError(
            "segmint update needs the new files to import.",
            fix="segmint update new_orders.csv (the exports since the last run).",
        )
    for path in paths:
        if not Path(path).exists():
            continue  # ingest says what is wrong with it
        found = imported_before(ws.store, path, into)
        if found is not None:
            raise SegmintError(
                f"This file was already imported into {found[2]} by run {found[0]} (from "
                f"{found[1]}); an update adds new rows only, so nothing was imported.",
                where=path,
                fix="leave it out of the update (its rows are in the workspace already).",
            )


# -- re-scoring --------------------------------------------------------------------------------


def _rescore(
    ws: Workspace, base: _Base, spec: Spec, as_of: str, *, profile: bool, say: Progress
) -> str:
    """Score every segmentation of ``base`` with its stored model; store a new segment run."""
    from segmint.segment.models import model_columns, model_from_json

    models = {s.name: model_from_json(base.models[s.name]) for s in base.specs}
    cols = {s.name: model_columns(models[s.name], base.results[s.name].features)
            for s in base.specs if s.method != "value"}  # fmt: skip
    # one read of the feature table: every column with --profile, else the models' columns
    frame = feature_frame(ws, None if profile else sorted({c for v in cols.values() for c in v}))
    left_out = objected(ws)  # not in the frame: they objected to profiling
    done: list[Segmented] = []
    values_of: pd.DataFrame | None = None
    for s in base.specs:
        est, values, summary = models[s.name], None, None
        if s.method == "value":
            summary = _value_summary(ws, base, s, as_of)
            labels, values = est.predict_values(summary)
            labels = labels.reindex(frame.index).fillna(NO_PURCHASES)
            values_of = values
        else:
            labels = est.predict(frame[cols[s.name]])  # every customer, in the table's order
        result = base.results[s.name]
        seg = Segmentation(
            name=s.name, method=s.method, labels=labels.astype(str),
            features=list(result.features), details={},
            warnings=[w for w in result.warnings if not w.startswith(RESCORED)],
        )  # fmt: skip
        done.append(Segmented(s, seg, result, base.models[s.name], values, summary))
        trim_heap()
    if profile:
        say("Profiling the re-scored segments")
        if values_of is not None:
            new = [c for c in values_of.columns if c not in frame.columns]
            frame = frame.join(values_of[new])
        done = [_profiled(d, frame, spec) for d in done]
    else:
        done = [_marked(d, _profiled_in(base.results[d.spec.name], base.run_id)) for d in done]
    say("Saving segments")
    return persist(ws, done, as_of, objected=left_out)


def _value_summary(ws: Workspace, base: _Base, s: SegmentationSpec, as_of: str) -> pd.DataFrame:
    """The purchase summary at ``as_of``: the affected customers' from their lines, everyone
    else's from the base run's stored summary with T moved to the new as-of (their
    purchases did not change); the whole history is read only when that is not possible."""
    from segmint._run._refresh import IDS, affected_lines
    from segmint.features.repeat import UNIT_DAYS
    from segmint.segment.value import summary_from_orders

    unit = s.params.get("unit") or "weeks"
    lines = affected_lines(ws, since=base.as_of)
    db, key = ws.store.db, [base.run_id, s.name, unit]
    where = "FROM value_summaries WHERE run_id = ? AND segmentation = ? AND unit = ?"
    kept = (
        "value_summaries" in ws.tables() and db.execute(f"SELECT count(*) {where}", key).fetchone()
    )
    if lines is None or not kept or not kept[0]:
        return ws.value_summary(as_of, unit=unit)  # without the customers who objected
    stored = db.execute(
        "SELECT customer_id, frequency, recency, T, monetary_value, revenue "
        f"{where} AND customer_id NOT IN (SELECT customer_id FROM {IDS})",
        key,
    ).df()
    mine = summary_from_orders(lines, as_of=as_of, unit=unit)  # type: ignore[arg-type]
    rest = stored.set_index("customer_id")
    per = UNIT_DAYS[unit]
    moved = (pd.Timestamp(as_of).normalize() - pd.Timestamp(base.as_of).normalize()).days
    # T = (as-of day − first purchase day) / per, recomputed from the whole days it holds
    rest["T"] = ((rest["T"] * per).round() + moved) / per
    out = pd.concat([rest, mine[rest.columns]]) if len(mine) else rest
    out.attrs.update(mine.attrs)
    objected = objections(ws.store)  # since the base run, too
    if objected is not None:
        attrs, out = out.attrs, out[~out.index.isin(objected.execute()["customer_id"])]
        out.attrs.update(attrs)
    return out


def _profiled_in(result: SegmentationResult, base_run: str) -> str:
    """The run whose customers ``result``'s profiles describe: ``base_run``, or the run an
    earlier update without ``--profile`` carried them over from."""
    for w in result.warnings:
        found = re.search(r"describe run (\S+)'s customers", w) if w.startswith(RESCORED) else None
        if found:
            return found.group(1)
    return base_run


def _marked(d: Segmented, profiled_run: str) -> Segmented:
    """The base run's result with the new sizes and a warning that its profiles are older."""
    note = (
        f"{RESCORED} with the stored model: every customer's segment is current "
        f"({len(d.segmentation.labels):,} customers), but the profiles, "
        f"the ranking and the plan describe run {profiled_run}'s customers. "
        "Run `segmint update --profile` (or `segmint run`) to refresh them."
    )
    result = d.result.model_copy(
        update={
            "n_customers": len(d.segmentation.labels),
            "warnings": [*d.segmentation.warnings, note],
        }
    )
    d.segmentation.warnings.append(note)
    d.result = result
    return d


def _profiled(d: Segmented, frame: pd.DataFrame, spec: Spec) -> Segmented:
    """The re-scored segments profiled, ranked and planned on the current features."""
    d.result = rescored_result(d.spec, d.segmentation, frame, spec, d.result)
    return d


# -- comparing and refitting -------------------------------------------------------------------


def _compare(
    ws: Workspace,
    base: str,
    current: str,
    spec: Spec,
    *,
    drift: bool = True,
    features: list[str] | None = None,
) -> dict[str, Any] | None:
    """The comparison of the two runs (``features``: only those, for drift and centroid
    shift: the ones the segmentations use)."""
    from segmint.monitor.compare import compare_runs, default_feature_drift

    try:
        return compare_runs(
            ws.store, base, current, thresholds=spec.monitoring, features=features or None,
            feature_drift=default_feature_drift if drift else None,
        ).to_dict()  # fmt: skip
    except SegmintError as exc:  # the comparison is a report, not a precondition
        return {"error": exc.problem}


def _drifted_inputs(
    monitoring: dict[str, Any] | None,
    specs: list[SegmentationSpec],
    results: dict[str, SegmentationResult],
) -> str:
    """Why ``auto`` refits: the drifted features some segmentation uses, or ""."""
    if not monitoring or "features" not in monitoring:
        return ""
    drifted = {f["feature"] for f in monitoring["features"] if f.get("drifted")}
    hits = []
    for s in specs:
        used = set(results[s.name].features) & drifted
        if used:
            hits.append(f"{s.name} ({', '.join(sorted(used))})")
    return f"drift in the features of {'; '.join(hits)}" if hits else ""


def _refitted(
    ws: Workspace,
    spec: Spec,
    base: _Base,
    imported: list[dict[str, Any]],
    feats: Refreshed,
    why: str,
    t0: float,
    steps: dict[str, float],
    notes: list[str],
    out_dir: str | Path | None,
    say: Progress,
) -> UpdateOutput:
    """Refit the base run's segmentations on the updated data (a full run, with a report)."""
    from segmint._run import run_pipeline

    say(f"Refitting: {why}")
    tick = time.perf_counter()
    out = Path(out_dir) if out_dir else ws.path.parent / "segmint-report"
    full = spec.model_copy(update={"segmentations": base.specs, "sources": []})
    done = run_pipeline(ws, full, out_dir=out, progress=say)
    steps["refit"] = time.perf_counter() - tick
    note = objected_note(_left_out(ws, done.run_id))
    notes = [*notes, note] if note else notes
    monitoring = _compare(ws, base.run_id, done.run_id, spec)
    return UpdateOutput(
        base.run_id, done.run_id, imported, feats, "refitted", why, monitoring,
        time.perf_counter() - t0, steps, notes, out,
    )  # fmt: skip
