"""The web app's Test results page through FastAPI's TestClient: the form, a campaign split by
stored segments with its forest plot and verdicts, a user error shown above the form."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from segmint.api import Settings, create_app, first_admin_token
from tests.activate_support import make_workspace
from tests.test_web import sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _workspace(path: Path, contacts: bool = True) -> None:
    rng = np.random.default_rng(11)
    ids = [f"C{i:04d}" for i in range(3000)]
    segments = {cid: ("G" if i % 4 == 0 else "S") for i, cid in enumerate(ids)}
    store = make_workspace(
        path, pd.DataFrame({"customer_id": ids}), segments, names={"G": "Gold", "S": "Silver"}
    )
    if contacts:
        arm = rng.choice(["B", "control"], size=len(ids))
        gold = np.array([segments[c] == "G" for c in ids])
        # B lifts conversion strongly in Gold only
        p = np.where((arm == "B") & gold, 0.30, 0.10)
        conv = rng.random(len(ids)) < p
        frame = pd.DataFrame(
            {"campaign_id": "spring", "customer_id": ids, "variant": arm, "converted": conv}
        )
        store.ensure("campaign_contacts")
        store.db.register("_c", frame)
        store.db.execute(
            "INSERT INTO campaign_contacts (campaign_id, customer_id, variant, converted) "
            "SELECT * FROM _c"
        )
        store.db.unregister("_c")
    store.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("web-analysis")
    _workspace(root / "w.duckdb")
    app = create_app(Settings(workspace=root / "w.duckdb"))
    admin = first_admin_token(app)
    assert admin
    viewer = app.state.segmint.tokens.create("viewer-user", "viewer")[1]
    with TestClient(app) as c:
        sign_in(c, viewer)
        yield c


def test_the_form_lists_campaigns_columns_and_segmentations(client: TestClient) -> None:
    page = client.get("/experiments/analyze").text
    assert 'href="/experiments/analyze"' in page  # in the navigation
    assert '<option value="spring"' in page
    assert '<option value="variant" selected' in page
    assert '<optgroup label="Segmentations (stored segments)"><option value="seg"' in page


def test_a_campaign_split_by_stored_segments(client: TestClient) -> None:
    r = client.get("/experiments/analyze", params={"campaign": "spring", "by": "seg"})
    assert r.status_code == 200
    page = r.text
    figures = re.findall(r'<script type="application/json" id="(forest-\d+)-data">(.*?)</script>',
                         page, re.S)  # fmt: skip
    assert [f[0] for f in figures] == ["forest-0"]
    fig = json.loads(figures[0][1])
    groups = {y for trace in fig["data"] for y in trace["y"]}
    assert groups == {"All customers", "Gold", "Silver"}
    significant = next(t for t in fig["data"] if t["name"] == "Significant")
    assert "Gold" in significant["y"]
    assert "B lifts converted in Gold: +" in page
    assert "after Holm" in page
    assert '<script src="/static/plotly' in page or "plotly" in page.lower()


def test_a_user_error_is_shown_above_the_form(client: TestClient) -> None:
    r = client.get("/experiments/analyze", params={"campaign": "spring", "control": "A"})
    assert r.status_code == 200
    assert "cannot be analyzed as asked" in r.text
    assert "the variants found are: B, control" in r.text


def test_no_campaign_results_says_how_to_get_some(tmp_path: Path) -> None:
    _workspace(tmp_path / "w.duckdb", contacts=False)
    app = create_app(Settings(workspace=tmp_path / "w.duckdb"))
    admin = first_admin_token(app)
    assert admin
    with TestClient(app) as c:
        sign_in(c, admin)
        page = c.get("/experiments/analyze").text
    assert "No campaign results yet" in page and "campaign_contacts" in page


def test_the_sample_size_calculator(client: TestClient) -> None:
    import html

    from segmint.measure.power import enough, sample_size

    page = client.get("/experiments/power", params={"baseline": "0.05", "mde": "0.1",
                                                    "segment_size": "20000"}).text  # fmt: skip
    assert f"{sample_size(0.05, 0.1).n_per_arm:,}" in page
    assert "customers per arm" in page
    assert html.escape(enough(sample_size(0.05, 0.1), 20000)[1]) in page
    bad = client.get("/experiments/power", params={"baseline": "five"}).text
    assert "This cannot be computed" in bad and "is not a number" in bad
    assert 'href="/experiments/power"' in client.get("/experiments").text
