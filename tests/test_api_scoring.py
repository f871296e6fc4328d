"""One-customer scoring (``POST …/assign``): the direct way (plain numbers through
``predict_values``) gives the labels of the DataFrame way on every customer, by values and by
id (plain and pseudonymized ids); requests it cannot take go the frame's way with its
answers; the shortcut in front of the routing answers with the route's bytes or passes the
request on untouched; the cached models and lookups are dropped when what they were read from
changes."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import segmint
from segmint._run import run_pipeline
from segmint.api import Settings, create_app, first_admin_token, scoring
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


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(KEY_ENV, raising=False)
        mp.delenv(KEY_FILE_ENV, raising=False)
        s = Shop(tmp_path_factory.mktemp("scoring"))
        with s.client:
            yield s
        s.state.close()


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
        (url, json.dumps({"customers": [{"customer_id": cid}]}).encode(), ok, "POST"),  # by id
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


def test_direct_scoring_by_a_real_id_on_a_pseudonymized_workspace(shop: Shop):
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
