"""``segmint run --engine spark``: the spec's pipeline where the data lives.

Fit on a sample, apply in the engine:

1. import, clean and build the features inside the engine (``EngineWorkspace``): by person
   once records are linked (a spec with ``identity: {link: true}`` links first, in the
   engine), without the customers who objected to profiling (``consent_profiling`` false),
   who are left out of fitting, assignment and the value models' histories as in the
   embedded run;
2. per segmentation, draw a sample of the feature table (``sample_size`` customers, seeded;
   every customer when there are no more) to the driver and fit the estimator there, with
   the same code as the embedded run (so profiles, names, ranking and plans are the sample's,
   and clusters keep the previous run's labels: stable ids, ``_stable``);
3. score every customer inside the engine through the estimator's Ibis expression
   (``to_ibis``: nearest centroid, first matching rule, RFM edges, value tiers) and write
   the assignments there; the value models' per-customer predictions run as a vectorised
   function on the engine's workers (:meth:`Engine.map_batches`);
4. check that the engine gave every sampled customer the label the driver gave (a mismatch
   would mean the two formulas disagree; the run stops rather than store it);
5. keep the typed results, the models and the run record on the driver (``segmint.duckdb``),
   the assignments and a copy of the features the run segmented on in the engine (for
   ``segmint monitor --engine spark``), and write the report.

Only aggregates, the sample and the check's labels leave the engine (and the previous run's
labels of the sampled customers, when clusters must be matched by overlap because the previous
model cannot be read). The sample size and the population are recorded with each
segmentation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint._run._frame import objected_note
from segmint._run._segment import NO_PURCHASES, Segmented
from segmint._run._segment import segment as _segment
from segmint.exceptions import SegmintError, SpecError
from segmint.spec.model import SegmentationSpec, Spec
from segmint.store.results import RunResult

if TYPE_CHECKING:
    from segmint._run._stable import Previous

__all__ = ["DEFAULT_SAMPLE", "ENGINE_METHODS", "run_on_engine", "segment_in_engine"]

#: customers the estimators are fitted on by default (k-means, rules and RFM edges settle
#: well below this; see docs/scale.md)
DEFAULT_SAMPLE = 1_000_000
#: methods whose fitted model scores inside the engine
ENGINE_METHODS = ("rules", "rfm", "kmeans", "kprototypes", "gmm", "needs", "value")


def run_on_engine(
    ws: Any,
    spec: Spec,
    *,
    out_dir: str | Path,
    progress: Callable[[str], None] | None = None,
    sample_size: int | None = None,
    seed: int = 0,
) -> Any:
    """Run ``spec`` on the engine workspace ``ws`` (:class:`segmint._engine_workspace.EngineWorkspace`)."""
    from segmint._run import _estimator, segmentations
    from segmint.report import write_report

    t0 = time.perf_counter()
    say = progress or (lambda _m: None)
    n = int(sample_size or DEFAULT_SAMPLE)
    segs = segmentations(spec)
    _check_methods(segs)
    builders = [_estimator(s) for s in segs]
    notes: list[str] = []
    for src in spec.sources:
        path = spec.source_path(src)
        if not src.replace and _imported(ws, str(path)):
            notes.append(f"{Path(path).name} was imported before; not imported again.")
            continue
        say(f"Importing {Path(path).name} ({ws.engine.name})")
        got = ws.ingest(path, into=src.as_, mapping=src.mapping or None, replace=src.replace)
        notes += [f"{got['table']}: {note}" for note in got["notes"]]
        for col, bad in got["unreadable"].items():
            notes.append(f"{got['table']}.{col}: {bad:,} values could not be read (left empty).")
    say("Cleaning")
    ws.clean(gates=spec.quality, drop_identical_lines=spec.clean.drop_identical_lines)
    notes += _link(ws, spec, say)
    say("Computing features")
    table = ws.features(as_of=spec.features.as_of, **_families(spec))
    as_of = ws.runs()[-1]["spec"]["as_of"]
    objections = _objections(ws)
    table, objected = _without(table, objections)
    if objected:
        notes.append(objected_note(objected) or "")
    if "orders" not in ws.tables():
        keep = [i for i, s in enumerate(segs) if s.method not in ("rfm", "value")]
        segs, builders = [segs[i] for i in keep], [builders[i] for i in keep]
    from segmint._run import check_columns

    check_columns(segs, table.schema())
    done, assigned, per_customer, population, more = segment_in_engine(
        ws, spec, segs, builders, table, objections, as_of, n=n, seed=seed, say=say
    )
    notes += more
    say("Saving segments")
    run_id = _persist(ws, done, as_of, assigned, per_customer, n, population, seed, objected)
    report = RunResult(
        workspace=str(ws.path),
        run_id=run_id,
        generated_at=datetime.now().replace(microsecond=0).isoformat(),
        as_of=as_of,
        quality={},
        segmentations=[r.result for r in done],
        notes=notes,
    )
    html, js = write_report(report, out_dir)
    from segmint._run import RunOutput

    files = {"html": html, "json": js}
    return RunOutput(run_id, report, files, [], time.perf_counter() - t0)


def segment_in_engine(
    ws: Any,
    spec: Spec,
    segs: list[SegmentationSpec],
    builders: list[Any],
    table: ir.Table,
    objections: ir.Table | None,
    as_of: str,
    *,
    n: int,
    seed: int,
    say: Callable[[str], None],
) -> tuple[list[Segmented], dict[str, ir.Table], dict[str, ir.Table], int, list[str]]:
    """Steps 2–4 on the feature ``table`` (objections already left out): each segmentation
    fitted and profiled on a sample of ``n`` customers, every customer assigned in the engine.

    ``ws`` offers ``engine``, ``store``, ``tables()`` and ``keyed()`` (an engine workspace,
    or the embedded one above the size where its run samples, ``_large``). Returns the
    segmentations in the spec's order, the assignments and value predictions as engine
    tables (by segmentation name), the population and the notes.
    """
    from segmint._run._frame import shaped

    notes: list[str] = []
    say(f"Drawing the sample (up to {n:,} customers)")
    rows, population = ws.engine.sample(table, n, seed)
    # DuckDB's cache handed back before the frame is built: the rows are Arrow's now (on
    # 10M customers the frame built next to the cache peaked at 2,153 MB RSS)
    _release(ws)
    frame = shaped(rows)
    if population > len(frame):
        notes.append(
            f"Segments were fitted and profiled on a sample of {len(frame):,} of "
            f"{population:,} customers (seed {seed}); every customer was assigned in the engine."
        )
    by_index: dict[int, Segmented] = {}
    assigned: dict[str, ir.Table] = {}
    per_customer: dict[str, ir.Table] = {}  # value predictions, by value segmentation
    # value first (its CLV and P(alive) join the frame, as in the embedded run); results keep
    # the spec's order
    for i in sorted(range(len(segs)), key=lambda j: segs[j].method != "value"):
        s, build = segs[i], builders[i]
        say(f"Segmenting: {s.name} ({s.method})")
        if s.method == "value":
            got_value = _value(
                ws, s, build, as_of, n, seed, frame, population, spec, say, table, objections
            )
            if isinstance(got_value, str):
                notes.append(f"Value segmentation '{s.name}' was skipped: {got_value}")
                continue
            seg_done, labels, values, scored = got_value
            frame = frame.join(values[[c for c in values.columns if c not in frame.columns]])
            per_customer[s.name] = scored
        else:
            fitted: list[Any] = []
            before = _previous(ws, s, frame)
            seg_done = _segment(s, _fit(build, as_of, fitted), frame, spec, say, previous=before)
            labels = fitted[0].to_ibis(table)
        seg_done.result = seg_done.result.model_copy(update={"n_customers": population})
        _agree(labels, seg_done.segmentation.labels, s.name)
        assigned[s.name] = _named(labels, seg_done.result.names(), s.name)
        by_index[i] = seg_done
        _release(ws)
    done = [by_index[i] for i in sorted(by_index)]
    return done, assigned, per_customer, population, notes


def _release(ws: Any) -> None:
    """DuckDB's cached blocks (the workspace's, or the driver's on Spark) and the C heap's
    free pages handed back between steps: on 10M customers the cache of the engine queries
    (the sample, the check of every segmentation) sat next to the 1M-customer sample and its
    profiles in memory."""
    from segmint._run._frame import trim_heap

    ws.store.release_memory()
    trim_heap()


def _check_methods(segs: list[SegmentationSpec]) -> None:
    bad = [s for s in segs if s.method not in ENGINE_METHODS]
    if bad:
        raise SpecError(
            f"Segmentation(s) {', '.join(repr(s.name) for s in bad)} use "
            f"{', '.join(sorted({s.method for s in bad}))}, which cannot assign customers "
            "inside Spark (no formula to apply in the engine).",
            fix=f"on --engine spark use one of {', '.join(ENGINE_METHODS)}, or run this "
            "segmentation on the default engine.",
        )


def _objections(ws: Any) -> ir.Table | None:
    """The customers who objected to profiling (``consent_profiling`` false; a person when
    any of their records did), one column ``_cid``; None when nobody could have: the
    embedded run leaves them out of fitting, assignment and the value models' histories."""
    if "customers" not in ws.tables():
        return None
    c = ws.keyed("customers")
    if "consent_profiling" not in c.columns:
        return None
    out = c.filter(c.consent_profiling == False)  # noqa: E712
    return out.select(_cid=out.customer_id.cast("string")).distinct()


def _without(table: ir.Table, out: ir.Table | None) -> tuple[ir.Table, int]:
    """``table`` without the customers of ``out``, and how many it held."""
    if out is None:
        return table, 0
    n = int(table.semi_join(out, table.customer_id == out._cid).count().to_pyarrow().as_py())
    return (table.anti_join(out, table.customer_id == out._cid), n) if n else (table, 0)


def _link(ws: Any, spec: Spec, say: Callable[[str], None]) -> list[str]:
    """Persons before features: a full dedupe in the engine when the spec says
    ``identity: {link: true}``; else a note when records arrived after the last dedupe."""
    from segmint.identity import IdentityOptions
    from segmint.identity.engine import unmapped

    if "customers" not in ws.tables():
        return []
    if spec.identity.link:
        say("Linking customer records (segmint dedupe)")
        done = ws.dedupe(options=IdentityOptions.from_spec(spec.identity), progress=say)
        return [
            f"Identity: {done.records:,} customer records are {done.persons:,} persons "
            f"(linked in {ws.engine.name} at match probability ≥ {done.threshold:g})."
        ]
    new = unmapped(ws)
    if not new:
        return []
    return [
        f"Identity: {new:,} customer records arrived after the last dedupe and count as "
        f"persons of their own (segmint dedupe --engine spark links them)."
    ]


def _imported(ws: Any, path: str) -> bool:
    return any(r["kind"] == "ingest" and r["source"] == path for r in ws.runs())


def _families(spec: Spec) -> dict[str, Any]:
    return {"families": spec.features.families} if spec.features.families else {}


def _fit(build: Any, as_of: str, fitted: list[Any]) -> Callable[[pd.DataFrame], Any]:
    def fit(X: pd.DataFrame) -> Any:
        est = build(X, as_of).fit(X)
        fitted.append(est)
        return est

    return fit


def _agree(labels: ir.Table, driver: pd.Series, name: str) -> None:
    """Every sampled customer got the same segment in the engine as on the driver."""
    ids = ibis.memtable(pd.DataFrame({"customer_id": driver.index.astype(str)}))
    got = labels.semi_join(ids, labels.customer_id == ids.customer_id)
    engine = got.select("customer_id", "segment").to_pyarrow().to_pandas().set_index("customer_id")
    engine = engine["segment"].reindex(driver.index.astype(str))
    want = driver.astype(str)
    want.index = want.index.astype(str)
    differ = (engine.fillna("\0") != want).sum()
    if differ:
        raise SegmintError(
            f"Segmentation '{name}': the engine assigned {differ:,} of {len(want):,} sampled "
            "customers to another segment than the fitted model did, so the run was not saved.",
            fix="report this with the spec; run on the default engine meanwhile.",
        )


def _previous(ws: Any, s: SegmentationSpec, frame: pd.DataFrame) -> Previous | None:
    """The last run's segmentation of this name and method, so that segments keep their
    labels (and the names people gave them) across runs as on the embedded engine
    (``_stable``): its result and model from the driver; its labels, needed only when
    segments are matched by customer overlap, for the sampled customers only."""
    from segmint._run._stable import previous

    prev = previous(cast(Any, _Driver(ws.store)), s.name, s.method)
    if prev is None or "segment_assignments" not in ws.engine.tables():
        return prev

    def sampled_labels() -> pd.Series:
        sa = ws.engine.table("segment_assignments")
        ids = ibis.memtable(pd.DataFrame({"_cid": frame.index.astype(str)}))
        t = sa.filter((sa.run_id == prev.run_id) & (sa.segmentation == s.name))
        got = t.semi_join(ids, t.customer_id == ids._cid).select("customer_id", "segment")
        rows = got.to_pyarrow().to_pandas()
        return pd.Series(rows["segment"].astype(str).to_numpy(), index=rows["customer_id"])

    return replace(prev, load_assignments=sampled_labels)


class _Driver:
    """What ``_stable.previous`` reads of a workspace: the driver's system tables."""

    def __init__(self, store: Any):
        self.store = store

    def tables(self) -> list[str]:
        return list(self.store.table_names())


def _named(labels: ir.Table, names: dict[str, str], segmentation: str) -> ir.Table:
    seg = labels.segment.cast("string")
    cases = [(seg == k, v) for k, v in names.items()]
    name = ibis.cases(*cases, else_=seg) if cases else seg
    return labels.select(
        customer_id=labels.customer_id,
        segment=seg,
        segment_name=name,
    )


def _value(
    ws: Any,
    s: SegmentationSpec,
    build: Any,
    as_of: str,
    n: int,
    seed: int,
    frame: pd.DataFrame,
    population: int,
    spec: Spec,
    say: Callable[[str], None],
    table: ir.Table,
    objections: ir.Table | None,
) -> Any:
    """Value models fitted on a sample of purchase histories, their predictions for every
    buyer computed on the engine's workers (``ValueScorer`` per batch), tiers by the engine."""
    from segmint._run._value import Summaries, fit_value
    from segmint.features import resolve_as_of
    from segmint.features.repeat import repeat_summary
    from segmint.segment.value import summary_attrs

    unit = s.params.get("unit") or "weeks"
    orders = ws.keyed("orders")  # by person once records are linked, as the features
    if objections is not None:  # their histories are not fitted on either (embedded run)
        orders = orders.anti_join(objections, orders.customer_id.cast("string") == objections._cid)
    when = resolve_as_of(orders, as_of)
    summary_expr = repeat_summary(orders, when, unit=unit)  # type: ignore[arg-type]
    # the histories of the sampled customers (the feature sample's buyers), so that the
    # driver's labels and the engine's agree on every sampled customer
    if len(frame) < population:  # a sample: only its customers' histories
        ids = ibis.memtable(pd.DataFrame({"_cid": frame.index.astype(str)}))
        picked = summary_expr.semi_join(ids, summary_expr.customer_id == ids._cid)
    else:
        picked = summary_expr
    rows, _buyers = ws.engine.sample(picked, n, seed)
    summary = rows.to_pandas().set_index("customer_id")
    summary.attrs.update(summary_attrs(when, unit, None))
    inputs = Summaries(unit=unit, summary=summary)
    fitted = fit_value(s, build, len(frame), inputs, as_of, optional=not spec.segmentations)
    if isinstance(fitted, str):
        return fitted
    est, extra = fitted
    values = est.values_
    joined = frame.join(values[[c for c in values.columns if c not in frame.columns]])
    seg_done = _segment(s, lambda _X: est, joined, spec, say, extra, _previous(ws, s, frame))
    scorer = est.scorer()
    history = summary_expr.select("customer_id", "frequency", "recency", "T", "monetary_value")
    spine = table.select("customer_id")  # the run's customers (objections left out)
    everyone = ws.engine.map_batches(history, scorer, scorer.schema(summary_expr))
    everyone = everyone.semi_join(spine, "customer_id")
    revenue = summary_expr.select(_cid=summary_expr.customer_id, revenue=summary_expr.revenue)
    scored = everyone.join(revenue, everyone.customer_id == revenue._cid).drop("_cid")
    tiers = est.to_ibis(scored)
    tiered = tiers.select(_cid=tiers.customer_id, _seg=tiers.segment)
    j = spine.left_join(tiered, spine.customer_id == tiered._cid)
    labels = j.select(customer_id=j.customer_id, segment=j._seg.fill_null(NO_PURCHASES))
    return seg_done, labels, values, everyone


def _persist(
    ws: Any,
    done: list[Segmented],
    as_of: str,
    assigned: dict[str, ir.Table],
    values: dict[str, ir.Table],
    n: int,
    population: int,
    seed: int,
    objected: int = 0,
) -> str:
    """Assignments and values into the engine (every run's rows, one table each, written with
    the run record, and the features the run segmented on, for ``segmint monitor``), results
    and models on the driver."""
    from segmint._run._persist import persist
    from segmint.store.engine_snapshots import keep_engine_snapshot

    def write(run_id: str) -> None:
        tables = {
            "segment_assignments": _stacked(ws, "segment_assignments", assigned, run_id),
            "customer_values": _stacked(ws, "customer_values", values, run_id),
            **keep_engine_snapshot(ws.store, ws.engine, run_id, population),
        }
        ws.engine.write({k: v for k, v in tables.items() if v is not None})

    sampled = {"sample": min(n, population), "population": population, "seed": seed}
    return persist(ws, done, as_of, engine=sampled, write_engine=write, objected=objected)


def _stacked(ws: Any, name: str, parts: dict[str, ir.Table], run_id: str) -> ir.Table | None:
    """The rows already in table ``name`` plus this run's ``parts`` (by segmentation)."""
    new = list(_stacked_rows(parts, run_id).values())
    if not new:
        return None
    rows = new[0].union(*new[1:]) if len(new) > 1 else new[0]
    if name in ws.engine.tables():
        rows = ws.engine.table(name).select(*rows.columns).union(rows)
    return rows


def _stacked_rows(parts: dict[str, ir.Table], run_id: str) -> dict[str, ir.Table]:
    """Each segmentation's rows with the run id and its name in front."""
    return {
        seg: t.mutate(run_id=ibis.literal(run_id), segmentation=ibis.literal(seg)).relocate(
            "run_id", "segmentation"
        )
        for seg, t in parts.items()
    }
