"""The Erase page in a real headless Chromium (as test_browser.py): the admin's navigation
link, finding a person by e-mail, the dry run's table of what would go, the checkbox and the
confirmation dialog, the job page's summary once the file is rewritten, no script errors; then
the Audit log page lists the erasure, naming the person by keyed hash only."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.test_browser import browser, serving  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
SHOTS = os.environ.get("SEGMINT_SCREENSHOTS")  # a folder: the pages are saved there too


@dataclass
class Server:
    url: str
    token: str
    email: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import segmint
    from segmint._run import run_pipeline
    from segmint.api import Settings, create_app, first_admin_token
    from segmint.spec.model import SegmentationSpec, Spec

    root = tmp_path_factory.mktemp("browser-erase")
    shop = segmint.datasets.make_retail(200, seed=8)
    shop.to_files(root / "data", format="csv")
    with segmint.Workspace(root / "w.duckdb") as ws:
        ws.ingest(root / "data" / "customers.csv")
        ws.ingest(root / "data" / "orders.csv")
        ws.clean()
        spec = Spec(segmentations=[SegmentationSpec(name="rfm", method="rfm")])
        run_pipeline(ws, spec, out_dir=root / "report")
        email = ws.store.db.execute(
            "SELECT email FROM customers WHERE email IS NOT NULL ORDER BY customer_id LIMIT 1"
        ).fetchone()[0]
    app = create_app(Settings(workspace=root / "w.duckdb"))
    token = first_admin_token(app)
    assert token
    with serving(app) as url:
        yield Server(url, token, str(email))


def test_erase_a_customer_by_e_mail_in_chromium(server: Server, browser: object) -> None:  # noqa: F811
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    dialogs: list[str] = []

    def accept(d: object) -> None:
        dialogs.append(d.message)  # type: ignore[attr-defined]
        d.accept()  # type: ignore[attr-defined]

    page.on("dialog", accept)
    email = server.email

    page.goto("/signin")
    page.get_by_label("Token").fill(server.token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Erase").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Erase a customer")
    page.get_by_label("Find by").select_option("email")
    page.get_by_label("Value").fill(email.upper())
    page.get_by_label(re.compile("^Reason")).fill("ticket 99")
    page.get_by_role("button", name="Show what would go").click()
    expect(page.get_by_role("heading", name="What would go")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^customers 1$"))).to_be_visible()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/erase-preview.png", full_page=True)
    page.get_by_label("I understand that this cannot be undone.").check()
    page.get_by_role("button", name="Erase", exact=True).click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]+$"))
    expect(page.get_by_role("heading", name="Erased")).to_be_visible()
    expect(page.get_by_text(re.compile(r"the workspace file was rewritten"))).to_be_visible()
    assert dialogs and "cannot be undone" in dialogs[0]
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/erase-done.png", full_page=True)

    page.get_by_role("link", name="Audit log").click()
    row = page.locator("tr", has_text="erase").first
    expect(row).to_contain_text(re.compile(r"e:[0-9a-f]{16}"))
    assert email not in page.content() and email.split("@")[0] not in page.content()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/audit.png", full_page=True)
    # the server answers 503 (a page that reloads itself) while it rewrites the file
    assert [p for p in problems if "status of 503" not in p] == [], problems
    context.close()
