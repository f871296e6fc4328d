"""One-customer scoring (``POST …/assign``): the direct way (plain numbers through
``predict_values``) gives the labels of the DataFrame way on every customer, by values and by
id (plain and pseudonymized ids); requests it cannot take go the frame's way with its
answers; the shortcut in front of the routing answers with the route's bytes or passes the
request on untouched; the cached models and lookups are dropped when what they were read from
changes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import segmint
from segmint._run import run_pipeline
from segmint.api import Settings, create_app, first_admin_token, scoring, stored
from segmint.api.shortcut import MAX_BODY, ScoringShortcut
from segmint.exceptions import ModelError
from segmint.privacy.keys import KEY_ENV, KEY_FILE_ENV
from segmint.spec.model import SegmentationSpec, Spec

SPEC = Spec(
    segmentations=[
        SegmentationSpec(name="clusters", method="kmeans", k=4),
        SegmentationSpec(name="mix", method="gmm", k=3),
        SegmentationSpec(name="rfm", method="rfm"),
    ]
)
CLUSTER_MODELS = ("clusters", "mix")


class Shop:
    """A workspace with one run of k-means, a Gaussian mixture and RFM, served by an app."""

    def __init__(self, root: Path) -> None:
        self.path = root / "shop.duckdb"
        files = segmint.datasets.make_retail(300, seed=7).to_files(root / "data")
        with segmint.Workspace(self.path) as ws:
            for table in ("customers", "orders"):
                ws.ingest(files[table], into=table)
            self.run_id = run_pipeline(ws, SPEC, out_dir=root / "r").run_id
            self.features = ws.table("customer_features").to_pandas().set_index("customer_id")
        self.app = create_app(Settings(workspace=self.path, schedule_poll_s=0))
        self.state = self.app.state.segmint
        self.client = TestClient(self.app)
        admin = first_admin_token(self.app)
        assert admin is not None
        self.auth = {"Authorization": f"Bearer {admin}"}

    def url(self, name: str) -> str:
        return f"/api/v1/runs/{self.run_id}/segmentations/{name}"

    def assign(self, name: str, customers: list[dict[str, Any]]) -> Any:
        return self.client.post(
            self.url(name) + "/assign", headers=self.auth, json={"customers": customers}
        )

    def scorer(self, name: str) -> scoring.Scorer:
        return scoring.scorer(self.state, self.state.workspace(), self.run_id, name)


def _opened(kind: type[Shop], tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Any]:
    """A shop of ``kind`` served without a pseudonym key, closed after the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(KEY_ENV, raising=False)
        mp.delenv(KEY_FILE_ENV, raising=False)
        s = kind(tmp_path_factory.mktemp(name))
        with s.client:
            yield s
        s.state.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    yield from _opened(Shop, tmp_path_factory, "scoring")


def _values(shop: Shop, cid: str, cols: list[str]) -> dict[str, Any]:
    return {c: _plain(shop.features.loc[cid, c]) for c in cols}


def _plain(v: Any) -> Any:
    return None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)


def _by_frame(shop: Shop, found: scoring.Scorer, name: str, customers: list[dict[str, Any]]):
    return scoring._by_frame(found, shop.state.workspace(), name, customers)


@pytest.mark.parametrize("name", CLUSTER_MODELS)
def test_predict_values_gives_predict_labels(shop: Shop, name: str):
    model = shop.scorer(name).model
    frame = shop.features[list(model.features_)].astype("float64")
    batch = model.predict(frame)
    values = frame.to_numpy()
    assert list(model.predict_values(values)) == list(batch)
    one_by_one = [model.predict_values(values[i : i + 1])[0] for i in range(len(values))]
    assert one_by_one == list(batch)
    assert len(set(batch)) > 1  # the customers fall in several segments
    with pytest.raises(ModelError, match="infinite"):
        model.predict_values(np.full((1, len(model.features_)), math.inf))
    with pytest.raises(ModelError, match="array"):
        model.predict_values(values[:, :1])


@pytest.mark.parametrize("name", CLUSTER_MODELS)
def test_direct_scoring_agrees_with_the_frame_on_every_customer(shop: Shop, name: str):
    found = shop.scorer(name)
    assert found.direct and found.lookup is not None
    ws = shop.state.workspace()
    taken = 0
    for cid in shop.features.index:
        for customer in (
            {"customer_id": cid},
            {"customer_id": cid, **_values(shop, cid, found.needed)},
        ):
            direct = scoring._direct(found, ws, [customer])
            expect = _by_frame(shop, found, name, [customer])
            if direct is not None:
                taken += 1
                assert direct == expect, customer
    # every id-only request, and every customer sent with all values present, went directly
    complete = shop.features[found.needed].notna().all(axis=1).sum()
    assert taken == len(shop.features) + complete
    batch = [
        {"customer_id": cid, **_values(shop, cid, found.needed)}
        for cid in shop.features.index[shop.features[found.needed].notna().all(axis=1)]
    ]
    assert scoring._direct(found, ws, batch) == _by_frame(shop, found, name, batch)


def test_over_http_one_customer_by_values_and_by_id(shop: Shop):
    found = shop.scorer("clusters")
    names = found.names
    for cid in shop.features.index[:60]:
        _, (label,) = _by_frame(shop, found, "clusters", [{"customer_id": cid}])
        expect = [{"customer_id": cid, "segment": label, "name": names.get(label, label)}]
        by_id = shop.assign("clusters", [{"customer_id": cid}])
        assert by_id.status_code == 200 and by_id.json() == expect
        row = _values(shop, cid, found.needed)
        if all(v is not None for v in row.values()):
            by_values = shop.assign("clusters", [{"customer_id": cid, **row}])
            assert by_values.status_code == 200 and by_values.json() == expect
            # answered from memory, with the model loaded
            assert (
                scoring.score_in_memory(
                    shop.state, shop.run_id, "clusters", [{"customer_id": cid, **row}]
                )
                == expect
            )


def test_requests_the_direct_way_declines_get_the_frames_answers(shop: Shop):
    found = shop.scorer("clusters")
    ws = shop.state.workspace()
    cols = found.needed
    cid = str(shop.features.index[0])
    numbers = {c: 1.5 for c in cols}
    declined = [
        [{"customer_id": cid, **{c: "1.5" for c in cols}}],  # numbers as text
        [{"customer_id": cid, **numbers, cols[0]: True}],  # a bool
        [{"customer_id": cid, **numbers, cols[0]: None}],  # a missing value
        [{"customer_id": cid, **{c: 1.5 for c in cols[1:]}}],  # a feature not sent
        [{"customer_id": 7, **numbers}],  # an id that is not text
        [{"customer_id": "a", **numbers}, {"customer_id": "a", **numbers}],  # repeated
        [{"customer_id": "a", **numbers}, dict(numbers)],  # ids for some only
        [{"customer_id": cid, **numbers, cols[0]: 2**60}],  # an int a float rounds
        [{"customer_id": cid}, {"customer_id": str(shop.features.index[1])}],  # two by id
        [{"customer_id": "nobody"}],  # an unknown id
    ]
    for customers in declined:
        assert scoring._direct(found, ws, customers) is None, customers
        assert scoring.score_in_memory(shop.state, shop.run_id, "clusters", customers) is None
    text = shop.assign("clusters", declined[0])
    direct = shop.assign("clusters", [{"customer_id": cid, **numbers}])
    assert text.status_code == direct.status_code == 200 and text.json() == direct.json()
    unknown = shop.assign("clusters", declined[-1])
    assert unknown.status_code == 400 and "nobody" in unknown.json()["problem"]
    twice = shop.assign("clusters", declined[5])
    assert twice.status_code == 400, twice.text
    missing = shop.assign("clusters", [{"frequency": 1}])
    assert missing.status_code == 400 and "needs the feature(s)" in missing.json()["problem"]
    # no model method to score plain values (RFM): the frame's way, same answer as before
    rfm = shop.assign("rfm", [{"customer_id": cid}])
    assert rfm.status_code == 200 and not shop.scorer("rfm").direct


def test_the_cached_scorer_goes_with_a_rename_and_a_rewrite_of_the_file(shop: Shop):
    cid = str(shop.features.index[0])
    first = shop.assign("clusters", [{"customer_id": cid}]).json()[0]
    key = (shop.run_id, "clusters")
    assert isinstance(shop.state.models.get(key), scoring.Scorer)
    renamed = shop.client.patch(
        f"{shop.url('clusters')}/segments/{first['segment']}",
        headers=shop.auth,
        json={"name": "Renamed for the test"},
    )
    assert renamed.status_code == 200, renamed.text
    assert key not in shop.state.models
    again = shop.assign("clusters", [{"customer_id": cid}]).json()[0]
    assert again == {**first, "name": "Renamed for the test"}
    assert key in shop.state.models
    with shop.state.exclusive():
        assert shop.state.models == {}


class Downstream:
    """An ASGI app standing for FastAPI behind the shortcut: records the bodies it gets."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _call(
    asgi: Any,
    path: str,
    body: bytes,
    headers: dict[str, str],
    method: str = "POST",
) -> tuple[int, bytes]:
    """One request straight to an ASGI app, the body in two chunks: (status, body)."""
    half = len(body) // 2
    incoming = [
        {"type": "http.request", "body": body[:half], "more_body": True},
        {"type": "http.request", "body": body[half:], "more_body": False},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(asgi(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_the_shortcut_answers_with_the_routes_bytes(shop: Shop):
    found = shop.scorer("clusters")
    downstream = Downstream()
    shortcut = ScoringShortcut(downstream, state=shop.state)
    headers = {**shop.auth, "Content-Type": "application/json"}
    complete = shop.features.index[shop.features[found.needed].notna().all(axis=1)]
    batches = [[cid] for cid in complete[:40]] + [list(complete[40:50])]
    for batch in batches:
        body = json.dumps(
            {"customers": [{"customer_id": c, **_values(shop, c, found.needed)} for c in batch]}
        ).encode()
        status, answer = _call(shortcut, shop.url("clusters") + "/assign", body, headers)
        assert status == 200 and downstream.bodies == []
        # another JSON content type goes past the shortcut, to FastAPI's route
        route = shop.client.post(
            shop.url("clusters") + "/assign",
            content=body,
            headers={**shop.auth, "Content-Type": "application/json; charset=utf-8"},
        )
        assert route.status_code == 200 and route.content == answer
        assert route.headers["content-type"] == "application/json"


def test_the_shortcut_passes_on_what_it_cannot_answer(shop: Shop):
    found = shop.scorer("clusters")
    cid = str(shop.features.index[0])
    numbers = {c: 2.5 for c in found.needed}
    url = shop.url("clusters") + "/assign"
    ok = {**shop.auth, "Content-Type": "application/json"}
    good = json.dumps({"customers": [{"customer_id": cid, **numbers}]}).encode()
    viewer = shop.state.tokens.create("scoring-viewer", "viewer")[1]
    many = [{"customer_id": f"n{i}", **numbers} for i in range(2 * MAX_BODY // len(good))]
    large = json.dumps({"customers": many}).encode()
    assert len(large) > MAX_BODY
    cases = [
        (url, good, {**shop.auth, "Content-Type": "text/plain"}, "POST"),  # not JSON
        (url, good, {"Content-Type": "application/json"}, "POST"),  # no token
        (
            url,
            good,
            {"Authorization": "Bearer sgm_nope", "Content-Type": "application/json"},
            "POST",
        ),
        (url, good, ok, "PUT"),
        (url + "/more", good, ok, "POST"),
        (url, b"{not json", ok, "POST"),
        (url, json.dumps({"customers": [], "extra": 1}).encode(), ok, "POST"),  # invalid
        (url, json.dumps({"customers": [{"customer_id": "nobody"}]}).encode(), ok, "POST"),
        (url, json.dumps({"customers": [{c: "2.5" for c in found.needed}]}).encode(), ok, "POST"),
        (shop.url("nothing") + "/assign", good, ok, "POST"),  # no such segmentation
        (url, large, ok, "POST"),  # more than the shortcut reads (sent in two chunks)
        (url, large, {**ok, "Content-Length": str(len(large))}, "POST"),  # said up front
    ]
    for path, body, headers, method in cases:
        downstream = Downstream()
        status, _ = _call(
            ScoringShortcut(downstream, state=shop.state), path, body, headers, method
        )
        assert status == 299 and downstream.bodies == [body], (path, body, headers, method)
    # a viewer may score: the route's role
    downstream = Downstream()
    auth = {"Authorization": f"Bearer {viewer}", "Content-Type": "application/json"}
    status, _ = _call(ScoringShortcut(downstream, state=shop.state), url, good, auth)
    assert status == 200 and downstream.bodies == []
    # a model not loaded yet: the route loads it; the next request is answered from memory
    shop.state.models.clear()
    downstream = Downstream()
    _call(ScoringShortcut(downstream, state=shop.state), url, good, ok)
    assert downstream.bodies == [good]
    assert shop.client.post(url, content=good, headers=ok).status_code == 200
    downstream = Downstream()
    assert _call(ScoringShortcut(downstream, state=shop.state), url, good, ok)[0] == 200


# -- the stored values in memory ----------------------------------------------------------------


@pytest.fixture
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copies taken of a file written a moment ago (the tests' files are all new), and taken
    again right after a write."""
    monkeypatch.setattr(stored, "QUIET_NS", 0)
    monkeypatch.setattr(stored, "BACKOFF", 0)


def _by_query(shop: Shop, name: str, customers: list[dict[str, Any]]) -> Any:
    """``_direct`` as it answers without the copy (the query per request)."""
    found = dataclasses.replace(shop.scorer(name), stored=None)
    return scoring._direct(found, shop.state.workspace(), customers)


@pytest.mark.parametrize("name", CLUSTER_MODELS)
def test_the_copy_in_memory_answers_as_the_query_on_every_customer(
    shop: Shop, name: str, no_wait: None
) -> None:
    found = shop.scorer(name)
    assert found.stored is not None
    ws = shop.state.workspace()
    assert found.stored.refresh(ws) and found.stored.rows == len(shop.features)
    plain = dataclasses.replace(found, stored=None)
    ids = [*map(str, shop.features.index), "nobody", "", "C1 "]
    for cid in ids:
        copied = found.stored.get(cid)
        assert copied is not stored.NO_COPY
        queried = scoring._stored_row(plain, ws, cid)
        if queried is None:
            assert copied is None, cid
        else:
            assert np.array_equal(copied, np.array(queried), equal_nan=True), cid
        customers = [{"customer_id": cid}]
        assert scoring._direct(found, ws, customers) == scoring._direct(plain, ws, customers)
        assert scoring._direct(found, None, customers) == (
            None if queried is None else scoring._direct(plain, ws, customers)
        )
    # over HTTP, and answered by the shortcut from memory, with the route's bytes
    downstream = Downstream()
    shortcut = ScoringShortcut(downstream, state=shop.state)
    headers = {**shop.auth, "Content-Type": "application/json"}
    for cid in ids[:40]:
        body = json.dumps({"customers": [{"customer_id": cid}]}).encode()
        expect = _by_frame(shop, found, name, [{"customer_id": cid}])
        route = shop.assign(name, [{"customer_id": cid}])
        assert route.status_code == 200 and route.json() == scoring._answer(found, *expect)
        status, answer = _call(shortcut, shop.url(name) + "/assign", body, headers)
        assert status == 200 and answer == route.content
    assert downstream.bodies == []


def test_no_copy_of_a_file_written_a_moment_ago_or_above_the_row_bound(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = dataclasses.replace(
        shop.scorer("clusters"),
        stored=stored.StoredValues(shop.path, shop.scorer("clusters").needed),
    )
    assert found.stored is not None
    ws = shop.state.workspace()
    ws.store.db.execute("CREATE OR REPLACE TABLE _scoring_test_write AS SELECT 1 AS x")
    assert not found.stored.refresh(ws) and found.stored.rows == 0  # written < QUIET_NS ago
    monkeypatch.setattr(stored, "QUIET_NS", 0)
    monkeypatch.setattr(stored, "BACKOFF", 0)
    monkeypatch.setattr(stored, "MAX_ROWS", len(shop.features) - 1)
    assert not found.stored.refresh(ws) and found.stored.rows == 0
    cid = str(shop.features.index[5])
    assert scoring._direct(found, ws, [{"customer_id": cid}]) == _by_query(
        shop, "clusters", [{"customer_id": cid}]
    )
    monkeypatch.setattr(stored, "MAX_ROWS", len(shop.features))
    assert not found.stored.refresh(ws)  # refused at this file: not tried again
    ws.store.db.execute("DROP TABLE _scoring_test_write")
    assert found.stored.refresh(ws) and found.stored.rows == len(shop.features)


class Changing(Shop):
    """A shop whose feature rows the tests delete and change."""


@pytest.fixture(scope="module")
def changing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Changing]:
    yield from _opened(Changing, tmp_path_factory, "changing")


def _copied(shop: Shop, cid: str) -> scoring.Scorer:
    """The cached scorer, its copy taken and answering for ``cid``."""
    assert shop.assign("clusters", [{"customer_id": cid}]).status_code == 200
    found = shop.state.models[(shop.run_id, "clusters")]
    assert isinstance(found, scoring.Scorer) and found.stored is not None
    assert found.stored.get(cid) is not stored.NO_COPY
    return found


def test_a_write_by_another_connection_is_seen_at_the_next_request(
    changing: Changing, no_wait: None
) -> None:
    shop = changing
    ids = [str(c) for c in shop.features.index]
    found = _copied(shop, ids[0])
    labels = {cid: shop.assign("clusters", [{"customer_id": cid}]).json()[0] for cid in ids[:80]}
    # another customer's values, in another segment, written as an update would write them
    moved = next(c for c in ids[1:80] if labels[c]["segment"] != labels[ids[1]]["segment"])
    cols = ", ".join(f'"{c}" = s."{c}"' for c in found.needed)
    other = segmint.Workspace(shop.path)  # not through the server: nothing cached is cleared
    try:
        other.store.db.execute(
            f"UPDATE customer_features SET {cols} FROM "
            "(SELECT * FROM customer_features WHERE customer_id = $src) s "
            "WHERE customer_features.customer_id = $dst",
            {"src": moved, "dst": ids[1]},
        )
        other.store.db.execute(
            "DELETE FROM customer_features WHERE customer_id = $id", {"id": ids[2]}
        )
    finally:
        other.close()
    assert shop.state.models[(shop.run_id, "clusters")] is found  # still cached
    assert found.stored.get(ids[1]) is stored.NO_COPY  # the file changed: the copy went
    answer = shop.assign("clusters", [{"customer_id": ids[1]}])
    assert answer.json()[0]["segment"] == labels[moved]["segment"]
    gone = shop.assign("clusters", [{"customer_id": ids[2]}])
    assert gone.status_code == 400 and ids[2] in gone.json()["problem"]
    assert found.stored.rows == len(ids) - 1  # a fresh copy, without the deleted row
    assert (
        scoring.score_in_memory(shop.state, shop.run_id, "clusters", [{"customer_id": ids[2]}])
        is None
    )


def _wait_for_job(shop: Shop, job: str) -> dict[str, Any]:
    for _ in range(600):
        got = shop.client.get(f"/api/v1/jobs/{job}", headers=shop.auth)
        if got.status_code == 200 and got.json()["status"] in ("done", "failed"):
            return dict(got.json())  # (503 while the file is rewritten)
        time.sleep(0.05)
    raise AssertionError(f"job {job} did not finish")


def test_an_erasure_through_the_api_is_never_answered_from_the_copy(
    changing: Changing, no_wait: None
) -> None:
    shop = changing
    cid = str(shop.features.index[10])
    found = _copied(shop, cid)
    started = shop.client.post("/api/v1/erase", headers=shop.auth, json={"customer_id": cid})
    assert started.status_code == 202, started.text
    assert _wait_for_job(shop, started.json()["job_id"])["status"] == "done"
    assert found.stored is not None and found.stored.get(cid) is stored.NO_COPY
    gone = shop.assign("clusters", [{"customer_id": cid}])
    assert gone.status_code == 400 and cid in gone.json()["problem"]
    assert (
        scoring.score_in_memory(shop.state, shop.run_id, "clusters", [{"customer_id": cid}]) is None
    )


def test_an_erasure_by_another_process_is_never_answered_from_the_copy(
    changing: Changing, no_wait: None
) -> None:
    shop = changing
    cid = str(shop.features.index[20])
    found = _copied(shop, cid)
    cli = str(Path(sys.executable).parent / "segmint")
    erase = [cli, "erase", "--customer", cid, "--reason", "test", "-w", str(shop.path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # while the server holds the file, DuckDB's lock keeps another process from writing it
    refused = subprocess.run(erase, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert found.stored is not None and found.stored.get(cid) is not stored.NO_COPY
    # the server lets go of the file (as for its own erasures); the copy is kept by ``found``
    with shop.state.exclusive():
        done = subprocess.run(erase, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert found.stored.get(cid) is stored.NO_COPY
    ws = shop.state.workspace()
    assert scoring._direct(found, ws, [{"customer_id": cid}]) is None  # the frame's way
    gone = shop.assign("clusters", [{"customer_id": cid}])
    assert gone.status_code == 400 and cid in gone.json()["problem"]


# runs last on ``shop``: it pseudonymizes its workspace
def test_direct_scoring_by_a_real_id_on_a_pseudonymized_workspace(
    shop: Shop, no_wait: None
) -> None:
    cid = str(shop.features.index[3])
    before = shop.assign("clusters", [{"customer_id": cid}]).json()
    plain_lookup = shop.scorer("clusters").lookup
    done = shop.client.post("/api/v1/pseudonymize", headers=shop.auth, json={})
    assert done.status_code == 200 and done.json()["rows"] > 0, done.text
    assert (shop.run_id, "clusters") not in shop.state.models  # the key changed
    found = shop.scorer("clusters")
    assert found.lookup != plain_lookup
    direct = scoring._direct(found, shop.state.workspace(), [{"customer_id": cid}])
    assert direct is not None  # the real id finds its pseudonymized row
    assert shop.assign("clusters", [{"customer_id": cid}]).json() == before
    # the rows are found by pseudonym: the query's work, no copy in memory
    assert found.stored is not None and not found.stored.refresh(shop.state.workspace())
    assert found.stored.rows == 0


AWKWARD = ["", "C1", "C10", "C1 ", " C1", "é", "e\u0301", "😀x", "a" * 64, "Z", "z", "C2"]


PLAIN = ("BIGINT", "DOUBLE", "BOOLEAN")


def _feature_file(path: Path, ids: list[str], kinds: tuple[str, ...] = PLAIN) -> Path:
    import duckdb

    con = duckdb.connect(str(path))
    a, b, c = kinds
    con.execute(f"CREATE TABLE customer_features (customer_id VARCHAR, a {a}, b {b}, c {c})")
    values = [
        (None, 1.5, True),
        (2**53 + 1, math.nan, False),
        (-3, None, None),
        (7, math.inf, True),
        (2**63 - 1, -0.0, None),
    ]
    for i, cid in enumerate(ids):
        con.execute("INSERT INTO customer_features VALUES (?, ?, ?, ?)", [cid, *values[i % 5]])
    con.close()
    return path


def test_the_copy_holds_what_the_query_reads_on_awkward_ids_and_values(
    tmp_path: Path, no_wait: None
) -> None:
    ws = segmint.Workspace(_feature_file(tmp_path / "w.duckdb", AWKWARD))
    try:
        needed = ["a", "b", "c"]
        plain = scoring.Scorer(None, needed, needed, {}, True, scoring._lookup_sql(ws, needed))
        copied = stored.StoredValues(ws.path, needed)
        assert copied.refresh(ws) and copied.rows == len(AWKWARD)
        for cid in [*AWKWARD, "c1", "C", "C100", "a" * 65, "a" * 63, "Ω", "e", "😀", "C1\0"]:
            queried = scoring._stored_row(plain, ws, cid)
            got = copied.get(cid)
            if cid == "C1\0":
                assert got is stored.NO_COPY
            elif queried is None:
                assert got is None, cid
            else:
                assert np.array_equal(got, np.array(queried), equal_nan=True), cid
                assert [math.copysign(1, v) for v in got] == [math.copysign(1, v) for v in queried]
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("ids", "kinds"),
    [
        (["C1", "C2", "C1"], PLAIN),  # an id twice: the query takes either
        (["C1", "C\0"], PLAIN),
        (["C1", "a" * 65], PLAIN),
        (["C1", "C2"], ("DECIMAL(38, 2)", "DOUBLE", "BOOLEAN")),  # the frame converts decimals
        (["C1", "C2"], ("BIGINT", "VARCHAR", "BOOLEAN")),
    ],
)
def test_no_copy_where_it_could_answer_otherwise_than_the_query(
    tmp_path: Path, no_wait: None, ids: list[str], kinds: tuple[str, ...]
) -> None:
    ws = segmint.Workspace(_feature_file(tmp_path / "w.duckdb", ids, kinds))
    try:
        copied = stored.StoredValues(ws.path, ["a", "b", "c"])
        assert not copied.refresh(ws) and copied.rows == 0 and copied.get("C1") is stored.NO_COPY
    finally:
        ws.close()


def test_a_copy_read_again_soon_after_the_last_waits_and_the_query_answers(
    tmp_path: Path, no_wait: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = segmint.Workspace(_feature_file(tmp_path / "w.duckdb", AWKWARD))
    try:
        needed = ["a", "b", "c"]
        plain = scoring.Scorer(None, needed, needed, {}, True, scoring._lookup_sql(ws, needed))
        found = dataclasses.replace(plain, stored=stored.StoredValues(ws.path, needed))
        assert found.stored is not None
        monkeypatch.setattr(stored, "BACKOFF", 10**6)  # the next read: not for a long while
        assert found.stored.refresh(ws)
        ws.store.db.execute("UPDATE customer_features SET a = 42 WHERE customer_id = 'é'")
        assert not found.stored.refresh(ws) and found.stored.get("é") is stored.NO_COPY
        assert scoring._stored_row(found, ws, "é") == [42.0, 1.5, 1.0]  # by the query
        found.stored._not_before = 0  # the wait is over
        assert found.stored.refresh(ws)
        assert list(found.stored.get("é")) == [42.0, 1.5, 1.0]
    finally:
        ws.close()
