"""Scoring customers with a run's stored model (``POST …/segmentations/{name}/assign``).

A customer comes with its feature values, or with only its ``customer_id``: its row of
``customer_features`` is then read (found by its person and pseudonym when the workspace
links records or keeps pseudonyms). Two ways through, with the same answers:

* **direct**, the common request on a cluster model (k-means, GMM, HDBSCAN): every customer
  sends a number for every feature the model reads, or only its id (one customer so). The
  numbers go into a float array in the model's column order and through
  :meth:`~segmint.segment.cluster.ClusterSegmenter.predict_values`: the same scaling and
  assignment as ``predict``, without a DataFrame (about 60 µs for one customer, where building
  and checking a one-row DataFrame took about 2 ms);
* **frame**, everything else (values sent as text, missing values, many ids at once, other
  methods, a Spark workspace, an unknown id): a DataFrame through the model's ``predict``,
  with its conversions and error messages.

A customer sent by id is found in :class:`~segmint.api.stored.StoredValues`, the model's
columns of ``customer_features`` copied into memory on the first request by id (a lookup of
about 15 µs, checked against the file's fingerprint at every use, so never older than the
file); without a copy valid for the file now (linked persons, pseudonyms, an in-memory
workspace, more than ``stored.MAX_ROWS`` rows, a column that is no plain number, a file
written a moment ago, a copy read again too soon after the last) one query reads the row,
about 1.3 ms of CPU (DuckDB's per-query cost; a prepared statement or an index saves little).
A valid copy also lets :func:`score_in_memory` answer by id.

The loaded model, the columns it reads, the segments' display names, the lookup query and the
copy are cached per (run, segmentation) in ``AppState.models``: a rename drops its entry, and
runs, updates, dedupe and review decisions (a customer's person), pseudonymizing (its key),
scheduled runs and the file's rewrite after an erasure clear them all; any other write to the
file (another connection, another process while the server holds none) drops the copy at its
next use. A lookup that finds no row goes the frame's way, which builds its query afresh.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from segmint._workspace import Workspace
from segmint.api.services import _rows, get_segmentation
from segmint.api.state import AppState
from segmint.api.stored import NO_COPY, StoredValues
from segmint.exceptions import InputError, ModelError
from segmint.privacy.pseudonyms import customer_key_sql
from segmint.segment.models import model_columns, model_from_json

__all__ = ["IN_MEMORY_CUSTOMERS", "Scorer", "score", "score_in_memory", "scorer"]

#: the largest integer a float holds exactly; larger ones go the frame's way
_EXACT = 2**53
#: the most customers :func:`score_in_memory` scores (on the server's event loop: about 10 µs
#: each; a larger batch goes to a worker thread, so that it holds up no other request)
IN_MEMORY_CUSTOMERS = 100


@dataclass(frozen=True)
class Scorer:
    """A segmentation's model, ready to score (cached per run and segmentation)."""

    model: Any
    #: the features the segmentation was built on, as stored
    features: list[str]
    #: the columns the model reads (``model_columns``), in the order ``predict_values`` takes
    needed: list[str]
    #: segment label -> display name
    names: dict[str, str]
    #: the model scores plain values (``predict_values``)
    direct: bool
    #: one customer's needed values by ``$id`` (None: no feature table with those columns, or
    #: a Spark workspace)
    lookup: str | None
    #: the needed columns of every customer in memory, read on the first request by id (None:
    #: no lookup, or an in-memory workspace)
    stored: StoredValues | None = None


def scorer(state: AppState, ws: Workspace, run_id: str, name: str) -> Scorer:
    """The segmentation's :class:`Scorer`, loaded from its JSON data on first use."""
    key = (run_id, name)
    cached = state.models.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    result = get_segmentation(ws, run_id, name)
    rows = (
        _rows(
            ws,
            "SELECT model, features FROM segment_models WHERE run_id = ? AND segmentation = ?",
            [run_id, name],
        )
        if "segment_models" in ws.tables()
        else []
    )
    if not rows or not isinstance(rows[0][0], str):  # none, or a pickle (never loaded)
        raise ModelError(
            f"Segmentation '{name}' of run '{run_id}' has no stored model to score new customers.",
            fix="run the segmentation again with this version of segmint.",
        )
    model = model_from_json(rows[0][0])  # data only: nothing in the file is run as code
    features = json.loads(rows[0][1])
    needed = model_columns(model, features)
    engine = getattr(state, "engine", None)
    lookup = None if engine is not None else _lookup_sql(ws, needed)
    entry = Scorer(
        model=model,
        features=features,
        needed=needed,
        names=result.names(),
        # predict_values takes the model's own columns: the direct way only when they are
        # the columns scoring reads, in the same order
        direct=hasattr(model, "predict_values")
        and needed == [str(c) for c in getattr(model, "features_", ())],
        lookup=lookup,
        stored=None if lookup is None or not _on_disk(ws) else StoredValues(ws.path, needed),
    )
    state.models[key] = entry
    return entry


def _on_disk(ws: Workspace) -> bool:
    return str(ws.path) != ":memory:" and ws.path.is_file()


def _lookup_sql(ws: Workspace, needed: list[str]) -> str | None:
    """The query of one customer's ``needed`` values by its id ``$id``, or None without a
    feature table holding them."""
    have = ws.store.columns("customer_features") if "customer_features" in ws.tables() else {}
    if not needed or not all(c in have for c in needed):
        return None
    cols = ", ".join(f'f."{c}"' for c in needed)
    key = customer_key_sql(ws.store, "$id")
    return f"SELECT {cols} FROM customer_features f WHERE f.customer_id = {key} LIMIT 1"


def score(
    state: AppState, ws: Workspace, run_id: str, name: str, customers: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Assign customers (feature values as dicts) to the fitted segmentation's segments.

    A customer sent with its ``customer_id`` and without feature values is scored on its row
    of ``customer_features`` (found by its pseudonym when the workspace keeps pseudonyms)."""
    if not customers:
        raise InputError("Send at least one customer.", fix='{"customers": [{"frequency": 3}]}')
    found = scorer(state, ws, run_id, name)
    done = _direct(found, ws, customers) if found.direct else None
    if done is None:
        src = getattr(state, "engine", None) or ws
        done = _by_frame(found, src, name, customers)
    return _answer(found, *done)


def score_in_memory(
    state: AppState, run_id: str, name: str, customers: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """:func:`score`'s answer when it needs nothing but memory: the model is loaded, and at
    most :data:`IN_MEMORY_CUSTOMERS` customers come with all their values, or one by id with
    its row in a valid copy of the stored values (the direct way). None otherwise: then call
    :func:`score` (in a worker thread: it reads the workspace)."""
    found = state.models.get((run_id, name))
    if not isinstance(found, Scorer) or not found.direct:
        return None
    if not customers or len(customers) > IN_MEMORY_CUSTOMERS:
        return None
    done = _direct(found, None, customers)
    return None if done is None else _answer(found, *done)


def _answer(found: Scorer, ids: list[str], labels: list[str]) -> list[dict[str, Any]]:
    names = found.names
    return [
        {"customer_id": cid, "segment": lab, "name": names.get(lab, lab)}
        for cid, lab in zip(ids, labels, strict=True)
    ]


# -- direct: plain values through predict_values -----------------------------------------------


def _direct(
    found: Scorer, ws: Workspace | None, customers: list[dict[str, Any]]
) -> tuple[list[str], list[str]] | None:
    """Ids and labels scored without a DataFrame, or None when the request needs the frame's
    conversions, checks or error messages (then nothing was read), or, when ``ws`` is None,
    the workspace (a customer by id without a valid copy of the stored values)."""
    ids = _ids(customers)
    if ids is None:
        return None
    needed = found.needed
    values = np.empty((len(customers), len(needed)), dtype="float64")
    stored = -1  # the one customer sent by id only
    for i, customer in enumerate(customers):
        row = _numbers([customer.get(c) for c in needed])
        if row is not None:
            values[i] = row
        elif (
            stored < 0 and isinstance(customer.get("customer_id"), str) and _blank(customer, needed)
        ):
            stored = i
        else:
            return None
    if stored >= 0:
        kept = _stored_row(found, ws, ids[stored])
        if kept is None:
            return None
        values[stored] = kept
    labels = found.model.predict_values(values)
    return ids, [str(lab) for lab in labels]


def _ids(customers: list[dict[str, Any]]) -> list[str] | None:
    """The customers' ids as the frame names them: every one's text ``customer_id``, or the
    positions when none sends one; None otherwise (numbers, a mix, repeats)."""
    sent = [c.get("customer_id") for c in customers]
    if all(s is None and "customer_id" not in c for s, c in zip(sent, customers, strict=True)):
        return [str(i) for i in range(len(customers))]
    if not all(isinstance(s, str) for s in sent) or len(set(sent)) != len(sent):
        return None
    return sent  # type: ignore[return-value]


def _numbers(row: list[Any]) -> list[float] | None:
    """``row`` as floats when every value is a finite int or float (not a bool), that a
    float holds exactly; else None."""
    out = []
    for v in row:
        kind = type(v)
        if kind is float:
            if not math.isfinite(v):
                return None
        elif kind is not int or not -_EXACT <= v <= _EXACT:
            return None
        out.append(float(v))
    return out


def _blank(customer: dict[str, Any], needed: list[str]) -> bool:
    """True when the customer sends none of the needed values (its stored row is read)."""
    return all(customer.get(c) is None for c in needed)


def _stored_row(
    found: Scorer, ws: Workspace | None, customer_id: str
) -> list[float] | np.ndarray | None:
    """The stored values of one customer as floats (NULL: NaN), or None when the frame's
    way must answer (no lookup, an unknown id, a value that is not a plain number). From the
    copy in memory when it is valid for the file now (taken here, on the first request by
    id); else by the query, or, without ``ws``, None."""
    if found.lookup is None:
        return None
    if found.stored is not None:
        row = found.stored.get(customer_id)
        if row is NO_COPY and ws is not None and found.stored.refresh(ws):
            row = found.stored.get(customer_id)
        if row is not NO_COPY and not (ws is None and row is not None and np.isinf(row).any()):
            return row  # (an infinite value: predict_values' error, raised in the route)
    if ws is None:
        return None
    row = ws.store.db.cursor().execute(found.lookup, {"id": customer_id}).fetchone()
    if row is None:
        return None
    out = []
    for v in row:
        if v is None:
            out.append(math.nan)
        elif type(v) in (int, float, bool):
            out.append(float(v))
        else:
            return None
    return out


# -- frame: a DataFrame through predict ---------------------------------------------------------


def _by_frame(
    found: Scorer, src: Any, name: str, customers: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    frame = pd.DataFrame(customers)
    ids = frame.pop("customer_id") if "customer_id" in frame.columns else None
    needed = found.needed
    if ids is not None:
        frame = _stored_features(src, frame, ids.astype(str), needed)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(
            f"Scoring with '{name}' needs the feature(s) {', '.join(missing)}.",
            fix=f"send each customer with: {', '.join(needed)}.",
        )
    for col in needed:  # numbers sent as text (pandas 3 reads text as its str dtype)
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col].dtype):
            converted = pd.to_numeric(frame[col], errors="coerce")
            if converted.notna().sum() == frame[col].notna().sum():
                frame[col] = converted
    frame.index = pd.Index(
        ids.astype(str) if ids is not None else [str(i) for i in range(len(frame))],
        name="customer_id",
    )
    try:
        labels = found.model.predict(frame)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"These customers could not be scored with '{name}': {exc}.",
            fix=f"send numbers for: {', '.join(needed)}.",
        ) from None
    return [str(i) for i in frame.index], [str(lab) for lab in labels.astype(str)]


def _stored_features(
    src: Any, frame: pd.DataFrame, ids: pd.Series, needed: list[str]
) -> pd.DataFrame:
    """``frame`` with the feature values its customers did not send taken from
    ``customer_features`` (rows whose every needed value is missing; an unknown id is an
    InputError). ``src``: the workspace, or the Spark workspace the rows are read from."""
    blank = frame.reindex(columns=needed).isna().all(axis=1).to_numpy()
    if not blank.any():
        return frame
    if isinstance(src, Workspace):
        stored = _duckdb_features(src, ids[blank], needed)
    else:
        from segmint.api.services_engine import feature_rows

        stored = feature_rows(src, list(ids[blank]), needed)
    if stored is None:
        return frame
    unknown = [c for c in ids[blank] if c not in stored.index]
    if unknown:
        raise InputError(
            f"No customer with the id(s) {', '.join(map(repr, unknown[:5]))} has stored features.",
            fix=f"send their feature values ({', '.join(needed)}), or ids of this workspace.",
        )
    out = frame.reindex(columns=list(dict.fromkeys([*frame.columns, *needed]))).astype(object)
    for i in range(len(out)):
        if blank[i] and ids.iloc[i] in stored.index:
            out.loc[out.index[i], needed] = stored.loc[ids.iloc[i], needed].to_numpy()
    return out


def _duckdb_features(ws: Workspace, ids: pd.Series, needed: list[str]) -> pd.DataFrame | None:
    """The stored feature rows of ``ids`` (found by their pseudonym when the workspace keeps
    pseudonyms), or None without a feature table holding ``needed``."""
    have = ws.store.columns("customer_features") if "customer_features" in ws.tables() else {}
    if not all(c in have for c in needed):
        return None
    import pyarrow as pa

    db = ws.store.db.cursor()
    db.register("_segmint_score_ids", pa.table({"customer_id": list(ids)}))
    cols = ", ".join(f'f."{c}"' for c in needed)
    key = customer_key_sql(ws.store, "i.customer_id")
    stored = (
        db.execute(
            f"SELECT i.customer_id, {cols} FROM _segmint_score_ids i "
            f"JOIN customer_features f ON f.customer_id = {key}"
        )
        .df()
        .drop_duplicates("customer_id")
        .set_index("customer_id")
    )
    db.unregister("_segmint_score_ids")
    return stored
