"""The Update segments page in a real headless Chromium (as test_browser.py): the navigation
link, two new export files chosen at once, the refit choice, the job page updating itself until
the summary shows (rows imported, features rebuilt, sizes before → after), no script errors,
and its link to the Monitoring page comparing the two runs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.test_browser import Server, browser, serving  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import segmint
    from segmint._run import run_pipeline
    from segmint.api import Settings, create_app, first_admin_token
    from segmint.spec.model import SegmentationSpec, Spec

    root = tmp_path_factory.mktemp("browser-update")
    orders = segmint.datasets.make_retail(300, seed=7).orders
    at = orders.ordered_at
    (root / "data").mkdir()
    orders[at < "2024-11-01"].to_csv(root / "data" / "orders_old.csv", index=False)
    week = (at >= "2024-11-01") & (at < "2024-12-01")
    orders[week].to_csv(root / "data" / "orders_november.csv", index=False)
    orders[at >= "2024-12-01"].to_csv(root / "data" / "orders_december.csv", index=False)
    with segmint.Workspace(root / "w.duckdb") as ws:
        ws.ingest(root / "data" / "orders_old.csv")
        ws.clean()
        spec = Spec(segmentations=[SegmentationSpec(name="rfm", method="rfm")])
        run_pipeline(ws, spec, out_dir=root / "report")
    app = create_app(Settings(workspace=root / "w.duckdb"))
    token = first_admin_token(app)
    assert token
    with serving(app) as url:
        yield Server(url, token, root / "data")


def test_update_two_files_and_read_the_summary_in_chromium(
    server: Server,
    browser: object,  # noqa: F811
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto("/signin")
    page.get_by_label("Token").fill(server.token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Update segments").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Update segments")
    files = [str(server.data / f"orders_{m}.csv") for m in ("november", "december")]
    page.get_by_label("New export files").set_input_files(files)
    page.get_by_label("Keep the models").check()
    page.get_by_role("button", name="Upload and update").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]+$"))
    expect(page.get_by_role("heading", name="What the update did")).to_be_visible()
    expect(page.get_by_text(re.compile(r"from 2 files"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"\d+ of 300 customers' features rebuilt"))).to_be_visible()
    sizes = page.locator('table.update-sizes[data-segmentation="rfm"] tbody tr')
    assert sizes.count() >= 2
    page.get_by_role("link", name="Compare the two runs on the Monitoring page").click()
    expect(page).to_have_url(re.compile(r"/monitor\?baseline=[^&]+&current="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Monitoring")
    assert not problems, problems
    context.close()
