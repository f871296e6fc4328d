"""``segmint run``: ingest → clean → features → segmentations → profiles → ranking → report.

This is an interface package: it reaches across the stages and composes them. Each stage
keeps its own transaction; the segmentation results (assignments per customer, the typed
results, the models as JSON) are stored in the workspace in one transaction with the run
record, so later runs can be compared (migration between segments over time).

| module | what lives there |
|---|---|
| ``__init__`` | :func:`run_pipeline` (the order of the steps), :func:`check_spec`, the defaults |
| ``_value`` | the value step: purchase summaries from the engine, the value models |
| ``_segment`` | one segmentation: fit, name, profile, rank, plan → ``SegmentationResult`` |
| ``_stable`` | stable segment ids: matched to the previous run's segments, names kept |
| ``_persist`` | the run's assignments, results, models and values in one transaction |
| ``_campaigns`` | the report's campaign results, when the workspace holds campaign contacts |
| ``_feedback`` | feedback texts analysed when they changed; their summary per segment |
| ``_monitoring`` | the report's monitoring section: this run against the previous segment run |
| ``_frame`` | the feature table as pandas (without customers who objected to profiling); giving freed heap memory back |
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from segmint._run import _large
from segmint._run._feedback import analyse as _analyse_feedback
from segmint._run._feedback import feedback_defaults as _feedback_defaults
from segmint._run._feedback import summarise as _summarise_feedback
from segmint._run._feedback import summary_of_run as feedback_summary_of_run
from segmint._run._frame import feature_frame as _feature_frame
from segmint._run._frame import objected as _objected
from segmint._run._frame import objected_note as _objected_note
from segmint._run._frame import trim_heap as _trim_heap
from segmint._run._identity import link_new
from segmint._run._persist import persist as _persist
from segmint._run._segment import NO_PURCHASES, Segmented
from segmint._run._segment import segment as _segment
from segmint._run._stable import previous as _previous
from segmint._run._value import fit_value as _value
from segmint._run._value import summaries as _summaries
from segmint._run.engine_run import DEFAULT_SAMPLE, ENGINE_METHODS
from segmint._workspace import Workspace
from segmint.clean import identical_lines_note
from segmint.exceptions import SpecError
from segmint.segment.registry import DEFAULT_CLUSTER_FEATURES, Builder, get_method
from segmint.spec.model import CLUSTER_METHODS, SegmentationSpec, SourceSpec, Spec
from segmint.store.results import RunResult

__all__ = [
    "DEFAULT_CLUSTER_FEATURES",
    "NO_PURCHASES",
    "RunOutput",
    "check_columns",
    "check_spec",
    "default_segmentations",
    "feedback_summary_of_run",
    "run_pipeline",
    "segmentations",
]

Progress = Callable[[str], None]
NO_ORDERS_SHORT = (
    "No orders in the workspace: RFM and value segments were skipped (they need purchases)."
)


@dataclass
class RunOutput:
    """What a run leaves: its id, the typed result (as in ``report.json``), the files."""

    run_id: str
    report: RunResult
    files: dict[str, Path]
    ingested: list[Any] = field(default_factory=list)
    seconds: float = 0.0


def default_segmentations() -> list[SegmentationSpec]:
    """What `segmint run FILE` does without a spec: RFM segments, k-means with automatic k,
    and value tiers (CLV); the value step is skipped with a warning when the data cannot
    support it (e.g. no repeat buyers)."""
    return [
        SegmentationSpec(name="rfm", method="rfm"),
        SegmentationSpec(name="clusters", method="kmeans", k="auto"),
        SegmentationSpec(name="value", method="value"),
    ]


def check_spec(spec: Spec, columns: Any | None = None, features: list[str] | None = None) -> None:
    """Validate what can be validated before touching data: methods, fields, params, rules;
    with ``columns`` (the feature table's Ibis schema, :meth:`Workspace.feature_columns`) also
    the feature and column names the segmentations use (:func:`check_columns`). ``features``:
    the clustering features, as ``cluster_features`` of :func:`run_pipeline`."""
    segs = segmentations(spec, features)
    for s in segs:
        _estimator(s)
    if columns is not None:
        check_columns(segs, columns)


def segmentations(spec: Spec, features: list[str] | None = None) -> list[SegmentationSpec]:
    """The spec's segmentations (the zero-config ones without), the clustering ones on
    ``features`` when given (``segmint run --features``)."""
    segs = spec.segmentations or default_segmentations()
    if features is None:
        return segs
    if not any(s.method in CLUSTER_METHODS for s in segs):
        raise SpecError(
            f"--features chooses what clustering runs on, but the spec's segmentations "
            f"({', '.join(s.name for s in segs)}) have no clustering.",
            fix="add one (method: kmeans) or leave --features out; rules name their columns.",
        )
    return [
        s.model_copy(update={"features": features}) if s.method in CLUSTER_METHODS else s
        for s in segs
    ]


def check_columns(segs: list[SegmentationSpec], schema: Any) -> None:
    """Every feature a segmentation asks for and every column its rules read exists in the
    feature table (``schema``, an Ibis schema; the value models' outputs count when a value
    segmentation runs). Raises the SpecError the run would raise later, before any work."""
    import ibis

    from segmint.segment.registry import missing_features
    from segmint.segment.rules import parse_rules

    types = {c: t for c, t in schema.items() if c != "customer_id"}
    if any(s.method == "value" for s in segs):
        from segmint.segment.value import VALUE_COLUMNS

        types |= {c: "float64" for c in VALUE_COLUMNS if c not in types}
    for s in segs:
        missing_features(s, list(types))
        if s.method == "rules" and s.rules:
            parse_rules(list(s.rules.items()), ibis.schema(types))


def _need_orders(
    ws: Workspace, segs: list[SegmentationSpec], builders: list[Builder], *, explicit: bool
) -> tuple[list[SegmentationSpec], list[Builder], list[str]]:
    """Without an orders table, RFM and value segments cannot be built: the zero-config run
    leaves them out with a note (and clusters on the customers' attributes); a spec that asks
    for them is an error."""
    if "orders" in ws.tables():
        return segs, builders, []
    need = [s for s in segs if s.method in ("rfm", "value")]
    if need and explicit:
        raise SpecError(
            f"Segmentation(s) {', '.join(repr(s.name) for s in need)} need order lines "
            f"({', '.join(sorted({s.method for s in need}))}), but the workspace '{ws.path}' "
            "has no orders: only customers.",
            fix="import orders (segmint ingest orders.csv), or segment the customers' "
            "attributes with rules or clustering (features: [...]).",
        )
    keep = [i for i, s in enumerate(segs) if s.method not in ("rfm", "value")]
    notes = [
        "No orders in the workspace: RFM and value segments were skipped (they need "
        "purchases); clustering runs on the customers' attributes (by default every numeric "
        "one; choose with --features, or features: in the spec)."
    ] if need else []  # fmt: skip
    return [segs[i] for i in keep], [builders[i] for i in keep], notes


def _estimator(s: SegmentationSpec) -> Builder:
    """The segmentation's estimator factory (the method registry); SpecError on a bad rule,
    a field the method does not use, or an unknown param."""
    return get_method(s.method).builder(s)


def run_pipeline(
    ws: Workspace,
    spec: Spec,
    *,
    out_dir: str | Path,
    progress: Progress | None = None,
    cluster_features: list[str] | None = None,
    sample_size: int | None = None,
) -> RunOutput:
    """Run the whole pipeline described by ``spec`` on ``ws``; write the report to ``out_dir``.

    ``cluster_features`` (``segmint run --features``) puts every clustering segmentation on
    those feature columns; without segmentations in the spec the run stays zero-config (RFM
    and value are skipped with a note when the data cannot support them). With more customers
    than ``sample_size`` (default 1M) the segmentations are fitted and profiled on a sample of
    that many and every customer is assigned inside DuckDB (``_large``).
    """
    t0 = time.perf_counter()
    say = progress or (lambda _m: None)
    segs = segmentations(spec, cluster_features)
    builders = [_estimator(s) for s in segs]  # validate every segmentation before any work
    ingested = []
    for src in spec.sources:
        say(f"Importing {Path(src.path).name}")
        ingested.append(_ingest(ws, spec, src, say))
    say("Cleaning")
    cleaned = ws.clean(
        gates=spec.quality, drop_identical_lines=spec.clean.drop_identical_lines, progress=say
    )
    quality = ws.quality(Path(out_dir) / "quality")
    linked = link_new(ws, spec, say)
    analysed = _analyse_feedback(ws, spec, say)
    say("Computing features")
    ws.features(as_of=spec.features.as_of, **_families(spec))
    as_of = ws.runs()[-1]["spec"]["as_of"]
    segs, builders, skipped = _need_orders(ws, segs, builders, explicit=bool(spec.segmentations))
    segs, said = _feedback_defaults(ws, segs, explicit=bool(spec.segmentations))
    if said:  # feedback decides what is segmented: the note about attributes does not hold
        skipped = [NO_ORDERS_SHORT, *said] if skipped else said
    builders = [_estimator(s) for s in segs]
    for note in skipped:
        say(note)
    check_columns(segs, ws.table("customer_features").schema())
    notes: list[str] = [n for r in ingested for n in r.assumptions] + [
        identical_lines_note(name, t["identical_lines"])
        for name, t in cleaned.tables.items()
        if t.get("identical_lines")
    ]
    limit = int(sample_size or DEFAULT_SAMPLE)
    if _large.population(ws) > limit and all(s.method in ENGINE_METHODS for s in segs):
        results, write, sampled, objected, more = _large.sampled_run(
            ws, spec, segs, builders, as_of, n=limit, seed=0, say=say
        )
        notes += [*skipped, *(n for n in (_objected_note(objected), linked, analysed) if n)]
        notes += more
        _summarise_feedback(ws, results)
        say("Saving segments")
        run_id = _persist(ws, results, as_of, objected=objected, engine=sampled, write_engine=write)
    else:
        results, run_id = _in_memory(
            ws, spec, segs, builders, as_of, say, notes, skipped, (linked, analysed)
        )
    return _finish(ws, spec, results, run_id, as_of, quality, notes, ingested, out_dir, say, t0)


def _in_memory(
    ws: Workspace,
    spec: Spec,
    segs: list[SegmentationSpec],
    builders: list[Builder],
    as_of: str,
    say: Progress,
    notes: list[str],
    skipped: list[str],
    said: tuple[str | None, str | None],
) -> tuple[list[Segmented], str]:
    """Every customer's features in pandas: fitted, profiled and assigned there."""
    linked, analysed = said
    # the value models' SQL runs before the feature frame is fetched, so that DuckDB's peak
    # does not come on top of the frame (about 0.3 GB less peak memory on 1M customers)
    summaries = {i: _summaries(ws, s, as_of) for i, s in enumerate(segs) if s.method == "value"}
    before = {i: _previous(ws, s.name, s.method) for i, s in enumerate(segs)}
    features = _feature_frame(ws)  # without the customers who objected to profiling
    objected = _objected(ws)
    # the result's buffers and the rows written since the last checkpoint (167 MB pinned on
    # 1M customers): the pandas stages come next
    ws.store.release_memory(checkpoint=True)
    _trim_heap()
    done: dict[int, Segmented] = {}
    notes += [*skipped, *(n for n in (_objected_note(objected), linked, analysed) if n)]
    # value segmentations first: their per-customer CLV and P(alive) join the features, so
    # every later profile and ranking can use them (the ranking's potential term)
    for i in sorted(range(len(segs)), key=lambda j: segs[j].method != "value"):
        seg_spec, build = segs[i], builders[i]
        say(f"Segmenting: {seg_spec.name} ({seg_spec.method})")
        if seg_spec.method == "value":
            inputs = summaries.pop(i)
            fitted = _value(
                seg_spec, build, len(features), inputs, as_of, optional=not spec.segmentations
            )
            if isinstance(fitted, str):
                notes.append(f"Value segmentation '{seg_spec.name}' was skipped: {fitted}")
                say(notes[-1])
                continue
            est, extra = fitted
            new = [c for c in est.values_.columns if c not in features.columns]
            features = features.join(est.values_[new])
            # fitted on the purchase summary already (_value)
            done[i] = _segment(
                seg_spec, _given(est), features, spec, say, extra, previous=before[i]
            )
            done[i].values = est.values_
            done[i].summary = inputs.summary  # what `segmint update` starts from
            del est, fitted  # the full fitted model (per-customer labels) is not needed again
        else:
            fit = _fit_with(build, as_of)
            done[i] = _segment(seg_spec, fit, features, spec, say, previous=before[i])
        _trim_heap()
    results = [done[i] for i in sorted(done)]
    _summarise_feedback(ws, results)  # what each segment's customers wrote
    say("Saving segments")
    return results, _persist(ws, results, as_of, objected=objected)


def _finish(
    ws: Workspace,
    spec: Spec,
    results: list[Segmented],
    run_id: str,
    as_of: str,
    quality: dict[str, Any],
    notes: list[str],
    ingested: list[Any],
    out_dir: str | Path,
    say: Progress,
    t0: float,
) -> RunOutput:
    """The report of a stored run: campaigns, the comparison with the previous run, files."""
    # imported here: the campaign statistics pull in scipy.stats and statsmodels (1.7 s of
    # imports), which `segmint update` and the other commands that import this package skip
    from segmint._run._campaigns import campaign_section as _campaign_section
    from segmint._run._monitoring import monitoring_section as _monitoring_section
    from segmint.privacy.reports import register_report
    from segmint.report import jsonable, write_report

    campaigns, note = _campaign_section(ws, results[0].result.name if results else None, run_id)
    say("Comparing with the previous run")
    monitoring, since = _monitoring_section(ws, run_id, spec.monitoring)
    report = RunResult(
        workspace=str(ws.path),
        run_id=run_id,
        generated_at=datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat(),
        as_of=as_of,
        quality=jsonable({"summary": quality["summary"], "gates": quality["gates"]}),
        segmentations=[r.result for r in results],
        notes=[*notes, *(n for n in (note, since) if n)],
        campaigns=campaigns,
        monitoring=monitoring,
    )
    say("Writing the report")

    html, js = write_report(report, out_dir)
    for path in (html, js):  # erasure rewrites the reports that quote a customer
        register_report(ws.store, path, "run", run_id)
    files = {"html": html, "json": js, "quality": Path(quality["files"]["html"])}
    return RunOutput(run_id, report, files, ingested, time.perf_counter() - t0)


def _fit_with(build: Builder, as_of: str) -> Callable[[pd.DataFrame], Any]:
    """Build the estimator for the feature columns ``X`` and fit it on them."""
    return lambda X: build(X, as_of).fit(X)


def _given(est: Any) -> Callable[[pd.DataFrame], Any]:
    """An estimator fitted elsewhere (the value models, on the purchase summary)."""
    return lambda _X: est


def _families(spec: Spec) -> dict[str, Any]:
    return {"families": spec.features.families} if spec.features.families else {}


def _ingest(ws: Workspace, spec: Spec, src: SourceSpec, say: Progress) -> Any:
    return ws.ingest(
        spec.source_path(src),
        into=src.as_,
        format=src.format,
        mapping=src.mapping or None,
        gates=spec.quality,
        replace=src.replace,
        if_imported="skip",
        progress=say,
        **src.options.model_dump(),
    )
