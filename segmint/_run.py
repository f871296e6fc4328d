"""``segmint run``: ingest → clean → features → segmentations → profiles → ranking → report.

This is an interface module: it reaches across the stages and composes them. Each stage keeps
its own transaction; the segmentation results (assignments per customer, profiles, ranking,
targeting) are stored in the workspace in one transaction with the run record, so later runs
can be compared (migration between segments over time).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from segmint._workspace import Workspace
from segmint.exceptions import SpecError
from segmint.spec.model import CLUSTER_METHODS, SegmentationSpec, SourceSpec, Spec
from segmint.store import RunRecord

__all__ = [
    "RunOutput",
    "check_columns",
    "check_spec",
    "default_segmentations",
    "run_pipeline",
    "segmentations",
]

Progress = Callable[[str], None]

#: zero-config clustering features, used when present and not constant
DEFAULT_CLUSTER_FEATURES = (
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_order_value",
    "tenure_days",
    "discount_share",
    "return_rate",
)
_NOT_FEATURES = ("customer_id",)
#: value segment of customers with no purchase before the as-of date
NO_PURCHASES = "No purchases yet"


@dataclass
class RunOutput:
    run_id: str
    report: dict[str, Any]
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
    """Validate what can be validated before touching data: methods, params, rule syntax; with
    ``columns`` (the feature table's Ibis schema, :meth:`Workspace.feature_columns`) also the
    feature and column names the segmentations use (:func:`check_columns`). ``features``: the
    clustering features, as ``cluster_features`` of :func:`run_pipeline`."""
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
    from segmint.segment.rules import parse_rules

    types = dict(schema.items())
    if any(s.method == "value" for s in segs):
        from segmint.segment.value import VALUE_COLUMNS

        types |= {c: "float64" for c in VALUE_COLUMNS if c not in types}
    known = [c for c in types if c not in _NOT_FEATURES]
    for s in segs:
        _missing_features(s, s.features or [], known)
        if s.method == "rules" and s.rules:
            import ibis

            parse_rules(list(s.rules.items()), ibis.schema(types))


def run_pipeline(
    ws: Workspace,
    spec: Spec,
    *,
    out_dir: str | Path,
    progress: Progress | None = None,
    cluster_features: list[str] | None = None,
) -> RunOutput:
    """Run the whole pipeline described by ``spec`` on ``ws``; write the report to ``out_dir``.

    ``cluster_features`` (``segmint run --features``) puts every clustering segmentation on those
    feature columns; without segmentations in the spec the run stays zero-config (RFM and
    value are skipped with a note when the data cannot support them).
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
    ws.clean(gates=spec.quality, progress=say)
    quality = ws.quality(Path(out_dir) / "quality")
    say("Computing features")
    ws.features(as_of=spec.features.as_of, **_families(spec))
    run_meta = ws.runs()[-1]
    as_of = run_meta["spec"]["as_of"]
    segs, builders, notes = _need_orders(ws, segs, builders, explicit=bool(spec.segmentations))
    for note in notes:
        say(note)
    check_columns(segs, ws.table("customer_features").schema())
    # the value models' SQL runs before the feature frame is fetched, so that DuckDB's peak
    # does not come on top of the frame (about 0.3 GB less peak memory on 1M customers)
    summaries = {i: _summaries(ws, s, as_of) for i, s in enumerate(segs) if s.method == "value"}
    features = _feature_frame(ws)
    ws.store.release_memory()  # the result's buffers: the pandas stages come next
    _trim_heap()
    done: dict[int, dict[str, Any]] = {}
    # value segmentations first: their per-customer CLV and P(alive) join the features, so
    # every later profile and ranking can use them (the ranking's potential term)
    for i in sorted(range(len(segs)), key=lambda j: segs[j].method != "value"):
        seg_spec, build = segs[i], builders[i]
        say(f"Segmenting: {seg_spec.name} ({seg_spec.method})")
        if seg_spec.method == "value":
            fitted = _value(
                seg_spec, build, features, summaries.pop(i), as_of, optional=not spec.segmentations
            )
            if isinstance(fitted, str):
                notes.append(f"Value segmentation '{seg_spec.name}' was skipped: {fitted}")
                say(notes[-1])
                continue
            est, extra = fitted
            new = [c for c in est.values_.columns if c not in features.columns]
            features = features.join(est.values_[new])
            # fitted on the purchase summary already (_value)
            done[i] = _segment(seg_spec, _given(est), features, spec, as_of, say, extra)
            done[i]["values"] = est.values_
            del est, fitted  # the full fitted model (per-customer labels) is not needed again
        else:
            done[i] = _segment(seg_spec, _fit_with(build, as_of), features, spec, as_of, say)
        _trim_heap()
    results = [done[i] for i in sorted(done)]
    report = {
        "title": "Customer segments",
        "workspace": str(ws.path),
        "generated_at": datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat(),
        "as_of": as_of,
        "quality": {"summary": quality["summary"], "gates": quality["gates"]},
        "segmentations": [r["report"] for r in results],
        "notes": notes,
    }
    say("Saving segments")
    run_id = _persist(ws, spec, results, as_of)
    report["run_id"] = run_id
    say("Writing the report")
    from segmint.report import write_report

    html, js = write_report(report, out_dir)
    files = {"html": html, "json": js, "quality": Path(quality["files"]["html"])}
    return RunOutput(run_id, report, files, ingested, time.perf_counter() - t0)


def _need_orders(
    ws: Workspace, segs: list[SegmentationSpec], builders: list[Any], *, explicit: bool
) -> tuple[list[SegmentationSpec], list[Any], list[str]]:
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
        "No orders in the workspace: RFM and value segments were skipped (they need purchases); "
        "the clustering uses the customers' numeric attributes (choose them with --features, "
        "or features: in the spec)."
    ] if need else []  # fmt: skip
    return [segs[i] for i in keep], [builders[i] for i in keep], notes


def _summaries(ws: Workspace, s: SegmentationSpec, as_of: str) -> dict[str, Any]:
    """What the value models fit on, from the engine: the repeat-purchase summary and, with
    a holdout, the calibration-period summary; a problem is kept to be raised or reported
    where the model is fitted (:func:`_value`)."""
    from segmint.exceptions import ModelError, SegmintError

    unit = s.params.get("unit") or "weeks"
    out: dict[str, Any] = {"unit": unit}
    try:
        out["summary"] = ws.value_summary(as_of, unit=unit)
    except ModelError as exc:
        out["error"] = exc
        return out
    if s.holdout_days:
        try:
            out["calib"] = ws.value_summary(as_of, unit=unit, holdout_days=s.holdout_days)
        except SegmintError as exc:
            out["calib_error"] = exc
    return out


def _value(
    s: SegmentationSpec,
    build: Callable[[pd.DataFrame, str], Any],
    features: pd.DataFrame,
    inputs: dict[str, Any],
    as_of: str,
    *,
    optional: bool,
) -> tuple[Any, dict[str, Any]] | str:
    """Fit the value models on the repeat-purchase summary (:func:`_summaries`); with
    ``optional`` (zero-config runs) a ModelError skips the step (its reason is returned)
    instead of failing the run."""
    from segmint.exceptions import ModelError, SegmintError
    from segmint.segment.value.diagnostics import clv_histogram, p_alive_matrix
    from segmint.segment.value.holdout import holdout_check

    unit, summary = inputs["unit"], inputs.get("summary", pd.DataFrame())
    try:
        if "error" in inputs:
            raise inputs["error"]
        est = build(summary, as_of).fit(summary)
    except ModelError as exc:
        if not optional:
            raise
        return exc.problem
    holdout = None
    if s.holdout_days:  # a diagnostic: when it cannot be done, say so and go on
        try:
            if "calib_error" in inputs:
                raise inputs["calib_error"]
            holdout = holdout_check(inputs["calib"], penalizer=est.penalizer).to_dict()
        except SegmintError as exc:
            est.warnings_.append(
                f"The {s.holdout_days}-day holdout check could not be done: {exc.problem}"
            )
    extra = {
        "value": {
            "unit": unit,
            "holdout": holdout,
            "clv_histogram": clv_histogram(est.values_["clv"]),
            "p_alive_matrix": p_alive_matrix(est.bgnbd_, summary),
            "buyers": len(summary),
            "customers": len(features),
        }
    }
    return est, extra


def _trim_heap() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``).

    pandas and numpy free their large temporaries between the steps of a run, but glibc keeps
    much of that memory in its heap (measured: about 230 MB after the value step on 1M
    customers); the next step's temporaries then stack on top of it. Elsewhere (macOS,
    musl) there is no such call and nothing happens.
    """
    import ctypes
    import ctypes.util

    with suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)


def _fit_with(build: Callable[[pd.DataFrame, str], Any], as_of: str) -> Callable[..., Any]:
    """Build the estimator for the feature columns ``X`` and fit it on them."""
    return lambda X: build(X, as_of).fit(X)


def _given(est: Any) -> Callable[..., Any]:
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


def _feature_frame(ws: Workspace) -> pd.DataFrame:
    """The feature table as pandas, through Arrow (Ibis' own ``to_pandas`` is 10× slower).

    The frame matches Ibis' conversion: dates become ``datetime64[s]`` and an integer column
    without any value holds ``None`` objects (profiles then treat it as an empty category, not
    as a numeric column of NaN). The timestamps (``last_order_at``) stay: rules read them
    (``last_order_at within 90 days``); profiles and clustering take only numbers and
    categories.
    """
    table = ws.table("customer_features").to_pyarrow()
    dates = [f.name for f in table.schema if pa.types.is_date(f.type)]
    empty_ints = [
        name
        for name, col in zip(table.column_names, table.columns, strict=True)
        if pa.types.is_integer(col.type) and len(col) and col.null_count == len(col)
    ]
    # split_blocks + self_destruct: each column is freed as soon as it is converted, so the
    # Arrow table and the frame do not both stay in memory (the table is unusable after)
    df = table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
    del table
    for name in dates:
        df[name] = df[name].astype("datetime64[s]")
    for name in empty_ints:
        df[name] = pd.Series([None] * len(df), index=df.index, dtype=object)
    return df.set_index("customer_id")


def _estimator(s: SegmentationSpec) -> Callable[[pd.DataFrame, str], Any]:
    """A factory for the segmentation's estimator; raises SpecError on a bad rule or param."""
    if s.method == "rules":
        from segmint.segment.rules import RulesSegmenter, parse_rules

        parse_rules(list((s.rules or {}).items()))  # syntax errors now, before any work

        def rules(_x: pd.DataFrame, as_of: str) -> Any:
            return RulesSegmenter(
                rules=s.rules or {},
                mode=s.mode,
                other=s.other,
                as_of=datetime.fromisoformat(as_of),
                **s.params,
            )

        return rules
    if s.method == "rfm":
        from segmint.segment.rfm import RFMSegmenter

        return lambda _x, _a: RFMSegmenter(bins=s.bins, **s.params)
    if s.method == "value":
        from segmint.segment.value import ValueSegmenter

        _check_params(
            s, ValueSegmenter, {"margin", "churn_p_alive", "churn_value_share", "penalizer", "unit"}
        )
        kw = {
            "horizon_days": s.horizon_days,
            "discount_rate": s.discount_rate,
            "tiers": s.tiers,
        } | s.params
        ValueSegmenter(**kw)._check_params()  # bad tiers or shares now, before any work
        return lambda _x, _a: ValueSegmenter(**kw)
    from segmint.segment.cluster import SEGMENTERS

    cls = SEGMENTERS[s.method]
    known = set(cls._param_names())
    bad = sorted(set(s.params) - known)
    if bad:
        raise SpecError(
            f"Segmentation '{s.name}': {cls.__name__} has no parameter(s) {', '.join(bad)}.",
            fix=f"use params from: {', '.join(sorted(known))}.",
        )
    base = {
        "k": s.k,
        "k_range": tuple(s.k_range),
        "min_segment_share": s.min_segment_share,
        "random_state": s.random_state,
    }
    kwargs = {k: v for k, v in base.items() if k in known} | s.params
    return lambda _x, _a: cls(**kwargs)


def _check_params(s: SegmentationSpec, cls: type, allowed: set[str]) -> None:
    bad = sorted(set(s.params) - allowed)
    if bad:
        raise SpecError(
            f"Segmentation '{s.name}': {cls.__name__} has no parameter(s) {', '.join(bad)} "
            "under params.",
            fix=f"use params from: {', '.join(sorted(allowed))}.",
        )


def _columns(s: SegmentationSpec, features: pd.DataFrame) -> list[str]:
    if s.features:
        _missing_features(s, s.features, list(features.columns))
        return list(s.features)
    if s.method == "value":
        from segmint.segment.value import VALUE_COLUMNS

        return list(VALUE_COLUMNS)
    if s.method in CLUSTER_METHODS:
        cols = [
            c
            for c in DEFAULT_CLUSTER_FEATURES
            if c in features.columns and features[c].nunique(dropna=True) > 1
        ]
        return cols or _attribute_columns(features)
    return list(features.columns)


def _missing_features(s: SegmentationSpec, asked: list[str], known: list[str]) -> None:
    import difflib

    missing = [c for c in asked if c not in known]
    if not missing:
        return
    close = {c: difflib.get_close_matches(c, known, n=1, cutoff=0.6) for c in missing}
    hints = [f"did you mean '{m[0]}' for '{c}'?" for c, m in close.items() if m]
    raise SpecError(
        f"Segmentation '{s.name}' asks for feature(s) {', '.join(missing)}, which the "
        "feature table does not have" + (f"; {' '.join(hints)}" if hints else "."),
        fix=f"choose from: {', '.join(known)} (see docs/features.md).",
    )


def _attribute_columns(features: pd.DataFrame) -> list[str]:
    """What zero-config clustering uses when there are no order features (a customers-only
    file): the numeric columns (age, income, the customers' extra attributes; category codes
    are text already, see :mod:`segmint.features.attributes`), except constants and
    identifiers (distinct integers)."""
    cols = []
    for c in features.select_dtypes("number").columns:
        col = features[c]
        n = col.nunique(dropna=True)
        ident = pd.api.types.is_integer_dtype(col) and n == col.notna().sum() and n > 20
        if n > 1 and not ident:
            cols.append(c)
    return cols


def _segment(
    s: SegmentationSpec,
    fit: Callable[[pd.DataFrame], Any],
    features: pd.DataFrame,
    spec: Spec,
    as_of: str,
    say: Progress,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from segmint.activate.targeting import plan_targeting
    from segmint.profile import profile
    from segmint.profile.rank import rank
    from segmint.report import pca_projection

    cols = _columns(s, features)
    X = features[cols]
    if s.method in CLUSTER_METHODS and s.method != "kprototypes":
        X = X.select_dtypes("number")
    est = fit(X)
    seg = est.segmentation(s.name)
    if s.method == "value":  # customers without a purchase have no value forecast
        seg.labels = seg.labels.reindex(features.index).fillna(NO_PURCHASES)
    if s.method in ("rules", "rfm", "value"):  # labels are names already
        seg.names.update({label: label for label in seg.segments})
    seg.names.update(spec.names.get(s.name, {}))
    say(f"Profiling: {s.name}")
    prof = profile(features, seg)
    ranking = rank(prof, features, weights=spec.ranking.weights)
    plans = plan_targeting(prof, ranking, overrides=spec.targeting.get(s.name))
    numeric = features[[c for c in cols if pd.api.types.is_numeric_dtype(features[c])]]
    if numeric.shape[1] < 2:
        numeric = features.select_dtypes("number")
    projection = pca_projection(numeric, seg.labels) if numeric.shape[1] >= 2 else None
    k_scores = getattr(est, "k_scores_", None)
    k_curve = (
        json.loads(k_scores.to_json(orient="records")) if isinstance(k_scores, pd.DataFrame) else []
    )
    rules = []
    if s.method == "rules":
        matched = seg.labels.value_counts()
        rules = [
            {"name": n, "rule": r, "matched": int(matched.get(n, 0))}
            for n, r in (s.rules or {}).items()
        ]
    report = {
        "name": s.name,
        "method": s.method,
        "n_customers": len(seg.labels),
        "features": cols,
        "warnings": list(seg.warnings),
        "profiles": prof.to_dict(),
        "ranking": ranking.to_dict(),
        "targeting": {label: p.to_dict() for label, p in plans.items()},
        "k_curve": k_curve,
        "chosen_k": getattr(est, "k_", None),
        "k_rule": seg.details.get("k_rule"),
        "projection": projection,
        "rules": rules,
        **(extra or {}),
    }
    if s.method == "value":
        report["value"]["models"] = seg.details
    # only what scoring needs is kept (the per-customer labels are in `seg`; the profile is in
    # the report), so one segmentation's fitted arrays and reasons do not sit in memory during
    # the next one's profile
    slim = _slim(est)
    return {"spec": s, "segmentation": seg, "report": report, "estimator": slim}


def _save_model(db: Any, run_id: str, name: str, result: dict[str, Any]) -> None:
    """Keep the fitted estimator (pickled) so new customers can be scored later (the API's
    assign endpoint). One that cannot be pickled is stored as NULL: that segmentation cannot
    score, and says so."""
    import pickle

    db.execute(
        "CREATE TABLE IF NOT EXISTS segment_models (run_id VARCHAR, segmentation VARCHAR, "
        "features JSON, model BLOB)"
    )
    try:
        blob: bytes | None = pickle.dumps(result.get("estimator"))  # slim already (_segment)
    except Exception:  # e.g. an estimator holding a parser or a connection
        blob = None
    db.execute(
        "INSERT INTO segment_models VALUES (?, ?, ?, ?)",
        [run_id, name, json.dumps(result["report"]["features"]), blob],
    )


def _slim(est: Any) -> Any:
    """A copy without its per-customer results (labels_, values_, …: they are stored as
    tables already); what predict needs (centres, cut points, models) stays."""
    import copy

    labels = getattr(est, "labels_", None)
    if labels is None:
        return est
    n = len(labels)
    slim = copy.copy(est)
    for key, value in vars(est).items():
        if key.endswith("_") and isinstance(value, pd.Series | pd.DataFrame) and len(value) == n:
            setattr(slim, key, value.iloc[:0])
    return slim


def _persist(ws: Workspace, spec: Spec, results: list[dict[str, Any]], as_of: str) -> str:
    store = ws.store
    db = store.db
    run = RunRecord(
        kind="segment",
        spec={"as_of": as_of, "segmentations": [r["spec"].model_dump() for r in results]},
    )
    with store.transaction():
        store.reserve_run(run)
        db.execute(
            "CREATE TABLE IF NOT EXISTS segment_assignments (run_id VARCHAR, segmentation "
            "VARCHAR, customer_id VARCHAR, segment VARCHAR, segment_name VARCHAR)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS segmentations (run_id VARCHAR, name VARCHAR, method "
            "VARCHAR, spec JSON, result JSON)"
        )
        counts = {}
        for r in results:
            seg = r["segmentation"]
            names = {p["label"]: p["name"] for p in r["report"]["profiles"]["segments"]}
            db.register("_segmint_assign", _assignments(seg.labels, names))
            db.execute(
                "INSERT INTO segment_assignments SELECT ?, ?, customer_id, segment, "
                "segment_name FROM _segmint_assign",
                [run.run_id, seg.name],
            )
            db.unregister("_segmint_assign")
            db.execute(
                "INSERT INTO segmentations VALUES (?, ?, ?, ?, ?)",
                [
                    run.run_id,
                    seg.name,
                    seg.method,
                    json.dumps(r["spec"].model_dump()),
                    json.dumps(r["report"], default=str),
                ],
            )
            counts[seg.name] = len(seg.labels)
            _save_model(db, run.run_id, seg.name, r)
            if "values" in r:  # per-customer CLV, P(alive), … of a value segmentation
                values = r["values"].reset_index(names="customer_id")
                values.insert(0, "segmentation", seg.name)
                values.insert(0, "run_id", run.run_id)
                values["customer_id"] = values["customer_id"].astype(str)
                db.register("_segmint_values", values)
                db.execute(
                    "CREATE TABLE IF NOT EXISTS customer_values AS "
                    "SELECT * FROM _segmint_values LIMIT 0"
                )
                db.execute("INSERT INTO customer_values BY NAME SELECT * FROM _segmint_values")
                db.unregister("_segmint_values")
        run.row_counts = counts
        store.record_run(run)
    return run.run_id


def _assignments(labels: pd.Series, names: dict[str, str]) -> pa.Table:
    """customer_id, segment, segment_name as Arrow, the labels dictionary-encoded (fast to insert).

    A label without a profile keeps the label as its name.
    """
    codes, uniques = pd.factorize(labels.astype(str), sort=False)
    text = [str(u) for u in uniques]
    segment = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(text))
    named = pa.array([names.get(t, t) for t in text])
    return pa.table(
        {
            "customer_id": pa.array(labels.index.astype(str)),
            "segment": segment,
            "segment_name": pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), named),
        }
    )
