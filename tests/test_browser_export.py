"""The Export button in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright, as in test_browser.py): on a sample shop with customers (e-mails, consent) and an
RFM run, open a segment, export it to Mailchimp, download the file, check its header and that
its row count is the one the Exports page logged; an ad audience under Google's minimum shows
the refusal on the page."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser import Server, browser, serving  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from segmint.api import Settings, create_app, first_admin_token, services
    from segmint.datasets import make_retail
    from segmint.spec.model import SegmentationSpec

    root = tmp_path_factory.mktemp("browser-export")
    files = make_retail(600, seed=0).to_files(root / "export", format="csv")
    app = create_app(Settings(workspace=root / "shop.duckdb"))
    state = app.state.segmint
    token = first_admin_token(app)
    assert token
    for table in ("customers", "orders"):
        job = state.jobs.wait(services.start_ingest(state, "setup", files[table], into=table))
        assert job and job["status"] == "done", job
    job = state.jobs.wait(
        services.start_run(state, "setup", [SegmentationSpec(name="rfm", method="rfm")])
    )
    assert job and job["status"] == "done", job
    with serving(app) as url:
        yield Server(url, token, root / "export")


def _size(card: object) -> int:
    text = card.locator("dl.stats dd").first.inner_text()  # type: ignore[attr-defined]
    return int(text.split()[0].replace(",", ""))


def test_export_a_segment_to_mailchimp_in_chromium(
    server: Server,
    browser: object,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, base_url=server.url
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto("/signin")
    page.get_by_label("Token").fill(server.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    page.get_by_role("link", name=re.compile(r"^\d{4}-segment")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results: rfm")
    page.wait_for_load_state("load")  # app.js (after plotly.js) shows the hash box or not

    # the largest segment, to Mailchimp: the hash box is only offered for ad platforms
    cards = page.locator("article.seg-card")
    sizes = [_size(cards.nth(i)) for i in range(cards.count())]
    card = cards.nth(sizes.index(max(sizes)))
    name = card.get_by_role("heading", level=3).get_by_role("link").inner_text()
    card.locator("summary", has_text="Export").click()
    destination = card.get_by_label(re.compile(r"^Destination"))
    destination.select_option(label="Google Ads Customer Match (at least 100)")
    expect(card.get_by_label(re.compile("Hash e-mails"))).to_be_visible()
    destination.select_option("mailchimp")
    expect(card.get_by_label(re.compile("Hash e-mails"))).to_be_hidden(timeout=15_000)
    with page.expect_download() as info:
        card.get_by_role("button", name=re.compile(r"^Download")).click()
    download = info.value
    assert download.suggested_filename.endswith("-mailchimp.csv")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Email Address", "First Name", "Last Name", "Tags"]
    body = rows[1:]
    assert 0 < len(body) < max(sizes)  # customers without e-mail consent are left out
    assert {r[3] for r in body} == {name}
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results: rfm")  # stayed

    # the Exports page logs it: who, where, and exactly the rows the file holds
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Exports")
    logged = page.locator("tr[data-export-id]")
    expect(logged).to_have_count(1)
    expect(logged.first).to_contain_text("mailchimp")
    expect(logged.first).to_contain_text("admin")
    expect(logged.first).to_contain_text("download")
    expect(logged.first).to_contain_text(name)
    written = logged.first.locator("[data-field=rows_written]").inner_text()
    assert int(written.replace(",", "")) == len(body)

    assert not problems, f"browser console errors (CSP violations, script errors): {problems}"

    # an ad audience under Google's minimum: the refusal is on the card, not an error page
    # (answered with status 400, which the browser logs: not a script problem)
    page.go_back()
    small = cards.nth(sizes.index(min(s for s in sizes if s >= 5)))
    assert _size(small) < 100
    small.locator("summary", has_text="Export").click()
    small.get_by_label(re.compile(r"^Destination")).select_option("google-ads")
    small.get_by_role("button", name=re.compile(r"^Download")).click()
    alert = page.locator("article.seg-card details[open] [role=alert]")
    expect(alert).to_contain_text("needs at least 100 people")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results: rfm")
    context.close()
