"""Compare two segment runs: feature drift, segment migration, and the alerts that crossed a
threshold.

One answer for every interface (``segmint monitor``, ``Workspace.monitor``,
``GET /api/v1/monitor``), so a cron job, a script and the web app see the same alerts. A run
compared with the run before it is the default, since that is what a scheduled re-run asks:
"did anything change enough to look at?". Thresholds come from the spec's ``monitoring:``
section (:class:`segmint.spec.model.MonitoringSpec`); docs/monitoring.md explains each one.

The per-feature drift statistics live in ``segmint.monitor.drift`` and are called through a
hook (``feature_drift``), so migration works on its own and a caller can pass its own test.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segmint.exceptions import MonitorError, SegmintError
from segmint.monitor.migration import migration, shared_segmentations
from segmint.monitor.numbers import beside, percent_beside
from segmint.spec.model import MonitoringSpec

if TYPE_CHECKING:
    from segmint.monitor._sources import RunTables
    from segmint.store import Store

__all__ = ["Monitoring", "compare_runs", "default_feature_drift", "segment_runs"]

FeatureDrift = Callable[["Store", str, str], list[Any]]


@dataclass(frozen=True)
class Monitoring:
    """Two runs compared. ``crossed`` is True when any alert was raised.

    ``features``: the drift hook's results (objects with ``feature``, ``drifted`` and
    ``to_dict()``); ``segmentations``: one dict per segmentation both runs hold
    (:meth:`segmint.monitor.migration.Migration.to_dict`); ``alerts``: ``{kind, subject,
    value, threshold, message}`` with kind ``feature_drift``, ``segment_size`` or
    ``moved_share``.
    """

    baseline: str
    current: str
    features: list[Any]
    segmentations: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    thresholds: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def crossed(self) -> bool:
        return bool(self.alerts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "current": self.current,
            "crossed": self.crossed,
            "alerts": self.alerts,
            "features": [_as_dict(f) for f in self.features],
            "segmentations": self.segmentations,
            "thresholds": self.thresholds,
            "notes": self.notes,
        }


def default_feature_drift(store: Store, baseline: str, current: str) -> list[Any]:
    """``segmint.monitor.drift.snapshot_drift`` when that module is installed, else nothing."""
    try:
        drift = importlib.import_module("segmint.monitor.drift")
    except ModuleNotFoundError as exc:
        if exc.name != "segmint.monitor.drift":
            raise  # a missing dependency inside drift is a bug to see, not a silent skip
        return []
    return list(drift.snapshot_drift(store, baseline, current))


def segment_runs(store: Store) -> list[str]:
    """Ids of the segment runs, oldest first."""
    if not store.has_table("runs"):
        return []
    rows = store.db.execute(
        "SELECT run_id FROM runs WHERE kind = 'segment' ORDER BY seq"
    ).fetchall()
    return [r[0] for r in rows]


def compare_runs(
    store: Store,
    baseline: str | None = None,
    current: str | None = None,
    *,
    thresholds: MonitoringSpec | Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
    feature_drift: FeatureDrift | None = default_feature_drift,
    tables: RunTables | None = None,
) -> Monitoring:
    """Compare segment run ``current`` (default: the latest) with ``baseline`` (default: the
    segment run before ``current``).

    ``features`` limits the drift table and the centroid shift to those feature columns;
    ``feature_drift=None`` skips the drift statistics. ``tables``: where the runs'
    assignments and snapshots are when not in ``store``'s file (a Spark workspace:
    :func:`segmint.monitor.engine.compare_engine_runs`).
    """
    limits = _thresholds(thresholds)
    base, cur = _pick_runs(store, baseline, current)
    notes: list[str] = []
    wanted = list(features) if features is not None else None
    drift: list[Any] = []
    if feature_drift is not None:
        try:
            drift = list(feature_drift(store, base, cur))
        except SegmintError as exc:  # e.g. a run made before feature snapshots were kept
            notes.append(f"Feature drift was not computed: {exc.problem}")
    if wanted is not None:
        drift = [f for f in drift if _as_dict(f).get("feature") in wanted]
    names = shared_segmentations(store, base, cur)
    if not names:
        notes.append(f"The runs {base} and {cur} have no segmentation of the same name.")
    moves = [migration(store, base, cur, n, features=wanted, tables=tables) for n in names]
    alerts = _drift_alerts(drift)
    for m in moves:
        alerts += _segment_alerts(m, limits)
    return Monitoring(
        baseline=base,
        current=cur,
        features=drift,
        segmentations=[m.to_dict() for m in moves],
        alerts=alerts,
        thresholds=limits.model_dump(),
        notes=notes,
    )


def _thresholds(given: MonitoringSpec | Mapping[str, Any] | None) -> MonitoringSpec:
    if given is None:
        return MonitoringSpec()
    if isinstance(given, MonitoringSpec):
        return given
    from pydantic import ValidationError

    try:
        return MonitoringSpec(**dict(given))
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        from segmint.exceptions import SpecError

        raise SpecError(
            "The monitoring thresholds are not valid: " + "; ".join(problems) + ".",
            fix="use max_size_change (≥ 0), max_moved_share (0–1), min_segment_size (≥ 0).",
            problems=problems,
        ) from None


def _pick_runs(store: Store, baseline: str | None, current: str | None) -> tuple[str, str]:
    runs = segment_runs(store)
    for given, option in ((baseline, "--baseline"), (current, "--current")):
        if given is not None and given not in runs:
            raise MonitorError(
                f"'{given}' is not a segment run of this workspace"
                + (f" (segment runs: {', '.join(runs[-10:])})." if runs else " (it has none)."),
                fix=f"pass the id of a segment run to {option}; `segmint status --json` lists "
                "every run with its kind.",
            )
    if current is None:
        if len(runs) < 2 and baseline is None:
            raise MonitorError(
                f"Comparing runs needs two segment runs; this workspace has {len(runs)}.",
                fix="run `segmint run` again (on new data or with a changed spec), then "
                "`segmint monitor`.",
            )
        current = runs[-1]
    if baseline is None:
        earlier = runs[: runs.index(current)]
        if not earlier:
            raise MonitorError(
                f"There is no segment run before '{current}' to compare it with.",
                fix="pass --baseline RUN (see `segmint status --json`).",
            )
        baseline = earlier[-1]
    if baseline == current:
        raise MonitorError(
            f"The baseline and the current run are the same run ('{current}').",
            fix="pass two different segment runs (--baseline and --current).",
        )
    return baseline, current


def _as_dict(f: Any) -> dict[str, Any]:
    if isinstance(f, Mapping):
        return dict(f)
    out: dict[str, Any] = f.to_dict()
    return out


def _drift_alerts(drift: list[Any]) -> list[dict[str, Any]]:
    alerts = []
    for f in drift:
        d = _as_dict(f)
        if not d.get("drifted"):
            continue
        method = d.get("method") or "drift test"
        # the tests' threshold applies to their p-value, the distances' to the statistic
        compared = "p-value" if d.get("p_value") is not None else "statistic"
        value = d.get("p_value") if compared == "p-value" else d.get("statistic")
        alerts.append(
            {
                "kind": "feature_drift",
                "subject": d.get("feature"),
                "value": value,
                "threshold": d.get("threshold"),
                "message": f"The feature '{d.get('feature')}' drifted ({method} {compared}: "
                f"{beside(value, d.get('threshold'))}, threshold {_num(d.get('threshold'))}).",
            }
        )
    return alerts


def _segment_alerts(m: Any, limits: MonitoringSpec) -> list[dict[str, Any]]:
    alerts = []
    for label, before in m.sizes["baseline"].items():
        after = m.sizes["current"].get(label)
        if after is None or max(before, after) < limits.min_segment_size:
            continue  # retired segments are listed in `retired`; tiny ones are noise
        change = after / before - 1
        if abs(change) > limits.max_size_change:
            name = m.names["current"].get(label, label)
            alerts.append(
                {
                    "kind": "segment_size",
                    "subject": f"{m.name}: {name}",
                    "value": change,
                    "threshold": limits.max_size_change,
                    "message": f"Segment '{name}' of {m.name} {'grew' if change > 0 else 'shrank'}"
                    f" by {percent_beside(abs(change), limits.max_size_change)} ({before:,} → "
                    f"{after:,} customers; alert above {limits.max_size_change * 100:g}%).",
                }
            )
    moved = m.moved_share
    if moved is not None and moved > limits.max_moved_share:
        alerts.append(
            {
                "kind": "moved_share",
                "subject": m.name,
                "value": moved,
                "threshold": limits.max_moved_share,
                "message": f"{percent_beside(moved, limits.max_moved_share, 1)} of the "
                f"{m.customers_in_both:,} customers in both runs changed segment in {m.name} "
                f"(alert above {limits.max_moved_share * 100:g}%).",
            }
        )
    return alerts


def _num(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, int | float) else str(v)
