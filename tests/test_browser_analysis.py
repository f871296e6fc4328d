"""The Test results page in a real headless Chromium (as test_browser.py): pick a campaign and a
segmentation in the form, analyze, and see the forest plot drawn by plotly.js under the app's
Content-Security-Policy, with the segment where the arm works marked significant."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.test_browser import Server, browser, serving  # noqa: F401  (the browser fixture)
from tests.test_web_analysis import _workspace

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from segmint.api import Settings, create_app, first_admin_token

    root = tmp_path_factory.mktemp("browser-analysis")
    _workspace(root / "w.duckdb")
    app = create_app(Settings(workspace=root / "w.duckdb"))
    token = first_admin_token(app)
    assert token
    with serving(app) as url:
        yield Server(url, token, root)


def test_analyze_a_campaign_by_segment_in_chromium(
    server: Server,
    browser: object,  # noqa: F811
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto("/signin")
    page.get_by_label("Token").fill(server.token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Test results").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Test results")
    page.get_by_label("Campaign").select_option("spring")
    page.get_by_label("Split by").select_option("seg")
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_load_state("load")

    chart = page.locator("#forest-0")
    expect(chart.locator("svg.main-svg").first).to_be_visible()
    labels = chart.locator("g.ytick text").all_text_contents()
    assert set(labels) == {"All customers", "Gold", "Silver"}
    expect(chart.locator("g.legend")).to_contain_text("Significant")
    expect(page.locator("ul.verdicts").nth(1)).to_contain_text(
        re.compile(r"B lifts converted in Gold: \+\d")
    )
    expect(page.get_by_role("heading", name="Sample ratio check")).to_be_visible()
    assert not problems, problems
    context.close()
