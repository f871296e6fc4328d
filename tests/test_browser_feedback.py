"""The Feedback page and a segment's "What they say" in a real headless Chromium (as
test_browser.py): the sample shop's reviews and survey answers; Analyse as a job whose page links
back; the counts, the sentiment split and the survey's loadings heat map drawn by Plotly; the
topics with example texts; and, after a segmentation run, a segment's page with its mean
sentiment, topics and quotes; no script errors."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.test_browser import browser, serving  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
SHOTS = os.environ.get("SEGMINT_SCREENSHOTS")  # a folder: the pages are saved there too


@dataclass
class Server:
    url: str
    token: str
    app: object


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import segmint
    from segmint.api import Settings, create_app
    from segmint.datasets import make_retail

    root = tmp_path_factory.mktemp("browser-feedback")
    paths = make_retail(600, seed=3).to_files(root / "data")
    with segmint.Workspace(root / "w.duckdb") as ws:
        for name in ("customers", "orders", "feedback"):
            ws.ingest(paths[name], into=name)
    app = create_app(Settings(workspace=root / "w.duckdb", schedule_poll_s=0))
    state = app.state.segmint
    token = state.tokens.create("ana", "analyst")[1]
    with serving(app) as url:
        yield Server(url, token, app)


def _drawn(page: object, chart: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator(f"#{chart} .main-svg").first).to_be_visible()  # type: ignore[attr-defined]


def test_feedback_page_and_what_a_segment_says(server: Server, browser: object) -> None:  # noqa: F811
    from playwright.sync_api import Browser, expect

    from segmint.api import services
    from segmint.spec.model import SegmentationSpec

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
    page.get_by_role("link", name="Feedback").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback")
    # the survey's needs show before any text analysis: 9 Likert items, 3 factors
    _drawn(page, "needs-chart")
    expect(page.locator("#needs-factors tbody tr")).to_have_count(3)
    expect(page.locator("#needs-factors tbody")).to_contain_text("price sensitive")
    expect(page.locator("#needs-factors tbody")).not_to_contain_text("built-in")

    page.get_by_role("button", name="Analyse the texts").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]+$"))
    page.get_by_role("link", name="See what customers wrote").click(timeout=120_000)
    state = server.app.state.segmint  # type: ignore[attr-defined]
    analysed = state.workspace().feedback_texts()
    facts = page.locator("#feedback-summary")
    expect(facts.locator('[data-field="texts"]')).to_have_text(f"{len(analysed):,}")
    _drawn(page, "sentiment-chart")
    rows = page.locator("#topics-table tbody tr")
    assert rows.count() >= 2
    expect(rows.first.locator("q").first).to_be_visible()  # example texts
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "feedback.png"), full_page=True)

    job = state.jobs.wait(services.start_run(state, "ana", [SegmentationSpec(name="rfm",
                                                                             method="rfm")]))  # fmt: skip
    assert job and job["status"] == "done", job
    run_id = job["result"]["run_id"]
    page.goto(f"/runs/{run_id}")
    page.locator("a[href*='/segment?']").first.click()
    says = page.locator("#what-they-say")
    expect(says).to_be_visible()
    assert page.locator("blockquote, q").count() >= 1  # quotes
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "profile-feedback.png"), full_page=True)
    assert problems == []
    context.close()
