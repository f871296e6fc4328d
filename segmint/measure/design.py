"""Design a split test on segments: who gets which variant, stored before anything is sent.

:func:`design_experiment` is the one design every interface calls (CLI ``segmint experiment
design``, ``Workspace.design_experiment``, the REST API, the web page):

1. the settings are checked at once (a name; two or more distinct variants; one positive
   weight per variant; the hold-out among them), every problem in one :class:`SpecError`;
2. the run (the latest holding the segmentation unless one is named) and the segments are
   resolved as an export resolves them (:func:`segmint.activate.export.resolve_segments`);
   an empty segment is refused;
3. DuckDB assigns every member of the segments to a variant by the hash of (salt, customer
   id) (:mod:`segmint.measure.bucket`: no random state, nothing to keep but the salt);
4. one row in ``experiments`` and one row per customer in ``experiment_assignments`` are
   written in one transaction; a name already used is refused unless ``replace`` (the new
   design then takes the old one's place and id);
5. with ``export``, each variant but the hold-out gets its audience file
   (:mod:`segmint.measure.design_export`).

Several segments are split *each with the same weights* and counted per segment: since the
hash does not look at the segment, every segment's split follows the weights in expectation,
and the counts per segment × variant show how closely.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from dataclasses import replace as replace_fields
from datetime import UTC, datetime
from fractions import Fraction
from math import isfinite
from typing import Any

from segmint.activate.export import (
    ExportResult,
    latest_run,
    resolve_segments,
    segmentation_result,
)
from segmint.exceptions import ExperimentError, ExportError, SpecError
from segmint.measure.bucket import hash32_sql, thresholds, variant_sql
from segmint.measure.design_export import check_export, export_variants
from segmint.privacy import audit
from segmint.privacy.pseudonyms import keep_pseudonymized
from segmint.store import Store

__all__ = ["DEFAULT_VARIANTS", "Design", "design_experiment", "list_experiments", "load_design"]

DEFAULT_VARIANTS = ("A", "B", "control")
#: the variant name taken as the hold-out when none is named
CONTROL = "control"
_SCALE = "4294967296.0"  # 2**32, for the stored bucket in [0, 1)


@dataclass(frozen=True)
class Design:
    """A stored split test (also a row of ``experiments``)."""

    experiment_id: str
    name: str
    created_at: str
    created_by: str
    run_id: str
    segmentation: str
    segments: list[str]
    segment_names: list[str]
    variants: list[str]
    #: each variant's share of the hash range, summing to 1
    weights: list[float]
    salt: str
    #: the hold-out variant (it gets no audience file), or None
    control: str | None
    #: customers per segment label, then per variant (every variant listed, 0 included)
    counts: dict[str, dict[str, int]]
    #: the audience files written with the design (one per variant but the hold-out)
    exports: list[ExportResult] = field(default_factory=list)

    @property
    def n_customers(self) -> int:
        return sum(sum(by.values()) for by in self.counts.values())

    @property
    def stratified(self) -> bool:
        """Several segments, each split with the same weights and counted on its own."""
        return len(self.segments) > 1

    def variant_counts(self) -> dict[str, int]:
        """Customers per variant, over every segment."""
        return {v: sum(by[v] for by in self.counts.values()) for v in self.variants}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["n_customers"] = self.n_customers
        out["stratified"] = self.stratified
        return out


def design_experiment(
    store: Store,
    *,
    name: str,
    segmentation: str,
    segments: Sequence[str] | None = None,
    variants: Sequence[str] = DEFAULT_VARIANTS,
    weights: Sequence[float] | None = None,
    salt: str | None = None,
    run: str | None = None,
    control: str | None = None,
    replace: bool = False,
    created_by: str | None = None,
    export: str | None = None,
    out: str | os.PathLike[str] | None = None,
    hashed: bool | None = None,
    min_size: int | None = None,
    assume_consent: bool = False,
) -> Design:
    """Assign the customers of ``segments`` (default: all) to ``variants`` and store it.

    ``weights``: one per variant (any positive numbers; default equal); ``salt``: hashed with
    each customer id (default: ``name``); ``run``: the segment run (default: the latest with
    ``segmentation``); ``control``: the hold-out variant (default: the one named "control",
    if any). ``export`` (a destination) and ``out`` (a folder) write one audience file per
    variant but the hold-out, under the export rules (consent, identifiers, minimum size:
    ``hashed``, ``min_size``, ``assume_consent`` as for an export).

    >>> d = design_experiment(store, name="spring", segmentation="rfm",
    ...                       segments=["Champions"], weights=[45, 45, 10])  # doctest: +SKIP
    >>> d.counts                                                   # doctest: +SKIP
    {'champions': {'A': 1203, 'B': 1187, 'control': 262}}
    """
    name, variants_, shares, control = _settings(name, variants, weights, control)
    salt = name if salt is None else salt
    if export is not None:
        check_export(export, out, hashed=hashed, min_size=min_size)
    run_id, chosen = _members(store, segmentation, segments, run)
    design = Design(
        experiment_id="",
        name=name,
        created_at=datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        created_by=created_by or _os_user(),
        run_id=run_id,
        segmentation=segmentation,
        segments=[lab for lab, _ in chosen],
        segment_names=[n for _, n in chosen],
        variants=variants_,
        weights=shares,
        salt=salt,
        control=control,
        counts={},
    )
    design = _store(store, design, replace=replace)
    if export is None or out is None:
        return design
    files = export_variants(
        store,
        design,
        destination=export,
        out=out,
        hashed=hashed,
        min_size=min_size,
        assume_consent=assume_consent,
        created_by=design.created_by,
    )
    return replace_fields(design, exports=files)


def _settings(
    name: str, variants: Sequence[str], weights: Sequence[float] | None, control: str | None
) -> tuple[str, list[str], list[float], str | None]:
    """The checked name, variants, shares and hold-out; every problem raised at once."""
    problems = []
    name = " ".join(str(name or "").split())
    if not name or len(name) > 200:
        problems.append("The experiment needs a name of 1 to 200 characters (--name, name).")
    names = [" ".join(str(v).split()) for v in variants]
    if any(not v or len(v) > 100 for v in names):
        problems.append(f"Every variant needs a name of 1 to 100 characters. Got {names}.")
    folded = [v.casefold() for v in names]
    dupes = sorted({v for v in names if folded.count(v.casefold()) > 1})
    if dupes:
        problems.append(f"Variant names must differ (in any case); repeated: {', '.join(dupes)}.")
    if len(names) < 2:
        problems.append(f"A split test needs at least 2 variants. Got {len(names)}: {names}.")
    if weights is not None:
        ws = list(weights)
        if len(ws) != len(names):
            problems.append(
                f"There must be one weight per variant: {len(names)} variants "
                f"({', '.join(names)}) but {len(ws)} weights ({', '.join(map(str, ws))})."
            )
        bad = [w for w in ws if not _positive(w)]
        if bad:
            problems.append(f"Weights must be positive numbers. Got {', '.join(map(str, bad))}.")
        elif len(ws) == len(names) and min(_widths(ws)) == 0:
            problems.append(
                f"The weights {', '.join(map(str, ws))} leave a variant no customer: its share "
                "is under one in 2^32 of the hash range."
            )
    if control is not None and control not in names:
        problems.append(f"The hold-out '{control}' is not a variant ({', '.join(names)}).")
    if problems:
        raise SpecError(
            problems[0]
            if len(problems) == 1
            else f"{len(problems)} problems with the design: " + " ".join(problems),
            fix="e.g. --variants A,B,control --weights 45,45,10 (Python: variants=['A', 'B', "
            "'control'], weights=[45, 45, 10]); weights may be any positive numbers.",
            problems=problems,
        )
    # exact fractions: a sum of huge weights would overflow a float (inf / inf is NaN)
    raw = (
        [Fraction(float(w)) for w in weights] if weights is not None else [Fraction(1)] * len(names)
    )
    shares = [float(w / sum(raw)) for w in raw]
    if control is None and CONTROL in names:
        control = CONTROL
    return name, names, shares, control


def _widths(weights: Sequence[float]) -> list[int]:
    edges = thresholds([float(w) for w in weights])
    return [b - a for a, b in zip([0, *edges[:-1]], edges, strict=True)]


def _positive(w: object) -> bool:
    try:
        value = float(w)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return isfinite(value) and value > 0 and not isinstance(w, bool)


def _members(
    store: Store, segmentation: str, segments: Sequence[str] | None, run: str | None
) -> tuple[str, list[tuple[str, str]]]:
    """The run and the chosen (label, name) segments; refuses an empty segment."""
    try:
        run_id = run or latest_run(store, segmentation)
        result = segmentation_result(store, run_id, segmentation)
        if isinstance(segments, str):
            segments = [segments]
        wanted = list(segments) if segments else [s.label for s in result.profiles.segments]
        chosen = resolve_segments(result, wanted)
    except ExportError as exc:
        raise ExperimentError(exc.problem, fix=exc.fix, where=exc.where) from None
    labels = [lab for lab, _ in chosen]
    rows = store.db.execute(
        "SELECT segment, count(*) FROM segment_assignments WHERE run_id = ? AND "
        "segmentation = ? AND list_contains(?, segment) GROUP BY segment",
        [run_id, segmentation, labels],
    ).fetchall()
    sizes = {str(r[0]): int(r[1]) for r in rows}
    empty = [f"{name} ({lab})" for lab, name in chosen if not sizes.get(lab)]
    if empty:
        raise ExperimentError(
            f"Run {run_id} has no customer in {'segment' if len(empty) == 1 else 'segments'} "
            f"{', '.join(empty)} of '{segmentation}': there is nobody to split.",
            fix="leave the empty segment out, or name a run in which it has customers (--run).",
        )
    return run_id, chosen


def _store(store: Store, design: Design, *, replace: bool) -> Design:
    """Assign in the engine and write both tables in one transaction; the stored design."""
    store.ensure("experiments")
    store.ensure("experiment_assignments")
    old = store.db.execute(
        "SELECT experiment_id, created_at, created_by FROM experiments WHERE name = ?",
        [design.name],
    ).fetchone()
    if old is not None and not replace:
        raise ExperimentError(
            f"An experiment named '{design.name}' exists already ({old[0]}, designed "
            f"{old[1]:%Y-%m-%d %H:%M} UTC by {old[2]}).",
            fix="give another name (--name), or design it again with --replace (Python and the "
            "API: replace=True); the same salt gives every customer the same variant again.",
        )
    h = hash32_sql("?", "CAST(customer_id AS VARCHAR)")
    with store.transaction() as tx:
        if old is not None:
            tx.execute("DELETE FROM experiment_assignments WHERE experiment_id = ?", [old[0]])
            tx.execute("DELETE FROM experiments WHERE experiment_id = ?", [old[0]])
        eid = old[0] if old is not None else _next_id(tx)  # a design keeps its id
        tx.execute(
            f"INSERT INTO experiment_assignments SELECT ?, customer_id, segment, "
            f"{variant_sql('h', design.variants, design.weights)}, h / {_SCALE} FROM ("
            f"SELECT customer_id, segment, {h} AS h FROM segment_assignments "
            "WHERE run_id = ? AND segmentation = ? AND list_contains(?, segment))",
            [eid, design.salt, design.run_id, design.segmentation, design.segments],
        )
        keep_pseudonymized(store, "experiment_assignments")
        found = tx.execute(
            "SELECT segment, variant, count(*) FROM experiment_assignments "
            "WHERE experiment_id = ? GROUP BY ALL",
            [eid],
        ).fetchall()
        counts = {s: dict.fromkeys(design.variants, 0) for s in design.segments}
        for seg, variant, n in found:
            counts[seg][variant] = int(n)
        stored = replace_fields(design, experiment_id=eid, counts=counts)
        _insert(tx, stored)
        audit.record(
            tx,
            "experiment.design",
            target=eid,
            detail={
                "name": design.name,
                "run_id": design.run_id,
                "segmentation": design.segmentation,
                "variants": design.variants,
                "customers": sum(sum(c.values()) for c in counts.values()),
                "replaced": old is not None,
            },
        )
    return stored


def _next_id(tx: Any) -> str:
    row = tx.execute(
        "SELECT max(TRY_CAST(substr(experiment_id, 2) AS INTEGER)) FROM experiments"
    ).fetchone()
    return f"e{int(row[0] or 0) + 1 if row else 1:04d}"


def _insert(tx: Any, d: Design) -> None:
    def js(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    tx.execute(
        "INSERT INTO experiments VALUES (?, ?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            d.experiment_id,
            d.name,
            d.created_at,
            d.created_by,
            d.run_id,
            d.segmentation,
            js(d.segments),
            js(d.segment_names),
            js(d.variants),
            js(d.weights),
            d.salt,
            d.control,
            js(d.counts),
        ],
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def list_experiments(store: Store) -> list[Design]:
    """Every split test designed in the workspace, newest first."""
    if not store.has_table("experiments"):
        return []
    rows = store.db.execute(
        "SELECT * FROM experiments ORDER BY created_at DESC, experiment_id DESC"
    ).df()
    return [_design(rec) for rec in rows.to_dict("records")]


def load_design(store: Store, experiment: str) -> Design:
    """The stored design named ``experiment`` (by name or id)."""
    found = [d for d in list_experiments(store) if experiment in (d.name, d.experiment_id)]
    if not found:
        names = [d.name for d in list_experiments(store)]
        raise ExperimentError(
            f"There is no experiment '{experiment}' in this workspace.",
            fix=f"use one of: {', '.join(names)}."
            if names
            else "design one first (segmint experiment design --help).",
        )
    return found[0]


def _design(rec: dict[str, Any]) -> Design:
    for key in ("segments", "segment_names", "variants", "weights", "counts"):
        rec[key] = json.loads(rec[key])
    rec["created_at"] = rec["created_at"].isoformat(timespec="seconds")
    rec["control"] = rec["control"] if isinstance(rec["control"], str) else None
    return Design(**rec)


def parse_weights(text: str | None, *, label: str = "--weights") -> list[float] | None:
    """``"45, 45, 10"`` (or ``45%,45%,10%``) → ``[45.0, 45.0, 10.0]``; empty → None (equal).

    One parser for the command line and the web form, so both accept and refuse the same."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not parts:
        return None
    try:
        return [float(p.rstrip("%")) for p in parts]
    except ValueError:
        raise SpecError(
            f"{label} '{text}' is not a list of numbers.",
            fix="give one positive number per variant, comma-separated, e.g. 45,45,10.",
        ) from None
