"""Migration: where the customers of one segment run went in the next, segmentation by segmentation.

Segments are matched by **label**, not by display name: a user renaming "Champions" to "Best
customers" between two runs renames one row of ``segment_assignments.segment_name`` and must
not show up as 100 % of a segment leaving. Names are given alongside for display. Counts are
one ``GROUP BY`` in the engine (a million customers per run stay in DuckDB, or in Spark:
:mod:`segmint.monitor.engine`); only the small matrix and the per-segment means come back to
Python.

``centroid_shift`` says how far a segment moved in feature space, each run measured on the
features it segmented on (its feature snapshot, :func:`segmint.store.read_snapshot`, or the
engine's copy: :func:`segmint.store.engine_snapshots.read_engine_snapshot`). For a
segment ``s`` present in both runs and the numeric features ``j = 1 … p`` both snapshots have::

    shift(s) = sqrt( (1/p) · Σ_j ((mean_current(s, j) − mean_baseline(s, j)) / sd_baseline(j))² )

the root mean square of the per-feature change of the segment's mean, in standard deviations of
the feature over all customers of the baseline (sample sd). Features whose baseline sd is 0 or
missing are left out. 0 means the segment's average customer did not move; 1 means each
feature moved by one baseline standard deviation on average. The mean of a run's segment is
over all of that run's members (new customers included), as its profile is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segmint.monitor._sources import RunTables, StoreTables

if TYPE_CHECKING:
    import ibis

    from segmint.store import Store

__all__ = ["Migration", "centroid_shift", "migration", "shared_segmentations", "sizes_over_runs"]

#: the label shown for customers a segmentation left without a segment (rules with other: null)
NO_SEGMENT = "(no segment)"


@dataclass(frozen=True)
class Migration:
    """One segmentation between two runs: the migration matrix and what changed.

    ``migration[from_label][to_label]`` counts customers present in both runs; ``sizes`` count
    every customer of each run (``{"baseline": {label: n}, "current": {label: n}}``);
    ``names`` gives each label's display name in each run.
    """

    name: str
    baseline: str
    current: str
    migration: dict[str, dict[str, int]]
    sizes: dict[str, dict[str, int]]
    names: dict[str, dict[str, str]]
    new: list[str]
    retired: list[str]
    customers_in_both: int
    stayed: int
    centroid_shift: dict[str, float | None] = field(default_factory=dict)

    @property
    def stayed_share(self) -> float | None:
        """Share of the customers present in both runs whose segment label did not change."""
        return self.stayed / self.customers_in_both if self.customers_in_both else None

    @property
    def moved_share(self) -> float | None:
        share = self.stayed_share
        return None if share is None else 1 - share

    def size_change(self, label: str) -> float | None:
        """Relative change of a segment's size (+0.25: a quarter larger); None when new."""
        before = self.sizes["baseline"].get(label, 0)
        if not before:
            return None
        return self.sizes["current"].get(label, 0) / before - 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "baseline": self.baseline,
            "current": self.current,
            "migration": self.migration,
            "sizes": self.sizes,
            "names": self.names,
            "customers_in_both": self.customers_in_both,
            "stayed": self.stayed,
            "stayed_share": self.stayed_share,
            "centroid_shift": self.centroid_shift,
            "new": self.new,
            "retired": self.retired,
        }


def shared_segmentations(store: Store, baseline: str, current: str) -> list[str]:
    """Names of the segmentations both runs hold, in the current run's order."""
    rows = store.db.execute(
        "SELECT name FROM segmentations WHERE run_id = ? AND name IN "
        "(SELECT name FROM segmentations WHERE run_id = ?) ORDER BY rowid",
        [current, baseline],
    ).fetchall()
    return [r[0] for r in rows]


_RUNS_IN_ORDER = "SELECT run_id FROM runs ORDER BY seq"


def sizes_over_runs(
    store: Store, name: str, *, tables: RunTables | None = None
) -> dict[str, dict[str, int]]:
    """Customers per segment label in every segment run holding segmentation ``name``, oldest
    run first: ``{run_id: {label: n}}`` (one ``GROUP BY`` where the assignments live)."""
    sa = _source(store, tables).assignments()
    t = sa.filter(sa.segmentation == name).mutate(label=sa.segment.fill_null(NO_SEGMENT))
    rows = t.group_by(["run_id", "label"]).aggregate(n=t.count()).to_pyarrow().to_pylist()
    order = {r: i for i, (r,) in enumerate(store.db.execute(_RUNS_IN_ORDER).fetchall())}
    out: dict[str, dict[str, int]] = {}
    for r in sorted(
        (r for r in rows if r["run_id"] in order), key=lambda r: (order[r["run_id"]], r["label"])
    ):
        out.setdefault(r["run_id"], {})[r["label"]] = int(r["n"])
    return out


def migration(
    store: Store,
    baseline: str,
    current: str,
    name: str,
    *,
    features: list[str] | None = None,
    tables: RunTables | None = None,
) -> Migration:
    """The migration of segmentation ``name`` from run ``baseline`` to run ``current``.

    ``tables``: where the assignments and snapshots are (default: the store's own file;
    :class:`segmint.monitor.engine.EngineTables` for a Spark workspace).
    """
    src = _source(store, tables)
    sa = src.assignments()
    a = _members(sa, baseline, name).select(_cid="customer_id", before="label")
    b = _members(sa, current, name).select("customer_id", after="label")
    j = a.join(b, a._cid == b.customer_id)
    cells = j.group_by(["before", "after"]).aggregate(n=j.count()).to_pyarrow().to_pylist()
    matrix: dict[str, dict[str, int]] = {}
    for c in sorted(cells, key=lambda c: (c["before"], c["after"])):
        matrix.setdefault(c["before"], {})[c["after"]] = int(c["n"])
    t = _members(sa, [baseline, current], name)
    rows = t.group_by(["run_id", "label"]).aggregate(shown=t.shown.min(), n=t.count())
    got = sorted(rows.to_pyarrow().to_pylist(), key=lambda r: r["label"])
    sizes: dict[str, dict[str, int]] = {}
    names: dict[str, dict[str, str]] = {}
    for role, run in (("baseline", baseline), ("current", current)):
        sizes[role] = {r["label"]: int(r["n"]) for r in got if r["run_id"] == run}
        names[role] = {r["label"]: str(r["shown"]) for r in got if r["run_id"] == run}
    both = sum(n for row in matrix.values() for n in row.values())
    stayed = sum(row.get(src_label, 0) for src_label, row in matrix.items())
    common = [s for s in sizes["current"] if s in sizes["baseline"]]
    return Migration(
        name=name,
        baseline=baseline,
        current=current,
        migration=matrix,
        sizes=sizes,
        names=names,
        new=[s for s in sizes["current"] if s not in sizes["baseline"]],
        retired=[s for s in sizes["baseline"] if s not in sizes["current"]],
        customers_in_both=both,
        stayed=stayed,
        centroid_shift=centroid_shift(
            store, baseline, current, name, common, features=features, tables=src
        ),
    )


def _source(store: Store, tables: RunTables | None) -> RunTables:
    return tables if tables is not None else StoreTables(store)


def _members(sa: ibis.Table, run: str | list[str], name: str) -> ibis.Table:
    """run_id, customer_id, label (a missing segment as :data:`NO_SEGMENT`) and the label's
    display name of segmentation ``name`` in ``run`` (or in each of several runs)."""
    runs = sa.run_id.isin(run) if isinstance(run, list) else sa.run_id == run
    t = sa.filter(runs & (sa.segmentation == name))
    label = t.segment.fill_null(NO_SEGMENT)
    return t.select("run_id", "customer_id", label=label, shown=t.segment_name.fill_null(label))


def centroid_shift(
    store: Store,
    baseline: str,
    current: str,
    name: str,
    segments: list[str],
    *,
    features: list[str] | None = None,
    tables: RunTables | None = None,
) -> dict[str, float | None]:
    """How far each of ``segments`` moved between the runs (formula in the module docstring).

    Every segment maps to None when a run has no feature snapshot or no usable feature.
    """
    from segmint.exceptions import SegmintError

    src = _source(store, tables)
    try:
        base_snap, cur_snap = src.snapshot(baseline), src.snapshot(current)
    except SegmintError:  # runs made before snapshots were kept: sizes still compare
        return dict.fromkeys(segments)
    cols = _numeric(base_snap) & _numeric(cur_snap)
    if features is not None:
        cols &= set(features)
    sd = _scale(base_snap, sorted(cols))
    usable = sorted(c for c, v in sd.items() if v is not None and v > 0 and math.isfinite(v))
    if not usable or not segments:
        return dict.fromkeys(segments)
    before = _means(src.assignments(), base_snap, baseline, name, usable)
    after = _means(src.assignments(), cur_snap, current, name, usable)
    out: dict[str, float | None] = {}
    for seg in segments:
        a, b = before.get(seg), after.get(seg)
        diffs = [
            ((b[c] - a[c]) / sd[c]) ** 2  # type: ignore[operator]
            for c in usable
            if a is not None and b is not None and a[c] is not None and b[c] is not None
        ]
        out[seg] = math.sqrt(sum(diffs) / len(diffs)) if diffs else None
    return out


def _numeric(t: ibis.Table) -> set[str]:
    return {
        c
        for c, dtype in t.schema().items()
        if c != "customer_id" and dtype.is_numeric() and not dtype.is_boolean()
    }


def _scale(t: ibis.Table, cols: list[str]) -> dict[str, float | None]:
    """Sample standard deviation of each column over every customer of the snapshot."""
    if not cols:
        return {}
    row = t.aggregate(**{c: t[c].cast("float64").std() for c in cols}).to_pyarrow().to_pylist()
    return {c: _finite(row[0][c]) for c in cols}


def _means(
    sa: ibis.Table, snap: ibis.Table, run: str, name: str, cols: list[str]
) -> dict[str, dict[str, float | None]]:
    """Mean of each column per segment label of ``name`` in ``run``, computed in the engine."""
    joined = snap.join(_members(sa, run, name).select("customer_id", "label"), "customer_id")
    agg = joined.group_by("label").aggregate(**{c: joined[c].cast("float64").mean() for c in cols})
    return {r["label"]: {c: _finite(r[c]) for c in cols} for r in agg.to_pyarrow().to_pylist()}


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None
