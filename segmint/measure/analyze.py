"""Analyze a split test: sufficient statistics in the engine, inference per segment.

The pattern is GrowthBook's stats engine: one SQL aggregate computes, per variant and segment,
the count, sum and sum of squares of every metric (and whether the metric only holds 0 and 1),
so a 10-million-row results file never becomes a pandas frame; the inference
(:mod:`segmint.measure.stats`) runs on those numbers. Each variant is compared with the
control on each metric, over all rows and within each segment of ``by``; the p-values of one
comparison across the segments are adjusted together (Holm by default), and the
sample-ratio-mismatch check runs over all rows and per segment.

The rows come from a results file (read by ingest's readers, so every format and encoding
``segmint ingest`` reads works here too) or from ``campaign_contacts`` in a workspace;
``by`` is a column of those rows or, with a workspace, the name of a segmentation whose stored
assignments give each customer's segment.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import duckdb

from segmint.exceptions import ExperimentError
from segmint.measure import stats as st
from segmint.measure.sources import (
    Rows,
    campaign_rows,
    default_metrics,
    file_rows,
    is_file,
    segmentation_names,
    with_segmentation,
)
from segmint.measure.verdict import value, verdict
from segmint.store import Store, quote

__all__ = [
    "ALL",
    "Analysis",
    "Comparison",
    "Rows",
    "analyze",
    "analyze_rows",
    "sufficient_statistics",
]

Correction = Literal["holm", "bh", "none"]
Engine = Literal["frequentist", "bayesian", "both"]

#: the scope name of the comparison over every row
ALL = "All customers"
#: more distinct variants than this means the variant column is probably the wrong column
MAX_VARIANTS = 26
#: more segments than this make the per-segment table unreadable and the correction toothless
MAX_SEGMENTS = 200
MISSING = "(missing)"


@dataclass(frozen=True)
class MetricStats:
    """Per variant and scope: the metric's sufficient statistics."""

    metric: str
    kind: Literal["proportion", "mean"]
    arms: Mapping[str, Mapping[str, st.Statistic]]  # scope → variant → statistic
    missing: int


@dataclass(frozen=True)
class Comparison:
    """One variant against the control, on one metric, in one scope."""

    metric: str
    kind: str
    variant: str
    control: str
    segment: str
    control_stat: st.Statistic
    treatment_stat: st.Statistic
    relative: st.Frequentist | None
    absolute: st.Frequentist | None
    bayesian: st.Bayesian | None
    #: the relative lift's p-value adjusted across the segments (the raw one for ALL)
    p_adjusted: float | None
    p_adjusted_absolute: float | None
    significant: bool
    verdict: str


@dataclass(frozen=True)
class Analysis:
    """Everything the analysis found, at full precision (``to_dict`` for JSON)."""

    source: str
    variant_column: str
    control: str
    variants: tuple[str, ...]
    metrics: dict[str, str]  # name → proportion | mean
    by: str | None
    segments: tuple[str, ...]
    correction: str
    engine: str
    alpha: float
    weights: dict[str, float] | None
    counts: dict[str, dict[str, int]]  # scope → variant → rows
    srm: dict[str, st.SampleRatio]  # scope → check
    comparisons: tuple[Comparison, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; NaN becomes None, every number keeps full precision."""
        return _clean(asdict(self))

    def srm_flagged(self) -> list[str]:
        return [scope for scope, check in self.srm.items() if check.flagged]


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _number(column: str) -> str:
    """A metric column as DOUBLE: numbers, booleans, and text holding either."""
    c = quote(column)
    return (
        f"coalesce(TRY_CAST({c} AS DOUBLE), "
        f"TRY_CAST(TRY_CAST(CAST({c} AS VARCHAR) AS BOOLEAN) AS DOUBLE))"
    )


def _check_columns(rows: Rows, variant_column: str, metrics: Sequence[str], by: str | None) -> None:
    known = list(rows.columns)
    folded = {c.casefold(): c for c in known}
    wanted = [("--variant-column", variant_column)] + [("--metrics", m) for m in metrics]
    if by is not None and rows.by_sql is None:
        wanted.append(("--by", by))
    for option, name in wanted:
        if name not in known:
            near = folded.get(name.casefold())
            raise ExperimentError(
                f"{option} names '{name}', which is not a column of the results.",
                where=rows.label,
                fix=(f"did you mean '{near}'? " if near else "")
                + f"the columns are: {', '.join(known[:40])}"
                + (" …" if len(known) > 40 else "")
                + ".",
            )
    if not metrics:
        raise ExperimentError("No metric was named.", fix="e.g. --metrics conversion,revenue.")
    if variant_column in metrics:
        raise ExperimentError(
            f"'{variant_column}' is both the variant column and a metric.",
            fix="name the metrics separately from the column that holds the variant.",
        )


def _unreadable(rows: Rows, metric: str) -> None:
    c = quote(metric)
    found = rows.db.execute(
        f"SELECT count(*), any_value(CAST({c} AS VARCHAR)) FROM {rows.relation} "
        f"WHERE {c} IS NOT NULL AND {_number(metric)} IS NULL"
    ).fetchone()
    if found and found[0]:
        raise ExperimentError(
            f"The metric '{metric}' has {found[0]:,} values that are not numbers "
            f"(e.g. {str(found[1])[:40]!r}).",
            where=rows.label,
            fix="a metric holds numbers (revenue, a count) or 0/1 (converted or not); "
            "clean those values or pick another column.",
        )


def sufficient_statistics(
    rows: Rows, *, variant_column: str, metrics: Sequence[str], by: str | None
) -> tuple[dict[str, dict[str, int]], list[MetricStats], int]:
    """One aggregate over the rows: counts per scope and variant, and per-metric statistics.

    Returns (row counts per scope and variant, one MetricStats per metric, rows without a
    variant). Scopes are :data:`ALL` and each value of ``by``.
    """
    _check_columns(rows, variant_column, metrics, by)
    v = f"CAST({quote(variant_column)} AS VARCHAR)"
    seg = "NULL"
    if by is not None:
        seg = rows.by_sql or f"CAST({quote(by)} AS VARCHAR)"
    parts = []
    for i, m in enumerate(metrics):
        x = _number(m)
        parts.append(
            f"count({x}) AS n{i}, sum({x}) AS s{i}, sum({x} * {x}) AS q{i}, "
            f"bool_and({x} IN (0, 1)) AS b{i}, count({quote(m)}) AS r{i}"
        )
    sql = (
        f"SELECT {v} AS _v, {seg} AS _s, count(*) AS _rows, {', '.join(parts)} "
        f"FROM {rows.relation} GROUP BY ALL"
    )
    try:
        groups = rows.db.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise ExperimentError(
            f"The results could not be summarised ({str(exc).splitlines()[0]}).",
            where=rows.label,
        ) from None
    for i, m in enumerate(metrics):
        if sum(int(g[7 + 5 * i]) - int(g[3 + 5 * i]) for g in groups):
            _unreadable(rows, m)
    no_variant = sum(int(g[2]) for g in groups if g[0] is None)
    groups = [g for g in groups if g[0] is not None]
    variants = {g[0] for g in groups}
    if len(variants) > MAX_VARIANTS:
        raise ExperimentError(
            f"The variant column '{variant_column}' has {len(variants):,} different values.",
            where=rows.label,
            fix="name the column that holds the arm of the test (A, B, control, …).",
        )
    segments = {MISSING if g[1] is None else g[1] for g in groups} if by else set()
    if len(segments) > MAX_SEGMENTS:
        raise ExperimentError(
            f"--by '{by}' has {len(segments):,} different values; at most {MAX_SEGMENTS} "
            "segments can be compared.",
            where=rows.label,
            fix="split by a column with fewer values (a segment, a channel, a country).",
        )
    counts: dict[str, dict[str, int]] = {}
    out = []
    for i, m in enumerate(metrics):
        binary = all(g[6 + 5 * i] in (True, None) for g in groups)
        kind: Literal["proportion", "mean"] = "proportion" if binary else "mean"
        sums: dict[str, dict[str, list[float]]] = {}
        for g in groups:
            n, s, q = int(g[3 + 5 * i] or 0), float(g[4 + 5 * i] or 0.0), float(g[5 + 5 * i] or 0)
            scopes = [ALL] + ([MISSING if g[1] is None else str(g[1])] if by else [])
            for scope in scopes:
                acc = sums.setdefault(scope, {}).setdefault(str(g[0]), [0, 0.0, 0.0])
                acc[0] += n
                acc[1] += s
                acc[2] += q
                if i == 0:
                    c = counts.setdefault(scope, {})
                    c[str(g[0])] = c.get(str(g[0]), 0) + int(g[2])
        arms = {
            scope: {var: _statistic(kind, *acc) for var, acc in by_var.items()}
            for scope, by_var in sums.items()
        }
        present = sum(int(g[3 + 5 * i] or 0) for g in groups)
        total = sum(int(g[2]) for g in groups)
        out.append(MetricStats(m, kind, arms, total - present))
    return counts, out, no_variant


def _statistic(kind: str, n: float, s: float, q: float) -> st.Statistic:
    if kind == "proportion":
        return st.Proportion(n=int(n), sum=s)
    return st.SampleMean(n=int(n), sum=s, sum_squares=q)


def analyze_rows(
    rows: Rows,
    *,
    variant_column: str,
    control: str,
    metrics: Sequence[str],
    by: str | None = None,
    weights: Mapping[str, float] | None = None,
    correction: Correction = "holm",
    engine: Engine = "both",
    alpha: float = 0.05,
) -> Analysis:
    """Compare every variant with ``control`` on every metric, overall and per segment."""
    if correction not in ("holm", "bh", "none"):
        raise ExperimentError(
            f"Unknown correction '{correction}'.", fix="use holm (default), bh or none."
        )
    if engine not in ("frequentist", "bayesian", "both"):
        raise ExperimentError(
            f"Unknown engine '{engine}'.", fix="use frequentist, bayesian or both (default)."
        )
    if not 0 < alpha < 0.5:
        raise ExperimentError(
            f"--alpha must be between 0 and 0.5; got {alpha}.", fix="the usual value is 0.05."
        )
    metrics = list(dict.fromkeys(metrics))
    counts, stats, no_variant = sufficient_statistics(
        rows, variant_column=variant_column, metrics=metrics, by=by
    )
    variants = tuple(sorted(counts.get(ALL, {})))
    if control not in variants:
        near = [v for v in variants if v.casefold() == control.casefold()]
        raise ExperimentError(
            f"No row has '{control}' in the variant column '{variant_column}'.",
            where=rows.label,
            fix=(f"did you mean '{near[0]}'? " if near else "")
            + f"the variants found are: {', '.join(variants)}.",
        )
    if len(variants) < 2:
        raise ExperimentError(
            f"Every row is in the control '{control}'; there is nothing to compare it with.",
            where=rows.label,
            fix="check --variant-column names the column that holds the arms.",
        )
    w = _weights(weights, variants)
    scopes = [ALL, *sorted(s for s in counts if s != ALL)]
    srm = {s: st.sample_ratio([counts[s].get(v, 0) for v in variants], w) for s in scopes}
    comparisons: list[Comparison] = []
    for ms in stats:
        for variant in (v for v in variants if v != control):
            comparisons += _compare(ms, variant, control, scopes, correction, engine, alpha)
    notes = []
    if no_variant:
        notes.append(f"{no_variant:,} rows have no variant and were left out.")
    notes += [
        f"'{ms.metric}': {ms.missing:,} rows have no value and were left out of its statistics."
        for ms in stats
        if ms.missing
    ]
    return Analysis(
        source=rows.label,
        variant_column=variant_column,
        control=control,
        variants=variants,
        metrics={ms.metric: ms.kind for ms in stats},
        by=by,
        segments=tuple(scopes[1:]),
        correction=correction,
        engine=engine,
        alpha=alpha,
        weights=dict(zip(variants, w, strict=True)) if weights else None,
        counts=counts,
        srm=srm,
        comparisons=tuple(comparisons),
        notes=tuple(notes),
    )


def _weights(weights: Mapping[str, float] | None, variants: Sequence[str]) -> list[float]:
    if not weights:
        return [1.0] * len(variants)
    unknown = sorted(set(weights) - set(variants))
    missing = [v for v in variants if v not in weights]
    if unknown or missing:
        raise ExperimentError(
            "The design weights do not match the variants found"
            + (f": no rows for {', '.join(unknown)}" if unknown else "")
            + (f"; no weight for {', '.join(missing)}" if missing else "")
            + ".",
            fix=f"give one weight per variant, e.g. --weights "
            f"{','.join(f'{v}=1' for v in variants)}.",
        )
    if any(not weights[v] > 0 for v in variants):
        raise ExperimentError("Every design weight must be above 0.", fix="e.g. A=45,B=45,C=10.")
    return [float(weights[v]) for v in variants]


def _compare(
    ms: MetricStats,
    variant: str,
    control: str,
    scopes: Sequence[str],
    correction: Correction,
    engine: Engine,
    alpha: float,
) -> list[Comparison]:
    freq = engine in ("frequentist", "both")
    found = []
    for scope in scopes:
        arms = ms.arms.get(scope, {})
        c = arms.get(control) or _statistic(ms.kind, 0, 0.0, 0.0)
        t = arms.get(variant) or _statistic(ms.kind, 0, 0.0, 0.0)
        rel = st.frequentist(c, t, relative=True, alpha=alpha) if freq else None
        ab = st.frequentist(c, t, relative=False, alpha=alpha) if freq else None
        bay = st.bayesian(c, t, relative=True, alpha=alpha) if engine != "frequentist" else None
        found.append((scope, c, t, rel, ab, bay))
    segs = [f for f in found if f[0] != ALL]
    adjusted = dict(
        zip(
            [f[0] for f in segs],
            zip(
                _adjusted([f[3] for f in segs], correction),
                _adjusted([f[4] for f in segs], correction),
                strict=True,
            ),
            strict=True,
        )
    )
    out = []
    for scope, c, t, rel, ab, bay in found:
        if scope == ALL:
            p_rel = rel.p_value if rel else None
            p_abs = ab.p_value if ab else None
        else:
            p_rel, p_abs = adjusted[scope]
        significant = (
            p_rel is not None and not math.isnan(p_rel) and p_rel < alpha
            if freq
            else bay is not None
            and bay.status == "ok"
            and (bay.chance_to_win >= 1 - alpha or bay.chance_to_win <= alpha)
        )
        text = verdict(
            variant=variant,
            metric=ms.metric,
            scope=scope,
            relative=rel,
            bayesian=bay,
            p_adjusted=p_rel,
            correction=correction if scope != ALL and len(segs) > 1 else "none",
            alpha=alpha,
            significant=significant,
            values=f"{value(ms.kind, c)} → {value(ms.kind, t)}",
        )
        out.append(
            Comparison(
                ms.metric,
                ms.kind,
                variant,
                control,
                scope,
                c,
                t,
                rel,
                ab,
                bay,
                p_rel,
                p_abs,
                significant,
                text,
            )
        )
    return out


def _adjusted(results: Sequence[st.Frequentist | None], correction: Correction) -> list[float]:
    p = [r.p_value if r is not None else float("nan") for r in results]
    if not p:
        return []
    return list(st.adjust(p, correction))


def analyze(
    source: str | os.PathLike[str],
    *,
    store: Store | None = None,
    variant_column: str | None = None,
    control: str = "control",
    metrics: Sequence[str] | None = None,
    by: str | None = None,
    run: str | None = None,
    weights: Mapping[str, float] | None = None,
    correction: Correction = "holm",
    engine: Engine = "both",
    alpha: float = 0.05,
    customer_column: str = "customer_id",
    kind: Literal["auto", "file", "campaign"] = "auto",
    experiment: str | None = None,
) -> Analysis:
    """Analyze a results file, or a campaign of the workspace's ``campaign_contacts``.

    ``kind="auto"`` takes ``source`` as a file when that path exists, else as a campaign id;
    a server passes ``"campaign"`` so that a name can never read a file. The sample-ratio
    check uses ``weights``, else the split of the designed ``experiment`` (by default the
    design named like the campaign, when there is one), else an equal split.

    ``by`` is a column of the rows or, with a workspace, a segmentation's name (each row's
    segment then comes from the stored assignments of ``run``, the latest by default).
    """
    if kind == "file" or (kind == "auto" and is_file(source)):
        if not variant_column or not metrics:
            raise ExperimentError(
                "A results file needs --variant-column and --metrics.",
                where=str(source),
                fix="e.g. --variant-column arm --control control --metrics converted,revenue.",
            )
        # A cursor is a connection of its own: the staged temp table is private to this
        # analysis (a server runs imports on the same database at the same time).
        db = store.db.cursor() if store is not None else duckdb.connect()
        try:
            rows = file_rows(db, source)
            weights, run, notes = _from_design(store, experiment, None, weights, by, run)
            return _analyze(rows, store, variant_column, control, metrics, by, run, weights,
                            correction, engine, alpha, customer_column, notes)  # fmt: skip
        finally:
            db.close()
    if store is None:
        raise ExperimentError(
            f"There is no file '{source}'.",
            fix="check the path, or name a workspace (-w) to analyze one of its campaigns.",
        )
    rows = campaign_rows(store, str(source))
    weights, run, notes = _from_design(store, experiment, str(source), weights, by, run)
    return _analyze(
        rows, store, variant_column or "variant", control,
        list(metrics) if metrics else default_metrics(rows), by, run, weights,
        correction, engine, alpha, customer_column, notes,
    )  # fmt: skip


def _from_design(
    store: Store | None,
    experiment: str | None,
    campaign: str | None,
    weights: Mapping[str, float] | None,
    by: str | None,
    run: str | None,
) -> tuple[Mapping[str, float] | None, str | None, list[str]]:
    """What a stored design settles when the caller did not: the split the sample-ratio check
    expects, and (splitting by the design's segmentation) the run whose segments the test was
    drawn from. The design is the named ``experiment``, or the one named like the campaign."""
    if store is None:
        return weights, run, []
    from segmint.measure.design import list_experiments, load_design

    if experiment is not None:
        design = load_design(store, experiment)
    elif campaign is not None and store.has_table("experiments"):
        found = [d for d in list_experiments(store) if campaign in (d.name, d.experiment_id)]
        if not found:
            return weights, run, []
        design = found[0]
    else:
        return weights, run, []
    notes = []
    if not weights:
        weights = dict(zip(design.variants, design.weights, strict=True))
        notes.append(f"The sample-ratio check uses the split of the design '{design.name}'.")
    if run is None and by == design.segmentation:
        run = design.run_id
        notes.append(f"Segments are those of run {run}, from which the design drew its customers.")
    return weights, run, notes


def _analyze(
    rows: Rows,
    store: Store | None,
    variant_column: str,
    control: str,
    metrics: Sequence[str],
    by: str | None,
    run: str | None,
    weights: Mapping[str, float] | None,
    correction: Correction,
    engine: Engine,
    alpha: float,
    customer_column: str,
    notes: Sequence[str] = (),
) -> Analysis:
    if by is not None and by not in rows.columns:
        names = segmentation_names(store) if store is not None else []
        if by in names and store is not None:
            rows = with_segmentation(rows, store, by, run=run, customer_column=customer_column)
        elif store is not None:
            raise ExperimentError(
                f"--by names '{by}', which is neither a column of the results nor a "
                "segmentation of the workspace.",
                where=rows.label,
                fix=f"columns: {', '.join(list(rows.columns)[:30])}"
                + (f"; segmentations: {', '.join(names)}" if names else "")
                + ".",
            )
    result = analyze_rows(
        rows,
        variant_column=variant_column,
        control=control,
        metrics=metrics,
        by=by,
        weights=weights,
        correction=correction,
        engine=engine,
        alpha=alpha,
    )
    if notes:
        result = dataclasses.replace(result, notes=(*notes, *result.notes))
    return result
