"""The Campaigns page in a real headless Chromium (as test_browser.py): the Hillstrom test
imported as campaigns, the navigation link, the chart of conversion rates with interval bars
drawn by plotly.js (one point per segment × e-mail), no script errors, and the Group by form."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.campaign_support import hillstrom, write_files
from tests.test_browser import Server, browser, serving  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import segmint
    from segmint.api import Settings, create_app, first_admin_token

    root = tmp_path_factory.mktemp("browser-campaigns")
    campaigns, contacts = write_files(hillstrom(), root / "data")
    with segmint.Workspace(root / "w.duckdb") as ws:
        ws.ingest(campaigns, into="campaigns")
        ws.ingest(contacts, into="campaign_contacts")
    app = create_app(Settings(workspace=root / "w.duckdb"))
    token = first_admin_token(app)
    assert token
    with serving(app) as url:
        yield Server(url, token, root / "data")


def test_the_campaigns_page_draws_conversion_rates_with_intervals(
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
    page.get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")
    # group by segment and channel only, through the form
    page.get_by_label("campaign", exact=True).uncheck()
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"by=segment&by=channel"))
    chart = page.locator("#campaign-chart")
    expect(chart.locator(".main-svg").first).to_be_attached()
    assert chart.locator(".point").count() == 6  # 3 segments × 2 e-mails; the hold-out has none
    assert chart.locator(".errorbar").count() == 6
    expect(page.get_by_text("In Phone, mens e-mail converts best")).to_be_visible()
    assert not problems, problems
    context.close()
