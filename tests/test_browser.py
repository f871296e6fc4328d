"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
sign in, upload the sample export, confirm the mapping, import, run a segmentation, explore the
results and a profile, rename a segment, download a member CSV and compare two segmentations.

Screenshots of the main pages are taken on every run, into a temporary folder; with
``SEGMINT_SCREENSHOTS=docs`` they replace docs/screenshots/ (referenced in the README), so a plain
test run never dirties the tree. The browser is never downloaded: ``make test`` installs Debian's
chromium, and this module fails (does not skip) when it is missing.

    SEGMINT_SCREENSHOTS=docs .venv/bin/python -m pytest tests/test_browser.py
"""

from __future__ import annotations

import csv
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

CHROMIUM = Path("/usr/bin/chromium")
DOCS_SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class Server:
    url: str
    token: str
    data: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port in a thread; yields its URL."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:

    from segmint.api import Settings, create_app, first_admin_token
    from segmint.datasets import make_retail

    root = tmp_path_factory.mktemp("browser")
    make_retail(600, seed=0).to_files(root / "export", format="csv")
    app = create_app(Settings(workspace=root / "shop.duckdb"))
    token = first_admin_token(app)
    assert token
    with serving(app) as url:
        yield Server(url, token, root / "export")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium package. "
            "Install it with `apt-get install chromium` (`make test` does this as root)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def test_the_whole_flow_in_chromium(server: Server, browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    SHOTS = DOCS_SHOTS if os.environ.get("SEGMINT_SCREENSHOTS") == "docs" else tmp_path
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, base_url=server.url
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    # sign in: every page sends an unsigned-in visitor to the form first
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin\?next=/$"))
    page.get_by_label("Token").fill("sgm_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That token is not valid")
    problems.clear()  # the refused sign-in's 401 is logged by the browser, as it should be
    page.get_by_label("Token").fill(server.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_text("The workspace is empty")).to_be_visible()

    # upload the sample export and confirm the detected mapping
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
    page.get_by_label("Export file").set_input_files(str(server.data / "orders.csv"))
    page.get_by_role("button", name="Upload and check the columns").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the columns")
    expect(page.get_by_label("This file holds")).to_have_value("orders")
    expect(page.locator("#map-customer_id")).to_have_value("customer_id")
    expect(page.locator("#map-ordered_at")).to_have_value("ordered_at")
    page.screenshot(path=str(SHOTS / "mapping.png"), full_page=True)
    page.get_by_role("button", name="Import orders").click()

    # the job page polls until the import is done, then links the quality report
    expect(page.get_by_role("link", name="See the data quality report")).to_be_visible(
        timeout=60_000
    )
    expect(page.locator("[data-field=status]")).to_have_text("done")
    page.get_by_role("link", name="See the data quality report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Data quality")
    expect(page.get_by_text("Last import:")).to_contain_text("orders")

    # a new segmentation: RFM + k-means (k auto) + value, with a rule checked as it is typed
    page.get_by_role("link", name="New segmentation").first.click()
    expect(page.get_by_label("RFM")).to_be_checked()
    expect(page.get_by_label("Clustering")).to_be_checked()
    expect(page.get_by_label("Number of segments (k)")).to_have_value("auto")
    page.get_by_label("Value (CLV tiers)").check()
    rules = page.get_by_label("Rules, one per line as Name: expression")
    rules.fill("Big spenders: monetary_total >")
    expect(page.locator("#rules-check")).to_contain_text("Line 1 (Big spenders)")
    expect(rules).to_have_attribute("aria-invalid", "true")
    rules.fill("Big spenders: monetary_total > 3000")
    expect(page.locator("#rules-check")).to_contain_text("1 rule is valid")
    expect(page.get_by_label("Rules", exact=True)).to_be_checked()
    page.get_by_role("button", name="Start the run").click()
    expect(page.get_by_role("link", name="Open the results")).to_be_visible(timeout=90_000)
    page.get_by_role("link", name="Open the results").click()

    # results: the clustering's ranked cards and the report's charts, drawn by plotly.js
    page.get_by_role("navigation", name="Segmentations of this run").get_by_role(
        "link", name=re.compile(r"^clusters")
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results: clusters")
    chosen = page.get_by_text(re.compile(r"Chosen by the rule: k = \d+")).inner_text()
    k = int(re.search(r"k = (\d+)", chosen).group(1))  # type: ignore[union-attr]
    merge = page.get_by_text(re.compile(r"merged → \d+ segments?")).first
    if merge.count():  # the size guard merged segments after the rule chose k
        k = int(re.search(r"→ (\d+) segment", merge.inner_text()).group(1))  # type: ignore[union-attr]
    cards = page.locator("article.seg-card")
    expect(cards).to_have_count(k)
    for chart in ("sizes-chart", "lift-chart", "map-chart", "k-chart"):
        expect(page.locator(f"#{chart} .main-svg").first).to_be_attached()
    page.screenshot(path=str(SHOTS / "results.png"))

    # rename the top segment
    first = cards.first
    old_name = first.get_by_role("heading", level=3).get_by_role("link").inner_text()
    first.locator("summary", has_text="Rename").click()
    first.get_by_label(re.compile(r"^New name")).fill("Best friends")
    first.get_by_role("button", name="Save").click()
    expect(cards.first.get_by_role("heading", level=3)).to_contain_text("Best friends")
    expect(page.get_by_text(old_name, exact=True)).to_have_count(0)

    # its profile: lift chart, rules, examples, plan
    cards.first.get_by_role("heading", level=3).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Best friends")
    for heading in ("What sets them apart", "How to recognise them", "Example customers"):
        expect(page.get_by_role("heading", level=2, name=heading)).to_be_visible()
    expect(page.locator("#profile-lift .main-svg").first).to_be_attached()
    expect(page.locator("ul.examples li").first).to_be_visible()
    size_text = page.locator("ul.cards li").first.locator(".value").inner_text()
    page.screenshot(path=str(SHOTS / "profile.png"))

    # its members as CSV
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download members (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-members.csv")
    rows = list(csv.DictReader(Path(download.path()).read_text().splitlines()))
    assert len(rows) == int(size_text.replace(",", ""))
    assert {r["segment_name"] for r in rows} == {"Best friends"}

    # compare RFM with the clustering
    page.get_by_role("link", name="Compare").first.click()
    run_options = page.locator("#a option")
    rfm = next(v for v in run_options.evaluate_all("o => o.map(x => x.value)") if "/rfm" in v)
    clusters = rfm.replace("/rfm", "/clusters")
    page.get_by_label("A", exact=True).select_option(rfm)
    page.get_by_label("B", exact=True).select_option(clusters)
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name="Migration matrix")).to_be_visible()
    expect(page.get_by_text("600 customers are in both")).to_be_visible()
    expect(page.locator("table.matrix")).to_contain_text("Best friends")
    expect(page.locator("#migration-chart .main-svg").first).to_be_attached()
    page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)

    # the dashboard now lists the tables, both jobs and the run
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Segmentation runs")).to_be_visible()
    expect(page.locator("#tables-h + table")).to_contain_text("orders")
    expect(page.get_by_role("link", name=re.compile(r"^ingest "))).to_have_count(1)
    expect(page.get_by_role("link", name=re.compile(r"^run "))).to_have_count(1)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

    # sign out
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    context.close()
    for name in ("mapping", "results", "profile", "compare", "dashboard"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000, name
    assert not problems, f"browser console errors (CSP violations, script errors): {problems}"
