"""``segmint dedupe``: link customer records into persons, fully or incrementally.

A full run trains the model on every record and scores every blocked pair; an incremental
run (the default once a model exists and new customer records arrived) loads the stored model
and scores only the pairs that involve a new record, appending them to the stored pairs.
Either way the persons are then the connected components of the stored pairs at or above the
threshold (Splink's clustering), after the reviewers' decisions: an accepted pair is a link
whatever its score, a rejected pair never is. Reclustering from stored scores is cheap, so a
decision takes effect at once (:func:`recluster`) and a new threshold needs no retraining.

Person ids are customer ids: a person is named after one of its records, and keeps that name
for as long as that record stays in it. A cluster that gains records keeps its id; when
persons merge, the merged person keeps the id of the one with the most records; a split
leaves the id with the part holding its record and names the other parts after their most
complete record. Every change is an ``identity_events`` row.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from segmint.exceptions import InputError
from segmint.identity.fields import (
    DEFAULT_THRESHOLD,
    Field,
    IdentityOptions,
    choose_fields,
    prepare_sql,
)
from segmint.identity.model import (
    Linkage,
    arrow,
    comparison_table,
    first,
    quiet,
    registered,
    splink_connection,
)
from segmint.privacy import audit as audit_log
from segmint.store import RunRecord, Store

__all__ = [
    "DedupeResult",
    "dedupe",
    "latest_model",
    "preflight",
    "prepared_records",
    "recluster",
    "unplaced_count",
]

Progress = Callable[[str], None]


@dataclass
class DedupeResult:
    """What one dedupe run did."""

    run_id: str
    mode: str  # full | incremental | recluster
    records: int
    persons: int
    threshold: float
    new_records: int = 0
    pairs_scored: int = 0
    fields: list[dict[str, str]] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    review: int = 0
    decisions: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def linked(self) -> int:
        """Records that joined another record's person."""
        return self.records - self.persons

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {**asdict(self), "linked": self.linked}


def prepared_records(store: Store, fields: list[Field]) -> pa.Table:
    """The linkage input read from ``customers`` (one row per customer id: the latest)."""
    sql = prepare_sql(
        fields,
        "(SELECT * FROM customers QUALIFY row_number() OVER "
        "(PARTITION BY customer_id ORDER BY rowid DESC) = 1)",
    )
    return arrow(store.db, sql)


def latest_model(store: Store) -> tuple[str, str, float] | None:
    """(run id, model JSON, threshold) of the last full run, or None."""
    if not store.has_table("identity_models"):
        return None
    row = first(
        store.db.execute(
            "SELECT run_id, model, threshold FROM identity_models ORDER BY created_at DESC, "
            "run_id DESC LIMIT 1"
        )
    )
    return (str(row[0]), str(row[1]), float(row[2])) if row else None


def preflight(store: Store, *, incremental: bool | None = None) -> None:
    """Refuse what :func:`dedupe` cannot do, before any work (the server calls it before it
    queues a job): no customer records, an incremental run without a model, or, when a model
    is to be trained, no filled column to compare."""
    if not store.has_table("customers") or store.count("customers") == 0:
        raise InputError(
            "segmint dedupe links customer records, and this workspace has none.",
            where="customers",
            fix="import a customers file (or orders with customer ids) first: "
            "segmint ingest customers.csv",
        )
    model = latest_model(store)
    if incremental is True and model is None:
        raise InputError(
            "There is no linkage model to match new records against yet.",
            fix="run segmint dedupe once without --incremental (it trains the model)",
        )
    if model is not None and incremental is not False:
        return  # the stored model names its fields
    sources = sorted({f.source for f in choose_fields(store.columns("customers"))})
    counts = ", ".join(f'count("{c}")' for c in sources)
    row = first(store.db.execute(f"SELECT {counts} FROM customers")) if sources else None
    if not row or not any(row):
        raise InputError(
            "The customer records have no names, e-mails, phones, birth dates or addresses "
            "to compare, so no two can be linked.",
            where="customers",
            fix="import a customers file with such columns (the orders alone carry only ids).",
        )


def dedupe(
    store: Store,
    *,
    threshold: float | None = None,
    options: IdentityOptions | None = None,
    incremental: bool | None = None,
    progress: Progress | None = None,
) -> DedupeResult:
    """Link the workspace's customer records into persons and store the identity map.

    ``incremental``: None chooses (with a stored model: the new customer records matched
    against it, or with none new the persons rebuilt from the stored scores, at a new
    threshold if one is given; else a full run), True requires a stored model, False trains
    anew on every record. Options that change the fields, comparisons or blocking train anew.
    """
    started = time.perf_counter()
    say = progress or (lambda _m: None)
    preflight(store, incremental=incremental)
    opts = options or IdentityOptions()
    if threshold is None:
        threshold = opts.threshold
    if threshold is not None and not 0 < threshold < 1:
        raise InputError(
            f"The threshold must be a probability between 0 and 1; got {threshold}.",
            fix="e.g. --threshold 0.95 (higher links fewer, surer pairs)",
        )
    saved = latest_model(store)
    new_ids = _unplaced(store)
    custom = bool(opts.fields or opts.comparisons or opts.blocking)
    if saved is not None and not custom and incremental is not False and not new_ids.num_rows:
        # nothing new to score: the persons again from the stored scores (a new threshold,
        # decisions); --full retrains
        return recluster(store, threshold=threshold, reason="nothing new to score")
    use_saved = saved is not None and (
        incremental is True or (incremental is None and new_ids.num_rows > 0 and not custom)
    )
    # an incremental run compares the fields its model was trained on
    chosen = _fields_of(store, saved[0]) if use_saved and saved is not None else opts.fields
    fields = choose_fields(store.columns("customers"), chosen)
    say("reading customer records")
    prepared = prepared_records(store, fields)
    notes: list[str] = []
    if use_saved:
        assert saved is not None
        model_run, model, saved_threshold = saved
        thr = threshold if threshold is not None else saved_threshold
        say(f"matching {new_ids.num_rows:,} new records against the stored model")
        link = Linkage.load(prepared, model)
        try:
            pairs = link.predict_new(new_ids, opts.review_floor) if new_ids.num_rows else None
        finally:
            link.close()
        mode, model_json = "incremental", model
    else:
        thr = threshold if threshold is not None else DEFAULT_THRESHOLD
        say(f"training the linkage model on {prepared.num_rows:,} records")
        link = Linkage.train(prepared, fields, opts, progress=say)
        try:
            say("scoring candidate pairs")
            pairs = link.predict(opts.review_floor)
            model_json = link.model_json()
            notes += link.notes
            fields = link.used
        finally:
            link.close()
        mode, model_run = "full", ""
    run = RunRecord(kind="dedupe")
    with store.transaction():
        store.reserve_run(run)
        for name in ("identity_map", "identity_pairs", "identity_decisions", "identity_models",
                     "identity_events"):  # fmt: skip
            store.ensure(name)
        if mode == "full":
            store.db.execute("DELETE FROM identity_pairs")
            store.db.execute(
                "INSERT INTO identity_models VALUES (?, ?, ?, ?)",
                [run.run_id, model_json, thr, datetime.now(UTC).replace(tzinfo=None)],
            )
            model_run = run.run_id
        else:
            _keep_threshold(store, model_run, thr)
        n_pairs = 0
        if pairs is not None and pairs.num_rows:
            n_pairs = pairs.num_rows
            _append_pairs(store, pairs, run.run_id)
        say("clustering")
        events, persons = _recluster(store, prepared, thr, run.run_id)
        result = DedupeResult(
            run_id=run.run_id,
            mode=mode,
            records=prepared.num_rows,
            persons=persons,
            threshold=thr,
            new_records=new_ids.num_rows if mode == "incremental" else prepared.num_rows,
            pairs_scored=n_pairs,
            fields=[{"column": f.source, "kind": f.kind, "field": f.name} for f in fields],
            blocking=_rules_of(model_json),
            comparisons=comparison_table(model_json),
            events=events,
            review=_near(store, thr),
            decisions=store.count("identity_decisions"),
            notes=notes,
        )
        result.seconds = round(time.perf_counter() - started, 2)
        run.spec = {"mode": mode, "threshold": thr, "model_run": model_run,
                    "fields": result.fields, "blocking": result.blocking}  # fmt: skip
        run.row_counts = {"records": result.records, "persons": persons,
                          "pairs_scored": n_pairs, "events": events}  # fmt: skip
        store.record_run(run)
        audit_log.record(store, "dedupe", target=run.run_id, detail=run.row_counts)
    return result


def recluster(
    store: Store, *, threshold: float | None = None, reason: str = "recluster"
) -> DedupeResult:
    """Persons again from the stored pairs and decisions (no scoring): what a review
    decision or a new threshold needs."""
    started = time.perf_counter()
    saved = latest_model(store)
    if saved is None:
        raise InputError("This workspace has no identity map yet.", fix="run segmint dedupe first")
    model_run, model, saved_thr = saved
    thr = threshold if threshold is not None else saved_thr
    fields = choose_fields(store.columns("customers"), _fields_of(store, model_run))
    prepared = prepared_records(store, fields)
    run = RunRecord(kind="dedupe")
    with store.transaction():
        store.reserve_run(run)
        events, persons = _recluster(store, prepared, thr, run.run_id)
        _keep_threshold(store, model_run, thr)
        run.spec = {"mode": "recluster", "threshold": thr, "model_run": model_run,
                    "reason": reason, "fields": [{"column": c, "kind": k} for c, k in
                    (_fields_of(store, model_run) or {}).items()]}  # fmt: skip
        run.row_counts = {"records": prepared.num_rows, "persons": persons, "events": events}
        store.record_run(run)
        audit_log.record(store, "dedupe", target=run.run_id, detail=run.row_counts)
    return DedupeResult(
        run_id=run.run_id,
        mode="recluster",
        records=prepared.num_rows,
        persons=persons,
        threshold=thr,
        events=events,
        review=_near(store, thr),
        decisions=store.count("identity_decisions"),
        comparisons=comparison_table(model),
        fields=[{"column": c, "kind": k, "field": c} for c, k in
                (_fields_of(store, model_run) or {}).items()],
        blocking=_rules_of(model),
        seconds=round(time.perf_counter() - started, 2),
    )  # fmt: skip


def _keep_threshold(store: Store, model_run: str, threshold: float) -> None:
    """Later runs link at the threshold chosen last."""
    store.db.execute(
        "UPDATE identity_models SET threshold = ? WHERE run_id = ? AND threshold <> ?",
        [threshold, model_run, threshold],
    )


def _fields_of(store: Store, model_run: str) -> dict[str, str] | None:
    import json

    row = first(store.db.execute("SELECT spec FROM runs WHERE run_id = ?", [model_run]))
    if not row:
        return None
    spec = json.loads(row[0] or "{}")
    return {f["column"]: f["kind"] for f in spec.get("fields", []) if f["kind"] != "house_number"}


def _rules_of(model_json: str) -> list[str]:
    import json

    rules = json.loads(model_json).get("blocking_rules_to_generate_predictions", [])
    return [r["blocking_rule"] if isinstance(r, dict) else str(r) for r in rules]


def unplaced_count(store: Store) -> int:
    """How many customer ids the identity map does not hold yet."""
    return _unplaced(store).num_rows


def _unplaced(store: Store) -> pa.Table:
    """Customer ids the identity map does not hold yet."""
    if not store.has_table("identity_map"):
        return arrow(
            store.db,
            "SELECT DISTINCT CAST(customer_id AS VARCHAR) AS unique_id FROM customers "
            "WHERE customer_id IS NOT NULL",
        )
    return arrow(
        store.db,
        "SELECT DISTINCT CAST(customer_id AS VARCHAR) AS unique_id FROM customers c "
        "WHERE customer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM identity_map m "
        "WHERE m.customer_id = CAST(c.customer_id AS VARCHAR))",
    )


def _append_pairs(store: Store, pairs: pa.Table, run_id: str) -> None:
    with registered(store.db, "_identity_new_pairs", pairs):
        store.db.execute(
            "DELETE FROM identity_pairs WHERE (customer_id_l, customer_id_r) IN "
            "(SELECT (customer_id_l, customer_id_r) FROM _identity_new_pairs)"
        )
        store.db.execute(
            "INSERT INTO identity_pairs SELECT customer_id_l, customer_id_r, match_weight, "
            "match_probability, ? FROM _identity_new_pairs",
            [run_id],
        )


def _near(store: Store, threshold: float, band: float = 0.5) -> int:
    """Undecided pairs whose match weight is within ``band``·4 bits of the threshold's."""
    import math

    w = math.log2(threshold / (1 - threshold))
    row = first(
        store.db.execute(
            "SELECT count(*) FROM identity_pairs p WHERE abs(match_weight - ?) <= ? AND NOT EXISTS "
            "(SELECT 1 FROM identity_decisions d WHERE d.customer_id_l = p.customer_id_l AND "
            "d.customer_id_r = p.customer_id_r)",
            [w, band * 4],
        )
    )
    return int(row[0]) if row else 0


def _recluster(
    store: Store, prepared: pa.Table, threshold: float, run_id: str
) -> tuple[dict[str, int], int]:
    """Cluster the stored pairs (with decisions) and write the identity map and events."""
    edges = arrow(
        store.db,
        "SELECT customer_id_l AS unique_id_l, customer_id_r AS unique_id_r, "
        "match_probability FROM identity_pairs p WHERE match_probability >= ? AND NOT EXISTS "
        "(SELECT 1 FROM identity_decisions d WHERE d.decision = 'reject' AND "
        "d.customer_id_l = p.customer_id_l AND d.customer_id_r = p.customer_id_r) "
        "UNION ALL SELECT customer_id_l, customer_id_r, 1.0 FROM identity_decisions "
        "WHERE decision = 'accept'",
        [threshold],
    )
    ids = prepared.column("unique_id")
    clusters = _components(ids, edges, threshold)
    old = dict(store.db.execute("SELECT customer_id, person_id FROM identity_map").fetchall())
    completeness = _completeness(prepared)
    assignment, events = _stable_ids(clusters, old, completeness)
    strongest = _strongest(edges, assignment)
    size: dict[str, int] = defaultdict(int)
    for pid in assignment.values():
        size[pid] += 1
    cust = list(assignment)
    table = pa.table(
        {
            "customer_id": pa.array(cust, pa.string()),
            "person_id": pa.array([assignment[c] for c in cust], pa.string()),
            "match_probability": pa.array(
                [strongest.get(c) if size[assignment[c]] > 1 else None for c in cust],
                pa.float64(),
            ),
            "cluster_size": pa.array([size[assignment[c]] for c in cust], pa.int32()),
        }
    )
    with registered(store.db, "_identity_map_new", table):
        store.db.execute("DELETE FROM identity_map")
        store.db.execute(
            "INSERT INTO identity_map SELECT customer_id, person_id, match_probability, "
            "cluster_size, ? FROM _identity_map_new",
            [run_id],
        )
    counts: dict[str, int] = defaultdict(int)
    for event, _previous in events.values():
        counts[event] += 1
    if events:
        pids = list(events)
        log = pa.table(
            {
                "person_id": pa.array(pids, pa.string()),
                "event": pa.array([events[p][0] for p in pids], pa.string()),
                "previous": pa.array([",".join(sorted(events[p][1])) for p in pids], pa.string()),
                "records": pa.array([size[p] for p in pids], pa.int32()),
            }
        )
        with registered(store.db, "_identity_events_new", log):
            store.db.execute(
                "INSERT INTO identity_events SELECT ?, person_id, event, previous, records "
                "FROM _identity_events_new",
                [run_id],
            )
    before = set(old.values())
    counts["kept"] = sum(1 for p in size if p not in events and p in before)
    return dict(counts), len(size)


def _components(ids: pa.ChunkedArray, edges: pa.Table, threshold: float) -> dict[str, str]:
    """record id → cluster id: Splink's connected components over the links."""
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    con = splink_connection()
    try:
        nodes = pa.table({"unique_id": ids})
        con.register("_nodes", nodes)
        con.register("_edges", edges)
        con.execute("CREATE TABLE nodes AS SELECT DISTINCT unique_id FROM _nodes")
        con.execute(
            "CREATE TABLE edges AS SELECT unique_id_l, unique_id_r, max(match_probability) "
            "AS match_probability FROM _edges WHERE unique_id_l IN (SELECT unique_id FROM "
            "nodes) AND unique_id_r IN (SELECT unique_id FROM nodes) GROUP BY ALL"
        )
        db = DuckDBAPI(connection=con)
        with quiet():
            out = cluster_pairwise_predictions_at_threshold(
                "nodes", "edges", db, node_id_column_name="unique_id",
                threshold_match_probability=threshold,
            )  # fmt: skip
        rows = con.execute(
            f"SELECT CAST(unique_id AS VARCHAR), CAST(cluster_id AS VARCHAR) FROM "
            f"{out.physical_name}"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def _completeness(prepared: pa.Table) -> dict[str, int]:
    filled = None
    for name in prepared.column_names:
        if name == "unique_id":
            continue
        v = pc.cast(pc.is_valid(prepared.column(name)), pa.int32())
        filled = v if filled is None else pc.add(filled, v)
    ids = prepared.column("unique_id").to_pylist()
    counts = filled.to_pylist() if filled is not None else [0] * len(ids)
    return dict(zip(ids, counts, strict=True))


def _stable_ids(
    clusters: dict[str, str], old: dict[str, str], completeness: dict[str, int]
) -> tuple[dict[str, str], dict[str, tuple[str, set[str]]]]:
    """customer → person id, and the events (person → (event, previous persons)).

    A cluster keeps an old person id when it holds that id's own record; among several
    (a merge) the old person with the most records in the cluster wins.
    """
    members: dict[str, list[str]] = defaultdict(list)
    for rec, cl in clusters.items():
        members[cl].append(rec)
    old_size: dict[str, int] = defaultdict(int)
    for p in old.values():
        old_size[p] += 1
    # where each old person's records went
    spread: dict[str, set[str]] = defaultdict(set)
    for rec, cl in clusters.items():
        if rec in old:
            spread[old[rec]].add(cl)
    assignment: dict[str, str] = {}
    events: dict[str, tuple[str, set[str]]] = {}
    for recs in members.values():
        previous = {old[r] for r in recs if r in old}
        here: dict[str, int] = defaultdict(int)
        for r in recs:
            if r in old:
                here[old[r]] += 1
        keepers = [p for p in previous if p in recs and old.get(p) == p]
        if keepers:
            pid = sorted(keepers, key=lambda p: (-here[p], -old_size[p], p))[0]
        else:
            pid = sorted(recs, key=lambda r: (-completeness.get(r, 0), r))[0]
        for r in recs:
            assignment[r] = pid
        if not previous:
            events[pid] = ("new", set())
        elif len(previous) > 1:
            events[pid] = ("merged", previous)
        else:
            (p,) = previous
            if len(spread[p]) > 1:
                events[pid] = ("split", previous)
            elif len(recs) > here[p]:
                events[pid] = ("grew", previous)
            elif pid != p:
                events[pid] = ("renamed", previous)
    return assignment, events


def _strongest(edges: pa.Table, assignment: dict[str, str]) -> dict[str, float]:
    best: dict[str, float] = {}
    ls = edges.column("unique_id_l").to_pylist()
    rs = edges.column("unique_id_r").to_pylist()
    ps = edges.column("match_probability").to_pylist()
    for a, b, p in zip(ls, rs, ps, strict=True):
        if assignment.get(a) is not None and assignment.get(a) == assignment.get(b):
            best[a] = max(best.get(a, 0.0), p)
            best[b] = max(best.get(b, 0.0), p)
    return best
