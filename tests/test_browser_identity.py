"""The Persons page in a real headless Chromium (as test_browser.py): the analyst's navigation
link, Find duplicates as a job whose page links back, the summary and the learned weights
drawn by Plotly, a customer's explanation (the records side by side, each link's match
weights as green and red bars with the values compared), and the review queue: "Same person"
on a pair takes it out of the queue and joins the two records; no script errors."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.test_browser import browser, serving  # noqa: F401  (the browser fixture)
from tests.test_identity import people

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
SHOTS = os.environ.get("SEGMINT_SCREENSHOTS")  # a folder: the pages are saved there too


@dataclass
class Server:
    url: str
    token: str
    app: object
    records: int


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import segmint
    from segmint.api import Settings, create_app

    root = tmp_path_factory.mktemp("browser-identity")
    # 200 people, 30 % with a second record under another id: enough pairs to learn weights
    frame = people(200, 0.3, seed=4)
    frame.drop(columns=["truth"]).to_csv(root / "customers.csv", index=False)
    with segmint.Workspace(root / "w.duckdb") as ws:
        ws.ingest(root / "customers.csv", into="customers")
    app = create_app(Settings(workspace=root / "w.duckdb", schedule_poll_s=0))
    state = app.state.segmint
    token = state.tokens.create("ana", "analyst")[1]
    with serving(app) as url:
        yield Server(url, token, app, len(frame))


def _persons(server: Server) -> dict[str, str]:
    frame = server.app.state.segmint.workspace().identity_clusters()  # type: ignore[attr-defined]
    return dict(zip(frame.customer_id, frame.person_id, strict=True))


def test_find_explain_and_review_duplicates_in_chromium(server: Server, browser: object) -> None:  # noqa: F811
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
    page.get_by_role("link", name="Persons").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Persons")
    expect(page.locator("#no-persons")).to_be_visible()

    # find duplicates: a job, whose page says what it found and links back
    page.get_by_role("button", name="Find duplicates").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]+$"))
    expect(page.get_by_role("heading", name="Found")).to_be_visible(timeout=120_000)
    n = server.records
    expect(page.locator("#dedupe-result")).to_contain_text(f"{n:,}")
    page.get_by_role("link", name="See the persons").click()
    summary = page.locator("#persons-summary")
    expect(summary.locator('[data-field="records"]')).to_have_text(f"{n:,}")
    persons = int(summary.locator('[data-field="persons"]').inner_text().replace(",", ""))
    assert 200 <= persons < n
    expect(summary.locator('[data-field="linked"]')).to_have_text(f"{n - persons:,}")
    expect(page.locator("#weights-chart .main-svg").first).to_be_visible()  # Plotly drew it
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/persons.png", full_page=True)
        page.locator("#weights-chart").screenshot(path=f"{SHOTS}/persons-weights.png")

    # explain a customer who has a copy
    before = _persons(server)
    linked = sorted(c for c, p in before.items() if list(before.values()).count(p) > 1)
    page.get_by_label("Explain customer id").fill(linked[0])
    page.get_by_role("button", name="Explain").click()
    section = page.locator("#explanation")
    expect(section).to_have_attribute("data-person", before[linked[0]])
    expect(section.locator("table.records th[scope=col]")).to_have_count(
        1 + list(before.values()).count(before[linked[0]])
    )
    pair = section.locator("article.pair-explained").first
    expect(pair.locator(".verdict")).to_contain_text("look like the same person")
    expect(pair.locator(".verdict")).to_contain_text("% sure")
    bars = pair.locator(".chart .main-svg").first
    expect(bars).to_be_visible()
    # green bars for agreements, labelled with the two values compared
    fills = pair.locator(".chart path.point, .chart .point path").evaluate_all(
        "els => els.map(e => getComputedStyle(e).fill || e.style.fill)"
    )
    assert any("0, 158, 115" in f for f in fills), fills  # #009E73
    expect(pair.locator(".chart")).to_contain_text("↔")
    if SHOTS:
        pair.screenshot(path=f"{SHOTS}/persons-explain.png")

    # the review queue: the reviewer's say takes a pair out of the queue and acts at once
    queue = page.locator("article.review-pair")
    expect(queue.first).to_be_visible()
    if SHOTS:
        queue.first.screenshot(path=f"{SHOTS}/persons-review.png")
    for button, same, said in (("Same person", True, "one person"),
                               ("Different people", False, "different people")):  # fmt: skip
        target = queue.first
        key = target.get_attribute("data-pair")
        assert key
        a, b = key.split("|")
        expect(target.locator(".verdict")).to_contain_text("% sure")
        target.get_by_role("button", name=button).click()
        expect(page.locator("[data-decided]")).to_contain_text(said)
        expect(page.locator(f'article.review-pair[data-pair="{key}"]')).to_have_count(0)
        after = _persons(server)
        assert (after[a] == after[b]) is same, (button, a, b)
    assert problems == [], problems
    context.close()
