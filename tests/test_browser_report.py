"""The run report opened from disk in a real headless Chromium (as test_browser.py): the
second run's "Monitoring: changes since run X" section draws its migration heat map and its
sizes-over-runs chart with the embedded plotly.js, with no script errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from tests.test_browser import browser  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def second_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser-report")
    files = segmint.datasets.make_retail(300, seed=4).to_files(root / "data", format="csv")
    spec = root / "s.yaml"
    spec.write_text("segmentations:\n  - {name: rfm, method: rfm}\n")
    for i, data in enumerate(([str(files["orders"])], [])):
        r = CliRunner().invoke(
            app, ["run", *data, "--spec", str(spec), "-w", str(root / "w.duckdb"),
                  "--out", str(root / f"r{i}")],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
    return root / "r1" / "report.html"


def test_the_monitoring_section_draws_its_charts(
    second_report: Path,
    browser: object,  # noqa: F811
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(second_report.as_uri())
    section = page.locator("#monitoring")
    expect(section.get_by_role("heading", level=2)).to_contain_text("Monitoring: changes since")
    page.get_by_role("link", name="Changes since").click()  # the in-page navigation
    for chart in ("#monitor-0-moves", "#monitor-0-sizes"):
        expect(section.locator(f"{chart} .main-svg").first).to_be_attached()
    heat = section.locator("#monitor-0-moves")
    assert heat.locator(".hm").count() == 1  # plotly's heat map layer
    assert section.locator("#monitor-0-sizes .scatterlayer .trace").count() >= 2
    expect(section.get_by_text("No alerts: nothing crossed a threshold")).to_be_visible()
    assert not problems, problems
    context.close()
